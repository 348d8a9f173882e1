from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs
from hypothesis import given
from hypothesis import strategies as st

from checkout_core.domain.idempotency import fingerprint
from checkout_core.domain.retry import BreakerState, CircuitBreaker, RetryPolicy
from tests.strategies import aware_datetimes, json_requests

if TYPE_CHECKING:
    import random

_ZERO = timedelta(0)

delays = st.integers(min_value=1, max_value=3_600_000).map(
    lambda milliseconds: timedelta(milliseconds=milliseconds)
)
attempts = st.integers(min_value=1, max_value=200) | st.integers(min_value=1, max_value=10**9)
random_fractions = st.floats(min_value=0, max_value=1, exclude_max=True)


@st.composite
def retry_policies(draw: st.DrawFn, *, with_jitter: bool = True) -> RetryPolicy:
    initial_delay = draw(delays)
    return RetryPolicy(
        max_attempts=draw(st.integers(min_value=1, max_value=20)),
        initial_delay=initial_delay,
        factor=draw(st.integers(min_value=1, max_value=10) | st.floats(min_value=1, max_value=10)),
        max_delay=initial_delay
        + draw(st.integers(min_value=0, max_value=10**9)) * timedelta.resolution,
        jitter=draw(st.floats(min_value=0, max_value=1)) if with_jitter else 0.0,
    )


breakers = st.builds(
    CircuitBreaker,
    failure_threshold=st.integers(min_value=1, max_value=10),
    recovery_timeout=st.integers(min_value=1, max_value=600).map(
        lambda seconds: timedelta(seconds=seconds)
    ),
)


class Event(enum.Enum):
    ALLOW = "allow"
    SUCCESS = "success"
    FAILURE = "failure"


events = st.lists(
    st.tuples(
        st.sampled_from(Event),
        st.integers(min_value=0, max_value=1_200_000).map(
            lambda milliseconds: timedelta(milliseconds=milliseconds)
        ),
    ),
    max_size=60,
)


# Retry waits


@given(retry_policies(with_jitter=False), attempts, attempts)
def test_without_jitter_a_later_attempt_never_waits_less(
    policy: RetryPolicy, first: int, second: int
) -> None:
    earlier, later = sorted((first, second))

    assert policy.delay_before(earlier) <= policy.delay_before(later)


@given(retry_policies(), attempts, random_fractions)
def test_no_wait_is_longer_than_the_max_delay(
    policy: RetryPolicy, attempt: int, fraction: float
) -> None:
    assert _ZERO <= policy.delay_before(attempt, fraction) <= policy.max_delay


@given(retry_policies(), st.integers(min_value=2, max_value=200), random_fractions)
def test_jitter_keeps_a_wait_between_its_shortened_and_its_full_length(
    policy: RetryPolicy, attempt: int, fraction: float
) -> None:
    full = attrs.evolve(policy, jitter=0.0).delay_before(attempt)

    assert full * (1 - policy.jitter) <= policy.delay_before(attempt, fraction) <= full


@given(retry_policies())
def test_the_schedule_lists_the_full_wait_before_every_retry(policy: RetryPolicy) -> None:
    assert policy.schedule() == tuple(
        attrs.evolve(policy, jitter=0.0).delay_before(attempt)
        for attempt in range(2, policy.max_attempts + 1)
    )


# Circuit breaker


@given(breakers, aware_datetimes(), st.floats(min_value=0, max_value=1, exclude_max=True))
def test_an_open_breaker_lets_no_call_through_before_the_recovery_timeout(
    breaker: CircuitBreaker, opened: datetime, fraction_of_timeout: float
) -> None:
    for _ in range(breaker.failure_threshold):
        breaker = breaker.record_failure(opened)
    now = opened + breaker.recovery_timeout * fraction_of_timeout
    if now - opened >= breaker.recovery_timeout:
        now = opened + breaker.recovery_timeout - timedelta.resolution

    assert breaker.allow(now) == (False, breaker)


@given(breakers, aware_datetimes(), events)
def test_any_sequence_of_events_keeps_the_breaker_in_a_state_the_rules_define(
    breaker: CircuitBreaker, start: datetime, sequence: list[tuple[Event, timedelta]]
) -> None:
    now = start
    for event, step in sequence:
        now += step
        before = breaker
        match event:
            case Event.ALLOW:
                allowed, breaker = breaker.allow(now)
                assert allowed is (before.retry_after(now) == _ZERO)
                if before.state is BreakerState.OPEN:
                    assert before.opened_at is not None
                    assert allowed is (now - before.opened_at >= before.recovery_timeout)
            case Event.SUCCESS:
                breaker = breaker.record_success(now)
            case Event.FAILURE:
                breaker = breaker.record_failure(now)

        assert breaker.state in set(BreakerState)
        assert breaker.consecutive_failures >= 0
        assert (breaker.opened_at is None) is (breaker.state is BreakerState.CLOSED)
        assert (breaker.probe_started_at is None) is (breaker.state is not BreakerState.HALF_OPEN)
        assert breaker.retry_after(now) <= breaker.recovery_timeout
        # An adapter stores the plain fields and builds the breaker back from them.
        assert CircuitBreaker(**attrs.asdict(breaker, recurse=False)) == breaker


# Request fingerprints


def _shuffled(value: object, rng: random.Random) -> object:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {name: _shuffled(item, rng) for name, item in items}
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


@given(json_requests(), st.randoms(use_true_random=False))
def test_the_fingerprint_is_the_same_for_any_key_order(
    request: dict[str, object], rng: random.Random
) -> None:
    reordered = _shuffled(request, rng)
    assert isinstance(reordered, dict)

    assert fingerprint(reordered) == fingerprint(request)
