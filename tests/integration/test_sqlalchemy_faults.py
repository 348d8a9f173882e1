"""Database errors that may pass, told from the rest, and what a unit of work makes of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from checkout_adapters.sqlalchemy import SqlUnitOfWorkFactory, make_engine
from checkout_adapters.sqlalchemy.faults import is_transient
from checkout_core.faults import TransientFault
from tests.contract.queue import make_event
from tests.integration.concurrency_support import count
from tests.integration.database_faults import ConnectionKiller, statement_starting
from tests.integration.sql_support import sqlite_url
from tests.redis_adapter.redis_server import free_port


class _DriverError(Exception):
    """A driver's error with a SQLSTATE, as psycopg's carry one."""

    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _error(
    kind: type[DBAPIError], sqlstate: str | None, *, invalidated: bool = False
) -> DBAPIError:
    return kind("SELECT 1", {}, _DriverError(sqlstate), connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("error", "dialect", "transient"),
    [
        (_error(OperationalError, "57P01", invalidated=True), "postgresql", True),
        (_error(OperationalError, None, invalidated=True), "sqlite", True),
        (_error(OperationalError, None), "postgresql", True),
        (_error(OperationalError, "08006"), "postgresql", True),
        (_error(OperationalError, "57P03"), "postgresql", True),
        (_error(OperationalError, "40001"), "postgresql", True),
        (_error(OperationalError, "40P01"), "postgresql", True),
        (_error(OperationalError, "57014"), "postgresql", False),
        (_error(IntegrityError, "23505"), "postgresql", False),
        (_error(OperationalError, None), "sqlite", False),
        (ConnectionResetError(104, "reset"), "postgresql", False),
    ],
    ids=[
        "killed",
        "lost-on-sqlite",
        "unreachable",
        "connection-failure",
        "starting-up",
        "serialization",
        "deadlock",
        "statement-timeout",
        "unique-violation",
        "sqlite-locked",
        "not-a-database-error",
    ],
)
def test_a_database_error_is_transient_when_a_second_try_may_pass(
    error: BaseException,
    dialect: str,
    transient: bool,  # noqa: FBT001 - a parameter of the table
) -> None:
    assert is_transient(error, dialect) is transient


@pytest.fixture
def engine(postgres_engine: Engine, postgres_url: URL) -> Iterator[Engine]:
    del postgres_engine  # emptied the tables
    own = make_engine(postgres_url)
    yield own
    own.dispose()


def test_a_transaction_whose_connection_is_killed_leaves_as_a_transient_fault_and_writes_nothing(
    engine: Engine, postgres_url: URL
) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    appending = statement_starting("INSERT INTO outbox")

    def append_two() -> None:
        with factory() as uow:
            uow.outbox.append(make_event(1))
            uow.outbox.append(make_event(2))
            uow.commit()

    with (
        ConnectionKiller(engine, postgres_url, appending, skip=1) as killer,
        pytest.raises(TransientFault) as raised,
    ):
        append_two()

    assert killer.killed == 1
    assert isinstance(raised.value.__cause__, OperationalError)
    assert raised.value.__cause__.connection_invalidated
    assert count(engine, "SELECT count(*) FROM outbox") == 0
    with factory() as uow:  # the pool gives a new connection at once
        uow.outbox.append(make_event(3))
        uow.commit()
    assert count(engine, "SELECT count(*) FROM outbox") == 1


def test_a_database_that_cannot_be_reached_is_a_transient_fault(postgres_url: URL) -> None:
    nowhere = make_engine(postgres_url.set(port=free_port()), connect_args={"connect_timeout": 2})
    try:
        with pytest.raises(TransientFault), SqlUnitOfWorkFactory(nowhere)() as uow:
            uow.outbox.append(make_event(1))
    finally:
        nowhere.dispose()


def test_a_refusal_of_the_database_is_no_transient_fault(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "checkout.db"))
    try:
        with pytest.raises(OperationalError), SqlUnitOfWorkFactory(engine)() as uow:
            uow.outbox.append(make_event(1))  # no such table: nothing a second try mends
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
