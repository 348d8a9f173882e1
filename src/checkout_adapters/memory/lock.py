"""A lock shared by the threads of one process, with fencing tokens and expiry by clock.

It is the embedded default of the :class:`~checkout_core.ports.Lock` port: one
process, so one instance of each job. A lease lasts for its ``ttl`` by the
injected clock; once it is over, anyone may take the lock over, and the
fencing token of every grant of a name is greater than that of the one
before, so work done under a lease that expired can be told apart.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from attrs import define, field

from checkout_core.ports import Clock, LockLease

__all__ = ["InMemoryLock"]


@define
class InMemoryLock:
    """Named locks held until released or until their lease is over by ``clock``."""

    clock: Clock
    _holders: dict[str, LockLease] = field(factory=dict, init=False, repr=False)
    # Kept after a release or an expiry: tokens never go back, whoever held the lock.
    _last_tokens: dict[str, int] = field(factory=dict, init=False, repr=False)
    _mutex: threading.Lock = field(factory=threading.Lock, init=False, repr=False)

    def acquire(self, name: str, ttl: timedelta) -> LockLease | None:
        """Take the lock ``name`` for ``ttl``; ``None`` while another lease of it is not over."""
        if ttl <= timedelta(0):
            raise ValueError(f"a lock is taken for a positive time, not {ttl}")
        now = self.clock.now()
        with self._mutex:
            holder = self._holders.get(name)
            if holder is not None and now < holder.expires_at:
                return None
            token = self._last_tokens.get(name, 0) + 1
            lease = LockLease(name=name, fencing_token=token, expires_at=now + ttl)
            self._last_tokens[name] = token
            self._holders[name] = lease
            return lease

    def release(self, lease: LockLease) -> None:
        """Free the lock if ``lease`` still holds it; a lease taken over releases nothing."""
        with self._mutex:
            if self._holders.get(lease.name) == lease:
                del self._holders[lease.name]
