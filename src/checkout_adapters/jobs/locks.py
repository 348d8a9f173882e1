"""The locks that let one instance at a time run a job.

:class:`AdvisoryJobLock` is the lock on PostgreSQL, whatever else is
configured: a session-level advisory lock, ``pg_try_advisory_lock`` on a
stable 64-bit key derived from the job's name (:func:`advisory_key`), taken on
a connection of its own, held for as long as that connection holds it, and
released with ``pg_advisory_unlock``. The lock lives where the records do and
has no lease to outlast: if the process dies or its connection is lost,
PostgreSQL ends the session and the lock with it, so a crashed scheduler never
leaves a job locked. Redis is not used for jobs on PostgreSQL, even when
configured: it is a cache, never the only record of anything.

:class:`LeasedJobLock` holds a job through the :class:`~checkout_core.ports.Lock`
port for a lease of the job's interval: :class:`~checkout_adapters.redis.RedisLock`
on SQLite with Redis configured (processes sharing the database share Redis),
:class:`~checkout_adapters.memory.InMemoryLock` on SQLite without it. The
latter is the embedded default's lock: it excludes the threads of one
process, which is all the embedded default runs; two processes on one SQLite
file without Redis are not kept apart (SQLite still serializes their writes).
A lease ends with its time, so a run longer than its interval may overlap
the next one elsewhere.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final, Protocol

from attrs import frozen
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from checkout_adapters.sqlalchemy.advisory import advisory_key as named_advisory_key
from checkout_core.ports import Lock, LockLease

__all__ = ["AdvisoryJobLock", "HeldLock", "JobLock", "LeasedJobLock", "advisory_key"]

logger = logging.getLogger(__name__)

_KEY_PREFIX: Final = "checkout.job:"
_TRY_LOCK: Final = text("SELECT pg_try_advisory_lock(:key)")
_UNLOCK: Final = text("SELECT pg_advisory_unlock(:key)")


class HeldLock(Protocol):
    """A job's lock, held until released."""

    def release(self) -> None:
        """Give the lock back; never raises (a lock that cannot be released is let go)."""
        ...


class JobLock(Protocol):
    """Where a job's runs take their lock, so that one instance runs it at a time."""

    def try_acquire(self, job: str, hold_for: timedelta) -> HeldLock | None:
        """Take the lock of ``job`` without waiting; ``None`` while another holds it.

        ``hold_for`` is how long the holder means to keep it: a lease-based
        lock lets it go after that long, an advisory lock ignores it.
        """
        ...


def advisory_key(job: str) -> int:
    """The 64-bit advisory lock key of ``job``: the same in every process and release.

    The key of the name ``checkout.job:<job>``
    (:func:`checkout_adapters.sqlalchemy.advisory.advisory_key`).
    """
    return named_advisory_key(f"{_KEY_PREFIX}{job}")


@frozen
class _HeldAdvisoryLock:
    connection: Connection
    key: int
    job: str

    def release(self) -> None:
        try:
            released = self.connection.execute(_UNLOCK, {"key": self.key}).scalar_one()
        except SQLAlchemyError:
            # The connection is gone, and the session with it: the lock was released then.
            logger.warning("the connection holding the lock of %s was lost", self.job)
            released = False
        if not released:
            # Never hand a connection that might still hold the lock back to the pool.
            self.connection.invalidate()
        self.connection.close()


@frozen
class AdvisoryJobLock:
    """PostgreSQL session-level advisory locks, one connection of ``engine`` per held job."""

    engine: Engine

    def try_acquire(self, job: str, hold_for: timedelta) -> HeldLock | None:
        """Take the advisory lock of ``job`` on a connection of its own; ``None`` if taken."""
        del hold_for  # held until released, or until the session ends
        # Autocommit: the lock belongs to the session, and no transaction stays open idle.
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        key = advisory_key(job)
        try:
            taken = connection.execute(_TRY_LOCK, {"key": key}).scalar_one()
        except BaseException:
            connection.close()
            raise
        if not taken:
            connection.close()
            return None
        return _HeldAdvisoryLock(connection, key, job)


@frozen
class _HeldLease:
    lock: Lock
    lease: LockLease

    def release(self) -> None:
        try:
            self.lock.release(self.lease)
        except Exception:
            # The lease runs out by itself; a failed release only delays the next holder.
            logger.warning("could not release the lock %s", self.lease.name, exc_info=True)


@frozen
class LeasedJobLock:
    """A job's lock through the :class:`~checkout_core.ports.Lock` port, for a lease."""

    lock: Lock
    prefix: str = "job:"

    def try_acquire(self, job: str, hold_for: timedelta) -> HeldLock | None:
        """Take the lock of ``job`` for ``hold_for``; ``None`` while another lease stands."""
        lease = self.lock.acquire(f"{self.prefix}{job}", hold_for)
        return None if lease is None else _HeldLease(self.lock, lease)
