"""The ports' contract suites, run against the SQL adapter on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from checkout_adapters.sqlalchemy import SqlCatalog, SqlOutboxReader, SqlUnitOfWorkFactory
from checkout_core.domain.catalog import Offering, Sale
from checkout_core.ports import Catalog, UnitOfWorkFactory
from tests.contract.catalog import CatalogContract, CatalogFactory
from tests.contract.unit_of_work import OutboxReader, UnitOfWorkContract

# A key stored twice is the database's IntegrityError; an update of a row
# that is not there is the adapter's ValueError, as in memory.
SQL_PROGRAMMING_ERRORS = (IntegrityError, ValueError)


def _outbox_of(engine: Engine) -> OutboxReader:
    reader = SqlOutboxReader(engine)
    return lambda: [(entry.name, entry.event.event_id) for entry in reader.pending()]


def _catalogs_on(engine: Engine) -> CatalogFactory:
    def make(offerings: Sequence[Offering], sales: Sequence[Sale]) -> Catalog:
        catalog = SqlCatalog(engine)
        for offering in offerings:
            catalog.put_offering(offering)
        for sale in sales:
            catalog.put_sale(sale)
        return catalog

    return make


class TestSqliteUnitOfWork(UnitOfWorkContract):
    programming_errors: ClassVar[tuple[type[Exception], ...]] = SQL_PROGRAMMING_ERRORS

    @pytest.fixture
    def uow_factory(self, sqlite_engine: Engine) -> UnitOfWorkFactory:
        return SqlUnitOfWorkFactory(sqlite_engine)

    @pytest.fixture
    def read_outbox(self, sqlite_engine: Engine) -> OutboxReader:
        return _outbox_of(sqlite_engine)


class TestPostgresUnitOfWork(UnitOfWorkContract):
    programming_errors: ClassVar[tuple[type[Exception], ...]] = SQL_PROGRAMMING_ERRORS

    @pytest.fixture
    def uow_factory(self, postgres_engine: Engine) -> UnitOfWorkFactory:
        return SqlUnitOfWorkFactory(postgres_engine)

    @pytest.fixture
    def read_outbox(self, postgres_engine: Engine) -> OutboxReader:
        return _outbox_of(postgres_engine)


class TestSqliteCatalog(CatalogContract):
    @pytest.fixture
    def make_catalog(self, sqlite_engine: Engine) -> CatalogFactory:
        return _catalogs_on(sqlite_engine)


class TestPostgresCatalog(CatalogContract):
    @pytest.fixture
    def make_catalog(self, postgres_engine: Engine) -> CatalogFactory:
        return _catalogs_on(postgres_engine)
