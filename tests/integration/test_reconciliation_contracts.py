"""The contract of the jobs' queries, on the SQL adapter over SQLite and over PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from checkout_adapters.sqlalchemy import SqlUnitOfWorkFactory
from checkout_core.ports import UnitOfWorkFactory
from tests.contract.operations import OperationsContract


class TestSqliteOperations(OperationsContract):
    relays_outbox = True

    @pytest.fixture
    def uow_factory(self, sqlite_engine: Engine) -> UnitOfWorkFactory:
        return SqlUnitOfWorkFactory(sqlite_engine)


class TestPostgresOperations(OperationsContract):
    relays_outbox = True

    @pytest.fixture
    def uow_factory(self, postgres_engine: Engine) -> UnitOfWorkFactory:
        return SqlUnitOfWorkFactory(postgres_engine)
