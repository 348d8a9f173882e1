"""A PostgreSQL database for the jobs' tests: made for the session, migrated, dropped at the end.

When the server cannot be reached the tests fail, saying so; they never skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import URL, Engine

from checkout_adapters.sqlalchemy import make_engine, metadata, upgrade
from tests.integration.sql_support import postgres_server_url, scratch_database


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[URL]:
    """A database of the session, migrated to the newest schema."""
    with scratch_database(postgres_server_url()) as url:
        upgrade(url)
        yield url


@pytest.fixture
def postgres_engine(postgres_url: URL) -> Iterator[Engine]:
    """An engine on the session's database, every table emptied first."""
    engine = make_engine(postgres_url)
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    yield engine
    engine.dispose()
