"""PostgreSQL advisory locks named by a string: how processes sharing one database take turns.

PostgreSQL keys an advisory lock by a 64-bit integer; :func:`advisory_key`
makes one of a name, the same in every process and release. Two kinds of
hold, each waiting for whoever holds the lock:

- :func:`session_advisory_lock` holds it on a connection's session for a
  ``with`` block, across the transactions the block commits; it is the lock
  of work that manages its own transactions, such as Alembic's migrations.
- :func:`transaction_advisory_lock` holds it until the connection's
  transaction ends, commit or rollback; it is the lock of work done in one
  transaction, such as seeding the catalog.

Either way the lock lives with the database session: a process that dies
holding one loses its connection, and PostgreSQL ends the session and the
lock with it, so no crash leaves a lock behind. Advisory locks belong to
one database: processes on another database of the same server never wait
for them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

__all__ = ["advisory_key", "session_advisory_lock", "transaction_advisory_lock"]

logger = logging.getLogger(__name__)

_TRY_LOCK: Final = text("SELECT pg_try_advisory_lock(:key)")
_LOCK: Final = text("SELECT pg_advisory_lock(:key)")
_UNLOCK: Final = text("SELECT pg_advisory_unlock(:key)")
_TRANSACTION_LOCK: Final = text("SELECT pg_advisory_xact_lock(:key)")


def advisory_key(name: str) -> int:
    """The 64-bit advisory lock key of ``name``: the same in every process and release.

    Python's ``hash`` of a string changes between processes; this is the
    first eight bytes of the BLAKE2b digest of ``name``, read as
    PostgreSQL's signed bigint.
    """
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def session_advisory_lock(connection: Connection, name: str) -> Iterator[None]:
    """Hold the advisory lock ``name`` on ``connection``'s session for the ``with`` block.

    Waits for as long as another session holds it (bounded only by the
    server's ``lock_timeout``), saying so in the log once. ``connection``
    must be outside a transaction, and enters the block outside one: the
    statement taking the lock is committed at once, so that the block may
    begin and commit transactions of its own while the lock stays held.
    Whatever the block leaves uncommitted is rolled back at its end, as
    closing the connection would; a connection whose lock cannot be given
    back is invalidated, which ends its session and the lock with it.

    Raises:
        ValueError: ``connection`` is in a transaction.
    """
    if connection.in_transaction():
        raise ValueError("a session lock is taken outside a transaction, so the block owns its own")
    key = advisory_key(name)
    try:
        if not connection.execute(_TRY_LOCK, {"key": key}).scalar_one():
            logger.info("waiting for the lock %r: another process holds it", name)
            connection.execute(_LOCK, {"key": key})
        connection.commit()
    except BaseException:
        # Interrupted while or just after taking it: the lock may be held; end the session.
        connection.invalidate()
        raise
    try:
        yield
    finally:
        _release(connection, key, name)


def _release(connection: Connection, key: int, name: str) -> None:
    try:
        if connection.in_transaction():
            connection.rollback()
        released = connection.execute(_UNLOCK, {"key": key}).scalar_one()
        connection.commit()
    except SQLAlchemyError:
        logger.warning("could not give back the lock %r: ending its session", name, exc_info=True)
        released = False
    if not released:
        # Never let a connection that might still hold the lock back into the pool.
        connection.invalidate()


def transaction_advisory_lock(connection: Connection, name: str) -> None:
    """Take the advisory lock ``name`` until ``connection``'s transaction ends, waiting for it.

    Begins the transaction if none is open. Under READ COMMITTED (which
    PostgreSQL defaults to and the checkout assumes), each statement after
    this one sees everything the previous holder committed.
    """
    connection.execute(_TRANSACTION_LOCK, {"key": advisory_key(name)})
