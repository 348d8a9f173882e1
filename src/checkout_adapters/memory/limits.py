"""Rate limits counted in this process's memory with GCRA, timed by an injected clock.

The same algorithm as the Redis adapter (see
:mod:`checkout_adapters.redis.limits`): one theoretical arrival time (TAT)
per key, moved on by ``period / limit`` per allowed attempt; an attempt is
allowed while the new TAT is at most ``period`` ahead of now. Times are
exact fractions of a microsecond, so the interval adds up exactly.
"""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Final

from attrs import define, field

from checkout_core.domain.limits import RateDecision, RateLimit
from checkout_core.ports import Clock

__all__ = ["InMemoryRateLimiter"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


@define
class InMemoryRateLimiter:
    """Attempts per ``(limit name, key)``, counted against ``clock``.

    A key whose TAT has passed has its whole allowance again, so it is
    forgotten: when more than ``max_keys`` keys are kept, those are dropped,
    and a process limiting by client address does not grow without bound.
    """

    clock: Clock
    max_keys: int = 100_000
    _tats: dict[tuple[str, str], Fraction] = field(factory=dict, init=False, repr=False)
    _mutex: threading.Lock = field(factory=threading.Lock, init=False, repr=False)

    def hit(self, limit: RateLimit, key: str) -> RateDecision:
        """Count one attempt of ``key`` under ``limit``, unless it is refused.

        A refused attempt is not counted, so a caller who keeps trying is let
        through again as soon as ``retry_after`` says.
        """
        now = _micros(self.clock.now())
        period = limit.period // _MICROSECOND
        interval = Fraction(period, limit.limit)
        slot = (limit.name, key)
        with self._mutex:
            tat = max(self._tats.get(slot, Fraction(now)), Fraction(now)) + interval
            ahead = tat - now
            if ahead > period:
                wait = math.ceil(ahead - period)
                return RateDecision(
                    allowed=False, remaining=0, retry_after=timedelta(microseconds=wait)
                )
            self._tats[slot] = tat
            if len(self._tats) > self.max_keys:
                self._forget_passed(now)
            return RateDecision(allowed=True, remaining=math.floor((period - ahead) / interval))

    def _forget_passed(self, now: int) -> None:
        passed = [slot for slot, tat in self._tats.items() if tat <= now]
        for slot in passed:
            del self._tats[slot]
