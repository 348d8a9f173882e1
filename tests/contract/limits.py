"""The contract of ``ports.RateLimiter``: a steady rate with a burst of the whole limit (GCRA).

An adapter's test module subclasses :class:`RateLimiterContract` and provides
the fixture ``limiter(clock: FixedClock) -> RateLimiter``: a limiter that has
counted nothing and reads the time from ``clock``, which the tests move.

The semantics are GCRA's: a fresh key may make ``limit`` attempts at once,
then one more every ``period / limit``; after a quiet ``period`` its whole
allowance is back. A refused attempt is not counted.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from checkout_adapters.memory import FixedClock
from checkout_core.domain.limits import RateDecision, RateLimit
from checkout_core.ports import RateLimiter
from tests.contract.unit_of_work import NOW

__all__ = ["RateLimiterContract"]

COUPONS = RateLimit("coupon_attempts_per_cart", limit=3, period=timedelta(minutes=1))
ORDERS = RateLimit("orders_per_user", limit=3, period=timedelta(minutes=1))
_INTERVAL = timedelta(seconds=20)
_MICROSECOND = timedelta(microseconds=1)


def _allowed(limiter: RateLimiter, limit: RateLimit, key: str, times: int) -> list[int]:
    remaining: list[int] = []
    for _ in range(times):
        decision = limiter.hit(limit, key)
        assert decision.allowed, f"attempt {len(remaining) + 1} of {times} was refused"
        assert decision.retry_after == timedelta(0)
        remaining.append(decision.remaining)
    return remaining


def _refused(decision: RateDecision) -> timedelta:
    assert not decision.allowed
    assert decision.remaining == 0
    assert decision.retry_after > timedelta(0)
    return decision.retry_after


class RateLimiterContract:
    """What every ``RateLimiter`` adapter does, with time told by a fixed clock.

    Subclasses provide the fixture ``limiter(clock: FixedClock) -> RateLimiter``;
    ``clock`` is this contract's fixture, starting at ``NOW``.
    """

    @pytest.fixture
    def clock(self) -> FixedClock:
        """The time the limiter reads; tests move it."""
        return FixedClock(NOW)

    @pytest.fixture
    def limiter(self, clock: FixedClock) -> RateLimiter:
        """A limiter that has counted nothing, reading ``clock``; every subclass provides it."""
        raise NotImplementedError

    def test_a_fresh_key_is_allowed_its_whole_limit_and_remaining_counts_down(
        self, limiter: RateLimiter
    ) -> None:
        assert _allowed(limiter, COUPONS, "cart_1", 3) == [2, 1, 0]

    def test_the_attempt_past_the_limit_is_refused_until_one_interval_has_passed(
        self, limiter: RateLimiter
    ) -> None:
        _allowed(limiter, COUPONS, "cart_1", 3)

        assert _refused(limiter.hit(COUPONS, "cart_1")) == _INTERVAL

    def test_retry_after_says_exactly_when_the_next_attempt_is_allowed(
        self, limiter: RateLimiter, clock: FixedClock
    ) -> None:
        _allowed(limiter, COUPONS, "cart_1", 3)
        clock.advance(timedelta(seconds=5))
        wait = _refused(limiter.hit(COUPONS, "cart_1"))
        assert wait == _INTERVAL - timedelta(seconds=5)

        clock.advance(wait - _MICROSECOND)
        assert _refused(limiter.hit(COUPONS, "cart_1")) == _MICROSECOND
        clock.advance(_MICROSECOND)
        assert _allowed(limiter, COUPONS, "cart_1", 1) == [0]
        _refused(limiter.hit(COUPONS, "cart_1"))

    def test_refused_attempts_are_not_counted(
        self, limiter: RateLimiter, clock: FixedClock
    ) -> None:
        _allowed(limiter, COUPONS, "cart_1", 3)
        waits = [_refused(limiter.hit(COUPONS, "cart_1")) for _ in range(10)]

        clock.advance(waits[-1])

        assert waits == [_INTERVAL] * 10
        assert _allowed(limiter, COUPONS, "cart_1", 1) == [0]

    def test_after_a_quiet_period_the_whole_limit_is_allowed_again(
        self, limiter: RateLimiter, clock: FixedClock
    ) -> None:
        _allowed(limiter, COUPONS, "cart_1", 3)
        _refused(limiter.hit(COUPONS, "cart_1"))

        clock.advance(COUPONS.period)

        assert _allowed(limiter, COUPONS, "cart_1", 3) == [2, 1, 0]
        _refused(limiter.hit(COUPONS, "cart_1"))

    def test_past_the_burst_one_attempt_is_allowed_per_interval(
        self, limiter: RateLimiter, clock: FixedClock
    ) -> None:
        _allowed(limiter, COUPONS, "cart_1", 3)
        for _ in range(5):
            clock.advance(_INTERVAL)
            assert _allowed(limiter, COUPONS, "cart_1", 1) == [0]
            _refused(limiter.hit(COUPONS, "cart_1"))

    def test_a_limit_that_does_not_divide_its_period_keeps_its_rate_exactly(
        self, limiter: RateLimiter, clock: FixedClock
    ) -> None:
        limit = RateLimit("three_per_ten_seconds", limit=3, period=timedelta(seconds=10))
        allowed = 0
        for _ in range(100):
            allowed += limiter.hit(limit, "usr_1").allowed
            clock.advance(timedelta(seconds=1))
        allowed += limiter.hit(limit, "usr_1").allowed

        # The burst of 3, then one per 10/3 s over the 100 s: 30 more.
        assert allowed == 33

    def test_a_limit_of_one_waits_a_whole_period(self, limiter: RateLimiter) -> None:
        limit = RateLimit("one_per_hour", limit=1, period=timedelta(hours=1))

        assert _allowed(limiter, limit, "usr_1", 1) == [0]
        assert _refused(limiter.hit(limit, "usr_1")) == timedelta(hours=1)

    def test_keys_are_counted_apart(self, limiter: RateLimiter) -> None:
        _allowed(limiter, COUPONS, "::1", 3)
        _refused(limiter.hit(COUPONS, "::1"))

        assert _allowed(limiter, COUPONS, "::2", 3) == [2, 1, 0]

    def test_limits_are_counted_apart_for_the_same_key(self, limiter: RateLimiter) -> None:
        _allowed(limiter, COUPONS, "usr_1", 3)
        _refused(limiter.hit(COUPONS, "usr_1"))

        assert _allowed(limiter, ORDERS, "usr_1", 3) == [2, 1, 0]
