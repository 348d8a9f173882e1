"""Databases for the SQL adapter's tests: a SQLite file per test, and a PostgreSQL database.

PostgreSQL is found at ``CHECKOUT_TEST_DATABASE_URL`` (by default the local
server's ``test`` database). The tests never run against that database
itself: through the server's ``postgres`` database they create a fresh one
with a unique name for the session, migrate it with Alembic (which tests the
migrations), empty it before each test and drop it at the end. When the
server cannot be reached the tests fail, saying so: a suite that skips what
it cannot reach proves nothing about it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine

from checkout_adapters.sqlalchemy import make_engine, metadata, upgrade
from tests.integration.sql_support import (
    ScratchDatabase,
    postgres_server_url,
    scratch_database,
    sqlite_url,
)


@pytest.fixture(scope="session")
def postgres_server() -> URL:
    """The URL of the PostgreSQL server the tests use (its database is not touched)."""
    return postgres_server_url()


@pytest.fixture(scope="session")
def scratch_postgres(postgres_server: URL) -> ScratchDatabase:
    """Makes an empty PostgreSQL database for the length of a ``with`` block."""
    return lambda: scratch_database(postgres_server)


@pytest.fixture(scope="session")
def postgres_url(scratch_postgres: ScratchDatabase) -> Iterator[URL]:
    """A database of the session, migrated to the newest schema."""
    with scratch_postgres() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def _postgres_session_engine(postgres_url: URL) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine(_postgres_session_engine: Engine) -> Engine:
    """An engine on the session's PostgreSQL database, every table emptied."""
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with _postgres_session_engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    return _postgres_session_engine


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Migrated once; each test copies the file, which is quicker than migrating again.
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(sqlite_url(path))
    return path


@pytest.fixture
def sqlite_path(_sqlite_template: Path, tmp_path: Path) -> Path:
    """A SQLite file of this test, migrated to the newest schema and empty."""
    path = tmp_path / "checkout.db"
    shutil.copyfile(_sqlite_template, path)
    return path


@pytest.fixture
def sqlite_engine(sqlite_path: Path) -> Iterator[Engine]:
    """An engine on this test's SQLite file."""
    engine = make_engine(sqlite_url(sqlite_path))
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """An engine on a migrated, empty database: SQLite, then PostgreSQL."""
    found: Engine = request.getfixturevalue(f"{request.param}_engine")
    return found
