"""A lock in Redis shared by every instance of a host, with fencing tokens that only grow.

Each lock name has two keys sharing one hash tag, so that on Redis Cluster
they live on one slot and one script may touch both:

* ``{prefix}{<name>}:fence``, a counter that is never deleted nor expires:
  each grant takes the next number, so a lease granted after another (after
  a release or after the other's time ran out) always carries a greater
  fencing token, and a resource told the greatest token it has seen can
  refuse the writes of a holder whose lease is over;
* ``{prefix}{<name>}:lock``, the holder: ``<fencing token>:<expiry in µs>``.

Granting is one Lua script, atomic: look at the holder, and if there is
none or its lease is over by the injected clock, take the next token and
write the new holder with ``PX <ttl>``. The expiry in the value is what
decides, so tests can move a fixed clock; the ``PX`` only keeps Redis from
holding a lock nobody released for longer than its lease (for the real
clock both agree). Releasing is a compare-and-delete script: only the holder
named by the lease's token is deleted.

Tokens restart only if the counter is lost (Redis flushed, or a failover to
a replica that had not seen the last grant); jobs that need fencing across
such a loss should also fence on a value kept in the database.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Final

from attrs import Factory, define, field
from redis import Redis
from redis.commands.core import Script

from checkout_core.ports import Clock, LockLease

__all__ = ["RedisLock"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_MILLISECOND: Final = timedelta(milliseconds=1)

# KEYS: holder, fence. ARGV: now (µs), the new lease's expiry (µs), ttl (ms).
# Returns the new fencing token, or nil while another lease is not over.
_ACQUIRE: Final = """
local held = redis.call('GET', KEYS[1])
if held then
    local separator = string.find(held, ':', 1, true)
    if separator and tonumber(string.sub(held, separator + 1)) > tonumber(ARGV[1]) then
        return false
    end
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], string.format('%.0f', token) .. ':' .. ARGV[2], 'PX', ARGV[3])
return token
"""

# KEYS: holder. ARGV: the lease's fencing token. Returns how many keys were deleted.
_RELEASE: Final = """
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. ':' then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


@define
class RedisLock:
    """Named locks through ``client``, held until released or until their lease is over."""

    client: Redis
    prefix: str = field(default="checkout:lock:", kw_only=True)
    clock: Clock = field(kw_only=True)
    _acquire: Script = field(
        default=Factory(lambda self: self.client.register_script(_ACQUIRE), takes_self=True),
        init=False,
        repr=False,
    )
    _release: Script = field(
        default=Factory(lambda self: self.client.register_script(_RELEASE), takes_self=True),
        init=False,
        repr=False,
    )

    def acquire(self, name: str, ttl: timedelta) -> LockLease | None:
        """Take the lock ``name`` for ``ttl``; ``None`` while another lease of it is not over."""
        if ttl <= timedelta(0):
            raise ValueError(f"a lock is taken for a positive time, not {ttl}")
        now = self.clock.now()
        expires_at = now + ttl
        token = self._acquire(
            keys=[self._holder_key(name), self._fence_key(name)],
            args=[_micros(now), _micros(expires_at), max(1, math.ceil(ttl / _MILLISECOND))],
        )
        if token is None:
            return None
        return LockLease(name=name, fencing_token=int(token), expires_at=expires_at)

    def release(self, lease: LockLease) -> None:
        """Free the lock if ``lease`` still holds it; a lease taken over releases nothing."""
        self._release(keys=[self._holder_key(lease.name)], args=[lease.fencing_token])

    def _holder_key(self, name: str) -> str:
        return f"{self.prefix}{{{name}}}:lock"

    def _fence_key(self, name: str) -> str:
        return f"{self.prefix}{{{name}}}:fence"
