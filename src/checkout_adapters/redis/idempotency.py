"""The idempotency fast path in Redis: claims and replays that need no database round trip.

Each key is one string, ``{prefix}{key}``, holding either an in-progress mark
``in_progress:<fingerprint>`` or a completed record as JSON. A claim is
``SET ... NX PX <lease>``: of two processes claiming a key, Redis lets exactly
one through, and a mark whose owner died vanishes with its lease. A
completed record stays until its ``expires_at`` (``SET ... PXAT``).

The database stays the record of truth: losing a mark or a record here
costs a database round trip, never a second order, because the claim the
service makes in the database is what decides.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Final

from attrs import Factory, define, field
from redis import Redis
from redis.commands.core import Script

from checkout_adapters.redis.serialization import dump_record, load_record
from checkout_core.domain.idempotency import IdempotencyRecord, IdempotencyState

__all__ = ["RedisIdempotencyCache"]

_IN_PROGRESS: Final = "in_progress:"
_MILLISECOND: Final = timedelta(milliseconds=1)

# Compare-and-delete: a completed record must survive a late release.
_RELEASE: Final = """
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, string.len(ARGV[1])) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@define
class RedisIdempotencyCache:
    """In-progress marks and completed records through ``client``, under ``{prefix}{key}``."""

    client: Redis
    prefix: str = field(default="checkout:idem:", kw_only=True)
    _release: Script = field(
        default=Factory(lambda self: self.client.register_script(_RELEASE), takes_self=True),
        init=False,
        repr=False,
    )

    def completed(self, key: str) -> IdempotencyRecord | None:
        """The completed record of ``key``; ``None`` for no entry or an in-progress mark."""
        stored: bytes | str | None = self.client.get(self._key(key))
        if stored is None:
            return None
        text = _text(stored)
        if text.startswith(_IN_PROGRESS):
            return None
        return load_record(text)

    def claim(self, key: str, fingerprint: str, ttl: timedelta) -> bool:
        """Mark ``key`` in progress for ``ttl`` unless Redis holds anything for it."""
        if ttl <= timedelta(0):
            raise ValueError(f"a key is claimed for a positive time, not {ttl}")
        claimed = self.client.set(
            self._key(key),
            f"{_IN_PROGRESS}{fingerprint}",
            nx=True,
            px=max(1, math.ceil(ttl / _MILLISECOND)),
        )
        return bool(claimed)

    def store(self, record: IdempotencyRecord) -> None:
        """Keep the completed ``record`` until its ``expires_at``, replacing the in-progress mark.

        A record whose time is already over is not kept, and the mark goes with it.

        Raises:
            ValueError: ``record`` is not completed.
        """
        if record.state is not IdempotencyState.COMPLETED:
            raise ValueError(f"only a completed record is kept, not one {record.state}")
        # Redis deletes a key set with a PXAT in the past, which is what is wanted here.
        self.client.set(
            self._key(record.key),
            dump_record(record),
            pxat=math.ceil(record.expires_at.timestamp() * 1000),
        )

    def release(self, key: str) -> None:
        """Forget the in-progress mark of ``key``; a completed record stays.

        The port names only the key, so whichever in-progress mark the key
        holds is dropped. That is safe: a request that then claims the key
        again still meets the database's claim, which decides.
        """
        self._release(keys=[self._key(key)], args=[_IN_PROGRESS])

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"
