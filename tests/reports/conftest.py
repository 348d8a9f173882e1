"""A checkout history to report on, made through the services on a clock moved day by day.

The history is seeded once per database (SQLite in a file, PostgreSQL in a
scratch database) and only read afterwards: every test of the report sees
the same orders.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from checkout_adapters.sqlalchemy import make_engine, upgrade
from tests.integration.sql_support import postgres_server_url, scratch_database, sqlite_url
from tests.reports.history import History, seed_history


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[History]:
    """The history, on each database in turn."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("reports") / "checkout.db"
        url = sqlite_url(path)
        upgrade(url)
        engine = make_engine(url)
        try:
            yield seed_history(engine)
        finally:
            engine.dispose()
        return
    with scratch_database(postgres_server_url()) as postgres:
        upgrade(postgres)
        engine = make_engine(postgres)
        try:
            yield seed_history(engine)
        finally:
            engine.dispose()


@pytest.fixture
def engine(seeded: History) -> Engine:
    """The engine of the seeded database."""
    return seeded.engine
