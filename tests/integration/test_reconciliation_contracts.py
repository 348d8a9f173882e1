"""The contract of the jobs' queries, on the SQL adapter over SQLite and over PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine

from checkout_adapters.memory import FixedClock
from checkout_adapters.relay import OutboxRelay
from checkout_adapters.sqlalchemy import SqlUnitOfWorkFactory
from checkout_core.domain.events import DomainEvent
from checkout_core.ports import UnitOfWorkFactory
from tests.contract.operations import OperationsContract, RelayOutbox


class _Recorder:
    def __init__(self) -> None:
        self.published: list[str] = []

    def publish(self, event: DomainEvent) -> None:
        self.published.append(event.event_id)


def _relay_of(engine: Engine) -> RelayOutbox:
    def relay(at: datetime) -> list[str]:
        recorder = _Recorder()
        OutboxRelay(engine, recorder, batch_size=1_000, clock=FixedClock(at)).relay_once()
        return recorder.published

    return relay


class TestSqliteOperations(OperationsContract):
    relays_outbox = True

    @pytest.fixture
    def uow_factory(self, sqlite_engine: Engine) -> UnitOfWorkFactory:
        return SqlUnitOfWorkFactory(sqlite_engine)

    @pytest.fixture
    def relay_outbox(self, sqlite_engine: Engine) -> RelayOutbox:
        return _relay_of(sqlite_engine)


class TestPostgresOperations(OperationsContract):
    relays_outbox = True

    @pytest.fixture
    def uow_factory(self, postgres_engine: Engine) -> UnitOfWorkFactory:
        return SqlUnitOfWorkFactory(postgres_engine)

    @pytest.fixture
    def relay_outbox(self, postgres_engine: Engine) -> RelayOutbox:
        return _relay_of(postgres_engine)
