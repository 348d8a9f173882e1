"""The pool collector against real engines: PostgreSQL's QueuePool and SQLite's pools.

PostgreSQL is found at ``CHECKOUT_TEST_DATABASE_URL`` (by default the local
server's ``test`` database), whose data is not touched: the tests only hold
connections. When the server cannot be reached they fail, saying so.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from checkout_adapters.observability import Metrics
from checkout_adapters.sqlalchemy import make_engine
from tests.observability.exposition import labelled, value

POSTGRES_URL_VARIABLE = "CHECKOUT_TEST_DATABASE_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

IN_USE = "checkout_db_pool_connections_in_use"
SIZE = "checkout_db_pool_size"


@pytest.fixture
def postgres() -> Iterator[Engine]:
    url = make_url(os.environ.get(POSTGRES_URL_VARIABLE) or DEFAULT_POSTGRES_URL)
    engine = make_engine(url, pool_size=3, max_overflow=2)
    try:
        with engine.connect():
            pass
    except OperationalError as error:
        unreachable: OperationalError | None = error
    else:
        unreachable = None
    if unreachable is not None:
        engine.dispose()
        # Failed outside the except block, so the report is this message and not a chain.
        pytest.fail(
            f"PostgreSQL at {url.render_as_string()} cannot be reached ({unreachable.orig}). "
            f"Start it, or point {POSTGRES_URL_VARIABLE} at a server that can.",
            pytrace=False,
        )
    yield engine
    engine.dispose()


def _hold(engine: Engine, count: int, stack: ExitStack) -> list[Connection]:
    return [stack.enter_context(engine.connect()) for _ in range(count)]


def test_a_postgres_pool_reports_connections_in_use_and_its_capacity(postgres: Engine) -> None:
    metrics = Metrics()
    metrics.watch_pool(postgres, "primary")

    with ExitStack() as stack:
        # One past the pool's size: the fourth connection is an overflow one.
        for connection in _hold(postgres, 4, stack):
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
        assert value(metrics, IN_USE, pool="primary") == 4
        assert value(metrics, SIZE, pool="primary") == 5

    assert value(metrics, IN_USE, pool="primary") == 0
    assert value(metrics, SIZE, pool="primary") == 5


def test_a_pool_is_read_again_after_the_engine_replaces_it(postgres: Engine) -> None:
    metrics = Metrics()
    metrics.watch_pool(postgres)

    postgres.dispose()
    with postgres.connect():
        assert value(metrics, IN_USE, pool="default") == 1


def test_a_sqlite_file_pool_is_reported(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'checkout.db'}", pool_size=2, max_overflow=1)
    metrics = Metrics()
    metrics.watch_pool(engine, "embedded")

    with ExitStack() as stack:
        _hold(engine, 2, stack)
        assert value(metrics, IN_USE, pool="embedded") == 2
        assert value(metrics, SIZE, pool="embedded") == 3
    engine.dispose()


def test_a_pool_without_an_overflow_limit_reports_no_capacity(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'checkout.db'}", pool_size=1, max_overflow=-1)
    metrics = Metrics()
    metrics.watch_pool(engine, "unbounded")

    with ExitStack() as stack:
        _hold(engine, 3, stack)
        assert value(metrics, IN_USE, pool="unbounded") == 3
        assert value(metrics, SIZE, pool="unbounded") is None
    engine.dispose()


def test_a_sqlite_memory_pool_reports_nothing_and_spoils_nothing(tmp_path: Path) -> None:
    memory = make_engine("sqlite://")
    assert isinstance(memory.pool, StaticPool)
    file = make_engine(f"sqlite:///{tmp_path / 'checkout.db'}")
    metrics = Metrics()
    metrics.watch_pool(memory, "memory")
    metrics.watch_pool(file, "file")

    with memory.connect(), file.connect():
        assert labelled(metrics, IN_USE) == {frozenset({("pool", "file")}): 1}
        assert set(labelled(metrics, SIZE)) == {frozenset({("pool", "file")})}
    memory.dispose()
    file.dispose()


def test_a_pool_name_is_watched_once() -> None:
    engine = make_engine("sqlite://")
    metrics = Metrics()
    metrics.watch_pool(engine, "main")

    with pytest.raises(ValueError, match="'main' is already watched"):
        metrics.watch_pool(engine, "main")
    engine.dispose()
