"""The checkout on a SQL database: PostgreSQL in production, SQLite embedded.

SQLAlchemy 2 Core (tables and statements, no ORM), Alembic migrations, and
the invariants kept by the database itself. Wiring it up::

    from checkout_adapters.sqlalchemy import (
        SqlCatalog, SqlUnitOfWorkFactory, make_engine, upgrade,
    )

    engine = make_engine("postgresql+psycopg://checkout@db/checkout")
    upgrade(engine)                       # alembic upgrade head
    unit_of_work = SqlUnitOfWorkFactory(engine)
    catalog = SqlCatalog(engine)
"""

from __future__ import annotations

from checkout_adapters.sqlalchemy.catalog import SqlCatalog, SqlCatalogReader
from checkout_adapters.sqlalchemy.engine import make_engine
from checkout_adapters.sqlalchemy.migrations.migrate import downgrade, upgrade
from checkout_adapters.sqlalchemy.queue import SqlOutboxQueue
from checkout_adapters.sqlalchemy.repositories import OutboxEntry, SqlOutboxReader
from checkout_adapters.sqlalchemy.tables import metadata
from checkout_adapters.sqlalchemy.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory

__all__ = [
    "OutboxEntry",
    "SqlCatalog",
    "SqlCatalogReader",
    "SqlOutboxQueue",
    "SqlOutboxReader",
    "SqlUnitOfWork",
    "SqlUnitOfWorkFactory",
    "downgrade",
    "make_engine",
    "metadata",
    "upgrade",
]
