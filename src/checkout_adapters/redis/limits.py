"""Rate limits in Redis, shared by every process: GCRA in one Lua script, one round trip.

The generic cell rate algorithm keeps one value per key: the theoretical
arrival time (TAT), when the key's allowance would be fully used up had
every attempt come at the steady rate of ``limit`` per ``period``. An attempt
at ``now`` moves the TAT on by one interval (``period / limit``) from
``max(TAT, now)``, and is allowed if the new TAT is at most ``period`` ahead
of ``now``. So a fresh key may make ``limit`` attempts at once, then one
more every interval; after a quiet ``period`` it has its whole allowance
again. Unlike a fixed window, no burst of twice the limit fits across a
window's edge; unlike a log of attempts, it keeps one small value per key.

The key is ``{prefix}{limit.name}:{key}``, one string per limited key, so
a script touches one key and runs on any Redis Cluster slot. It holds the
TAT as ``<µs>:<remainder>``, the remainder counting ``1/limit`` µs, so the
interval adds up exactly for any limit; each hit sets the key to expire
when the TAT passes, after which the key has its whole allowance anyway.

Time is the injected clock's, passed into the script, not Redis's own:
the processes of a host agree on the time as closely as their clocks do,
and tests move a fixed clock. The library ``limits`` was not used for the
same reason: it reads the time itself, and a fixed clock could not drive it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from attrs import Factory, define, field
from redis import Redis
from redis.commands.core import Script

from checkout_core.domain.limits import RateDecision, RateLimit
from checkout_core.ports import Clock

__all__ = ["RedisRateLimiter"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
# Lua numbers are doubles: integers stay exact up to 2**53.
_EXACT: Final = 2**53

# KEYS: the limited key. ARGV: now (µs), period (µs), limit.
# Times ahead of now are counted in 1/limit µs ("ticks") so the interval is
# the whole number `period` of ticks. Returns {allowed, remaining, retry after (µs)}.
_HIT: Final = """
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local whole, part = now, 0
local stored = redis.call('GET', KEYS[1])
if stored then
    local separator = string.find(stored, ':', 1, true)
    local stored_whole = tonumber(string.sub(stored, 1, separator - 1))
    local stored_part = tonumber(string.sub(stored, separator + 1))
    if stored_whole > now or (stored_whole == now and stored_part > 0) then
        whole, part = stored_whole, stored_part
    end
end
local window = period * limit
local ahead = (whole - now) * limit + part + period
if ahead > window then
    return {0, 0, math.ceil((ahead - window) / limit)}
end
local total = part + period
whole = whole + math.floor(total / limit)
part = total % limit
redis.call('SET', KEYS[1], string.format('%.0f', whole) .. ':' .. string.format('%.0f', part),
    'PX', math.max(1, math.ceil(ahead / limit / 1000)))
return {1, math.floor((window - ahead) / period), 0}
"""


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


@define
class RedisRateLimiter:
    """Attempts counted through ``client`` under ``{prefix}{limit.name}:{key}``, by ``clock``."""

    client: Redis
    prefix: str = field(default="checkout:limit:", kw_only=True)
    clock: Clock = field(kw_only=True)
    _hit: Script = field(
        default=Factory(lambda self: self.client.register_script(_HIT), takes_self=True),
        init=False,
        repr=False,
    )

    def hit(self, limit: RateLimit, key: str) -> RateDecision:
        """Count one attempt of ``key`` under ``limit``, unless it is refused.

        A refused attempt is not counted, so a caller who keeps trying is let
        through again as soon as ``retry_after`` says.

        Raises:
            ValueError: ``limit`` is too fine to count exactly in Redis (its
                period in µs times its limit reaches 2**53: a day at
                ten thousand attempts is well within).
        """
        period = limit.period // _MICROSECOND
        if period * limit.limit >= _EXACT:
            raise ValueError(f"{limit.name}: {limit.limit} per {limit.period} is too fine")
        allowed, remaining, retry_after = self._hit(
            keys=[f"{self.prefix}{limit.name}:{key}"],
            args=[_micros(self.clock.now()), period, limit.limit],
        )
        return RateDecision(
            allowed=bool(allowed),
            remaining=int(remaining),
            retry_after=timedelta(microseconds=int(retry_after)),
        )
