"""Engines for the two databases the checkout runs on, each set up for concurrent writers.

SQLite (the embedded default): one file shared by threads, foreign keys on, a
busy timeout, write-ahead logging, and every transaction begun with
``BEGIN IMMEDIATE``. Python's ``sqlite3`` would otherwise begin lazily and
take the write lock only at the first write; two transactions that both read
and then write would then deadlock on the upgrade and one would fail at once
with "database is locked". Taking the lock at ``BEGIN`` makes writers queue
behind the busy timeout instead. This is SQLAlchemy's documented pysqlite
recipe (the ``connect`` and ``begin`` events).

PostgreSQL (production): psycopg 3, connections checked before use (a
restarted server or a dropped connection costs a retry, not an error), and a
pool sized for a web worker.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any, Final

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.pool import StaticPool

__all__ = ["BUSY_TIMEOUT_SECONDS", "make_engine"]

BUSY_TIMEOUT_SECONDS: Final = 30.0
"""How long a SQLite writer waits for another to commit before giving up."""

_WAL_PAUSE_SECONDS: Final = 0.05
_POOL_SIZE: Final = 10
_MAX_OVERFLOW: Final = 10


def make_engine(url: str | URL, **options: Any) -> Engine:  # noqa: ANN401 - create_engine's
    """An engine for ``url``, a ``sqlite://`` or ``postgresql://`` URL.

    A PostgreSQL URL without a driver uses psycopg 3. ``options`` go to
    :func:`sqlalchemy.create_engine` and override the defaults chosen here.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, options)
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        defaults: dict[str, Any] = {"pool_pre_ping": True}
        if "poolclass" not in options:
            # Sizes of the default QueuePool; another pool class may take none.
            defaults |= {"pool_size": _POOL_SIZE, "max_overflow": _MAX_OVERFLOW}
        return create_engine(parsed, **(defaults | options))
    raise ValueError(f"the checkout runs on PostgreSQL or SQLite, not {parsed.drivername}")


def _is_memory(url: URL) -> bool:
    return url.database in {None, "", ":memory:"} or bool(url.query.get("mode") == "memory")


def _write_ahead_logging(cursor: Any) -> None:  # noqa: ANN401 - a DBAPI cursor
    """Switch the file to write-ahead logging, waiting while another connection switches it.

    The first connections to a new file each switch it, which takes the
    file's exclusive lock without SQLite's busy handler: all but one are told
    at once that the database is locked. Once the file is switched, asking
    again succeeds at once.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as error:
            if "database is locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(_WAL_PAUSE_SECONDS)
        else:
            return


def _sqlite_engine(url: URL, options: dict[str, Any]) -> Engine:
    connect_args = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS}
    defaults: dict[str, Any] = {"connect_args": connect_args}
    memory = _is_memory(url)
    if memory:
        # Each connection to ":memory:" is a database of its own: share the one.
        defaults["poolclass"] = StaticPool
    engine = create_engine(url, **(defaults | options))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:  # noqa: ANN401 - DBAPI
        # Stop sqlite3 from issuing BEGIN itself; the "begin" listener issues it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            if not memory:
                # Readers no longer block the writer, nor the writer the readers.
                _write_ahead_logging(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
