"""The idempotency fast path in this process's memory, with lifetimes read from a clock.

The embedded default and test fake of the
:class:`~checkout_core.ports.IdempotencyCache` port, with the Redis
adapter's semantics: a key holds an in-progress mark (for its lease) or a
completed record (until the record's ``expires_at``), and a claim succeeds
only on a key that holds neither.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from attrs import define, field, frozen

from checkout_core.domain.idempotency import IdempotencyRecord, IdempotencyState
from checkout_core.ports import Clock

__all__ = ["InMemoryIdempotencyCache"]


@frozen
class _Mark:
    fingerprint: str
    until: datetime


@define
class InMemoryIdempotencyCache:
    """In-progress marks and completed records by key, each forgotten when ``clock`` says."""

    clock: Clock
    _entries: dict[str, _Mark | IdempotencyRecord] = field(factory=dict, init=False, repr=False)
    _mutex: threading.Lock = field(factory=threading.Lock, init=False, repr=False)

    def completed(self, key: str) -> IdempotencyRecord | None:
        """The completed record of ``key``; ``None`` for no entry or an in-progress mark."""
        with self._mutex:
            entry = self._live(key, self.clock.now())
        return entry if isinstance(entry, IdempotencyRecord) else None

    def claim(self, key: str, fingerprint: str, ttl: timedelta) -> bool:
        """Mark ``key`` in progress for ``ttl`` unless it holds a mark or a record."""
        if ttl <= timedelta(0):
            raise ValueError(f"a key is claimed for a positive time, not {ttl}")
        now = self.clock.now()
        with self._mutex:
            if self._live(key, now) is not None:
                return False
            self._entries[key] = _Mark(fingerprint, now + ttl)
            return True

    def store(self, record: IdempotencyRecord) -> None:
        """Keep the completed ``record`` until its ``expires_at``, replacing the in-progress mark.

        Raises:
            ValueError: ``record`` is not completed.
        """
        if record.state is not IdempotencyState.COMPLETED:
            raise ValueError(f"only a completed record is kept, not one {record.state}")
        with self._mutex:
            self._entries[record.key] = record
            # A record already over is dropped now rather than kept until read.
            self._live(record.key, self.clock.now())

    def release(self, key: str) -> None:
        """Forget the in-progress mark of ``key``; a completed record stays."""
        with self._mutex:
            if isinstance(self._entries.get(key), _Mark):
                del self._entries[key]

    def _live(self, key: str, now: datetime) -> _Mark | IdempotencyRecord | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        until = entry.until if isinstance(entry, _Mark) else entry.expires_at
        if now >= until:
            del self._entries[key]
            return None
        return entry
