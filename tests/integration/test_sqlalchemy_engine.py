from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.pool import QueuePool, StaticPool

from checkout_adapters.sqlalchemy import SqlUnitOfWorkFactory, make_engine, upgrade
from tests.contract.unit_of_work import make_cart, read, write
from tests.integration.sql_support import sqlite_url


def test_sqlite_connections_enforce_foreign_keys_and_wait_for_the_writer(
    sqlite_engine: Engine,
) -> None:
    with sqlite_engine.connect() as connection:
        foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
        busy_timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()

    assert (foreign_keys, busy_timeout, journal) == (1, 30_000, "wal")


def test_sqlite_transactions_begin_immediate_so_writers_queue_instead_of_failing(
    tmp_path: Path,
) -> None:
    # Read, then write: with SQLite's default deferred BEGIN, two such
    # transactions deadlock on the lock upgrade and one fails at once.
    engine = make_engine(sqlite_url(tmp_path / "counter.db"))
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE counter (n INTEGER NOT NULL)")
        connection.exec_driver_sql("INSERT INTO counter VALUES (0)")
    workers, rounds = 6, 15
    start = threading.Barrier(workers)

    def increment() -> None:
        start.wait()
        for _ in range(rounds):
            with engine.begin() as connection:
                n = connection.exec_driver_sql("SELECT n FROM counter").scalar_one()
                connection.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(increment) for _ in range(workers)]:
                future.result()
        with engine.connect() as connection:
            total = connection.exec_driver_sql("SELECT n FROM counter").scalar_one()
    finally:
        engine.dispose()

    assert total == workers * rounds


def test_an_in_memory_sqlite_database_is_one_database_for_every_thread() -> None:
    engine = make_engine("sqlite://")
    try:
        upgrade(engine)
        factory = SqlUnitOfWorkFactory(engine)
        write(factory, lambda uow: uow.carts.add(make_cart()))

        with ThreadPoolExecutor(max_workers=1) as pool:
            found = pool.submit(read, factory, lambda uow: uow.carts.get("cart_1")).result()
    finally:
        engine.dispose()

    assert isinstance(engine.pool, StaticPool)
    assert found == make_cart()


def test_a_postgres_url_without_a_driver_uses_psycopg_with_a_checked_pool() -> None:
    engine = make_engine("postgresql://checkout@db.invalid/checkout")
    try:
        assert engine.dialect.driver == "psycopg"
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.size() == 10
        assert engine.pool._pre_ping
    finally:
        engine.dispose()


def test_options_given_to_make_engine_win_over_its_defaults() -> None:
    engine = make_engine("postgresql+psycopg://checkout@db.invalid/checkout", pool_size=3)
    try:
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.size() == 3
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["mysql://checkout@db.invalid/checkout", "oracle://x@y/z"])
def test_a_database_other_than_postgres_or_sqlite_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="PostgreSQL or SQLite"):
        make_engine(url)
