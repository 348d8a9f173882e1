"""Run the checkout's migrations from Python: what ``alembic upgrade head`` does from a shell.

``upgrade("sqlite:///checkout.db")`` brings a database to the newest schema,
creating it if it is empty; running it again does nothing. ``downgrade``
undoes revisions (``"base"`` drops every table).

Any number of processes may migrate one database at once, as replicas
started together do: each migrates on one connection, in one transaction.
On PostgreSQL that connection first takes a session-level advisory lock
(:data:`MIGRATION_LOCK`), so migrators take turns; the later ones find the
schema at the revision asked for and do nothing. The lock is given back at
the end, and dies with the session should the process die mid-migration
(whose transaction is rolled back with it). On SQLite the transaction
begins ``IMMEDIATE`` (see :mod:`checkout_adapters.sqlalchemy.engine`),
taking the file's write lock before Alembic reads the revision: migrators
queue there, each for up to
:data:`~checkout_adapters.sqlalchemy.engine.BUSY_TIMEOUT_SECONDS`.
``alembic upgrade head`` from a shell takes the same turn
(:func:`migration_turn`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Connection, Engine, make_url

from checkout_adapters.sqlalchemy.advisory import session_advisory_lock
from checkout_adapters.sqlalchemy.engine import make_engine

__all__ = [
    "MIGRATION_LOCK",
    "SCRIPT_LOCATION",
    "alembic_config",
    "downgrade",
    "migration_turn",
    "upgrade",
]

SCRIPT_LOCATION: Final = "checkout_adapters.sqlalchemy:migrations"
"""Where Alembic finds the migrations: this package, installed or not."""
MIGRATION_LOCK: Final = "checkout.schema:migrate"
"""The PostgreSQL advisory lock a migration holds (:mod:`checkout_adapters.sqlalchemy.advisory`)."""

_Step = Callable[[Config, str], None]


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic configuration for the checkout's migrations on ``url``.

    Without ``url``, the migrations read ``CHECKOUT_DATABASE_URL``.
    """
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if url is not None:
        rendered = make_url(url).render_as_string(hide_password=False)
        # The option is interpolated as in configparser: a "%" in a password must be doubled.
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


@contextmanager
def migration_turn(connection: Connection) -> Iterator[None]:
    """Hold ``connection``'s turn to migrate for the ``with`` block, as every migrator does.

    On PostgreSQL, the session advisory lock :data:`MIGRATION_LOCK`: Alembic
    keeps its own transactions there (a migration may need an autocommit
    block), so the lock is a session's, taken and committed before they
    begin. On SQLite, one transaction: left to itself, Alembic commits
    SQLite's migrations one at a time, and another process could slip in
    between and apply the next one first; handed a transaction, it runs them
    all in it, under the write lock its ``BEGIN IMMEDIATE`` took.
    """
    if connection.dialect.name == "postgresql":
        with session_advisory_lock(connection, MIGRATION_LOCK):
            yield
        return
    with connection.begin():
        yield


def _migrate(engine: Engine, revision: str, step: _Step) -> None:
    config = alembic_config()
    with engine.connect() as connection, migration_turn(connection):
        config.attributes["connection"] = connection
        step(config, revision)


def _run(target: str | URL | Engine, revision: str, step: _Step) -> None:
    if isinstance(target, Engine):
        _migrate(target, revision, step)
        return
    engine = make_engine(target)
    try:
        _migrate(engine, revision, step)
    finally:
        engine.dispose()


def upgrade(target: str | URL | Engine, revision: str = "head") -> None:
    """Migrate the database at ``target`` (a URL, or an engine to borrow) up to ``revision``.

    Safe to run from many processes at once: they take turns (see above).
    """
    _run(target, revision, command.upgrade)


def downgrade(target: str | URL | Engine, revision: str) -> None:
    """Migrate the database at ``target`` down to ``revision`` (``"base"``: no tables).

    Takes turns with other migrations, as :func:`upgrade` does.
    """
    _run(target, revision, command.downgrade)
