"""Alembic's entry point: run the migrations on the database named by the configuration.

The URL is, in order: a connection handed over by :func:`.migrate.upgrade`
(``config.attributes["connection"]``), the ``sqlalchemy.url`` option, then
the ``CHECKOUT_DATABASE_URL`` environment variable. The engine is made by
:func:`~checkout_adapters.sqlalchemy.engine.make_engine`, so SQLite
migrations run with foreign keys on; from a shell as from Python, a
migration takes its turn with :func:`.migrate.migration_turn` (an advisory
lock on PostgreSQL, one ``BEGIN IMMEDIATE`` transaction on SQLite).
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from checkout_adapters.sqlalchemy.engine import make_engine
from checkout_adapters.sqlalchemy.migrations.migrate import migration_turn
from checkout_adapters.sqlalchemy.tables import metadata

__all__ = ["DATABASE_URL_VARIABLE"]

DATABASE_URL_VARIABLE = "CHECKOUT_DATABASE_URL"


def _url() -> str:
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get(DATABASE_URL_VARIABLE)
    if not url:
        raise RuntimeError(
            f"no database to migrate: set {DATABASE_URL_VARIABLE} "
            "(sqlite:///checkout.db or postgresql+psycopg://user@host/db)"
        )
    return url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite changes a table by copying it; batch mode writes those copies.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    given = context.config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = make_engine(_url())
    try:
        # From a shell too, a migration waits for its turn, as upgrade() does.
        with engine.connect() as connection, migration_turn(connection):
            _run(connection)
    finally:
        engine.dispose()


def _run_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


# Run from the command line with alembic.ini, log as the file says; from Python, leave logging be.
if context.config.config_file_name is not None:
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
