from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import attrs
import pytest

from checkout_core.domain.retry import (
    DEFAULT_RETRYABLE_STATUSES,
    BreakerState,
    CircuitBreaker,
    RetryPolicy,
)

if TYPE_CHECKING:
    from collections.abc import Callable

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NAIVE = datetime(2026, 3, 1, 12, 0)  # noqa: DTZ001


def seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


# How a retry policy is configured


def test_the_default_policy_is_the_seeds_retry_config() -> None:
    policy = RetryPolicy()

    assert (
        policy.max_attempts,
        policy.initial_delay,
        policy.max_delay,
        policy.factor,
        policy.jitter,
        policy.retryable_statuses,
    ) == (3, seconds(5), seconds(30), 2.0, 0.0, frozenset({500, 502, 503, 504}))


def test_too_many_requests_is_not_retried_by_default_as_callers_honour_retry_after() -> None:
    assert 429 not in DEFAULT_RETRYABLE_STATUSES


def test_retryable_statuses_may_be_given_as_any_iterable() -> None:
    assert RetryPolicy(retryable_statuses=[503, 503, 429]).retryable_statuses == frozenset(
        {503, 429}
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"initial_delay": timedelta(0)}, "initial_delay"),
        ({"initial_delay": seconds(-1), "max_delay": seconds(-1)}, "initial_delay"),
        ({"max_delay": seconds(4)}, "must not be below initial_delay"),
        ({"factor": 0.5}, "factor"),
        ({"factor": float("inf")}, "factor must be finite"),
        ({"factor": float("nan")}, "factor must be finite"),
        ({"jitter": -0.1}, "jitter"),
        ({"jitter": 1.1}, "jitter"),
        ({"retryable_statuses": {503, 99}}, "99 is not an HTTP status code"),
        ({"retryable_statuses": {600}}, "600 is not an HTTP status code"),
    ],
)
def test_a_policy_with_a_field_out_of_range_is_refused(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**changes)  # type: ignore[arg-type]


def test_a_policy_with_a_fractional_attempt_count_is_refused() -> None:
    with pytest.raises(TypeError, match="max_attempts must be an int"):
        RetryPolicy(max_attempts=2.5)  # type: ignore[arg-type]


def test_a_policy_whose_delays_never_grow_is_allowed() -> None:
    policy = RetryPolicy(factor=1, max_delay=seconds(5), max_attempts=4)

    assert policy.schedule() == (seconds(5), seconds(5), seconds(5))


# How long a retry policy waits


def test_there_is_no_wait_before_the_first_attempt() -> None:
    assert RetryPolicy().delay_before(1) == timedelta(0)


def test_the_waits_double_from_the_initial_delay_and_are_capped_at_the_max_delay() -> None:
    policy = RetryPolicy()

    assert [policy.delay_before(attempt) for attempt in range(2, 8)] == [
        seconds(5),
        seconds(10),
        seconds(20),
        seconds(30),
        seconds(30),
        seconds(30),
    ]


def test_the_factor_sets_how_fast_the_waits_grow() -> None:
    policy = RetryPolicy(factor=3, max_delay=seconds(100))

    assert [policy.delay_before(attempt) for attempt in range(2, 6)] == [
        seconds(5),
        seconds(15),
        seconds(45),
        seconds(100),
    ]


def test_a_very_late_attempt_waits_the_max_delay_without_overflowing() -> None:
    assert RetryPolicy(factor=2).delay_before(10_000) == seconds(30)
    assert RetryPolicy(factor=1.5).delay_before(10**9) == seconds(30)


def test_jitter_takes_off_its_fraction_of_the_wait_scaled_by_the_random_fraction() -> None:
    policy = RetryPolicy(jitter=0.5)

    assert [policy.delay_before(3, random_fraction=r) for r in (0, 0.5, 1)] == [
        seconds(10),
        seconds(7.5),
        seconds(5),
    ]


def test_jitter_uses_the_middle_of_its_range_when_no_random_fraction_is_given() -> None:
    assert RetryPolicy(jitter=0.2).delay_before(2) == seconds(4.5)


def test_jitter_never_makes_a_capped_wait_longer_than_the_max_delay() -> None:
    assert RetryPolicy(jitter=1.0).delay_before(20, random_fraction=0) == seconds(30)


def test_without_jitter_the_random_fraction_changes_nothing() -> None:
    assert RetryPolicy().delay_before(3, random_fraction=0.9) == seconds(10)


@pytest.mark.parametrize("attempt", [0, -1])
def test_a_wait_before_an_attempt_numbered_below_one_is_refused(attempt: int) -> None:
    with pytest.raises(ValueError, match="attempts are numbered from 1"):
        RetryPolicy().delay_before(attempt)


@pytest.mark.parametrize("fraction", [-0.1, 1.5, float("nan")])
def test_a_random_fraction_outside_zero_to_one_is_refused(fraction: float) -> None:
    with pytest.raises(ValueError, match="random_fraction must be within"):
        RetryPolicy(jitter=0.5).delay_before(2, random_fraction=fraction)


def test_the_default_schedule_is_two_retries_after_5_and_10_seconds() -> None:
    assert RetryPolicy().schedule() == (seconds(5), seconds(10))


def test_the_schedule_has_one_wait_per_retry_and_ignores_jitter() -> None:
    assert RetryPolicy(max_attempts=6, jitter=0.9).schedule() == (
        seconds(5),
        seconds(10),
        seconds(20),
        seconds(30),
        seconds(30),
    )


def test_a_policy_of_a_single_attempt_has_an_empty_schedule() -> None:
    assert RetryPolicy(max_attempts=1).schedule() == ()


# Whether a retry policy tries again


def test_a_retryable_failure_before_the_last_attempt_is_retried() -> None:
    policy = RetryPolicy()

    assert policy.should_retry(1, retryable=True)
    assert policy.should_retry(2, retryable=True)


def test_a_failure_of_the_last_attempt_is_not_retried() -> None:
    assert not RetryPolicy().should_retry(3, retryable=True)


def test_a_failure_that_is_not_retryable_is_not_retried() -> None:
    assert not RetryPolicy().should_retry(1, retryable=False)


def test_asking_about_an_attempt_numbered_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="attempts are numbered from 1"):
        RetryPolicy().should_retry(0, retryable=True)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_the_servers_transient_failures_are_retryable(status: int) -> None:
    assert RetryPolicy().is_retryable_status(status)


@pytest.mark.parametrize("status", [200, 400, 404, 408, 409, 422, 429, 501])
def test_other_statuses_are_not_retryable_by_default(status: int) -> None:
    assert not RetryPolicy().is_retryable_status(status)


def test_the_retryable_statuses_can_be_configured() -> None:
    policy = RetryPolicy(retryable_statuses={408})

    assert (policy.is_retryable_status(408), policy.is_retryable_status(503)) == (True, False)


# What a circuit breaker may hold


def test_a_new_breaker_is_closed_with_the_seeds_numbers() -> None:
    breaker = CircuitBreaker()

    assert (
        breaker.state,
        breaker.failure_threshold,
        breaker.recovery_timeout,
        breaker.consecutive_failures,
        breaker.opened_at,
        breaker.probe_started_at,
    ) == (BreakerState.CLOSED, 5, seconds(60), 0, None, None)


@pytest.mark.parametrize(
    ("changes", "exception", "message"),
    [
        ({"failure_threshold": 0}, ValueError, "failure_threshold"),
        ({"failure_threshold": True}, TypeError, "failure_threshold must be an int"),
        ({"recovery_timeout": timedelta(0)}, ValueError, "recovery_timeout"),
        ({"consecutive_failures": -1}, ValueError, "consecutive_failures"),
        ({"opened_at": NOW}, ValueError, "a closed breaker has no opening"),
        ({"state": BreakerState.OPEN}, ValueError, "an open breaker has an opening time"),
        (
            {"state": BreakerState.OPEN, "opened_at": NOW, "probe_started_at": NOW},
            ValueError,
            "an open breaker has an opening time and no probe",
        ),
        (
            {"state": BreakerState.HALF_OPEN, "opened_at": NOW},
            ValueError,
            "a half-open breaker has an opening time and a probe time",
        ),
        ({"state": BreakerState.OPEN, "opened_at": NAIVE}, ValueError, "opened_at must be"),
        ({"state": BreakerState.OPEN, "opened_at": "2026-03-01"}, TypeError, "opened_at must be"),
    ],
)
def test_a_breaker_that_the_rules_could_not_produce_is_refused(
    changes: dict[str, object], exception: type[Exception], message: str
) -> None:
    with pytest.raises(exception, match=message):
        CircuitBreaker(**changes)  # type: ignore[arg-type]


def open_breaker(at: datetime = NOW) -> CircuitBreaker:
    return CircuitBreaker(state=BreakerState.OPEN, consecutive_failures=5, opened_at=at)


# How a circuit breaker moves


def test_a_closed_breaker_lets_calls_through_unchanged() -> None:
    breaker = CircuitBreaker(consecutive_failures=3)

    assert breaker.allow(NOW) == (True, breaker)


def test_failures_below_the_threshold_are_counted_and_keep_the_breaker_closed() -> None:
    breaker = CircuitBreaker()
    for _ in range(4):
        breaker = breaker.record_failure(NOW)

    assert (breaker.state, breaker.consecutive_failures) == (BreakerState.CLOSED, 4)


def test_the_failure_that_reaches_the_threshold_opens_the_breaker() -> None:
    breaker = CircuitBreaker(consecutive_failures=4)

    opened = breaker.record_failure(NOW)

    assert opened == attrs.evolve(
        breaker, state=BreakerState.OPEN, consecutive_failures=5, opened_at=NOW
    )


def test_a_success_in_a_closed_breaker_resets_the_failure_count() -> None:
    assert CircuitBreaker(consecutive_failures=4).record_success(NOW) == CircuitBreaker()


def test_an_open_breaker_refuses_calls_until_the_recovery_timeout_has_passed() -> None:
    breaker = open_breaker()

    assert breaker.allow(NOW) == (False, breaker)
    assert breaker.allow(NOW + seconds(59.999)) == (False, breaker)


def test_an_open_breaker_lets_one_probe_through_once_the_recovery_timeout_has_passed() -> None:
    breaker = open_breaker()

    allowed, probing = breaker.allow(NOW + seconds(60))

    assert allowed
    assert probing == attrs.evolve(
        breaker, state=BreakerState.HALF_OPEN, probe_started_at=NOW + seconds(60)
    )


def test_a_half_open_breaker_refuses_other_calls_while_its_probe_is_in_flight() -> None:
    _, probing = open_breaker().allow(NOW + seconds(60))

    assert probing.allow(NOW + seconds(61)) == (False, probing)
    assert probing.allow(NOW + seconds(119)) == (False, probing)


def test_a_probe_older_than_the_recovery_timeout_is_replaced_by_a_new_probe() -> None:
    _, probing = open_breaker().allow(NOW + seconds(60))

    allowed, reprobing = probing.allow(NOW + seconds(120))

    assert allowed
    assert reprobing == attrs.evolve(probing, probe_started_at=NOW + seconds(120))


def test_a_successful_probe_closes_the_breaker_and_resets_it() -> None:
    _, probing = open_breaker().allow(NOW + seconds(60))

    assert probing.record_success(NOW + seconds(61)) == CircuitBreaker()


def test_a_failed_probe_reopens_the_breaker_from_the_time_it_failed() -> None:
    _, probing = open_breaker().allow(NOW + seconds(60))

    reopened = probing.record_failure(NOW + seconds(62))

    assert reopened == attrs.evolve(
        probing,
        state=BreakerState.OPEN,
        consecutive_failures=6,
        opened_at=NOW + seconds(62),
        probe_started_at=None,
    )
    assert reopened.allow(NOW + seconds(121)) == (False, reopened)


def test_a_late_failure_while_open_is_counted_but_does_not_prolong_the_wait() -> None:
    breaker = open_breaker()

    later = breaker.record_failure(NOW + seconds(30))

    assert later == attrs.evolve(breaker, consecutive_failures=6)


def test_a_success_while_open_closes_the_breaker() -> None:
    assert open_breaker().record_success(NOW + seconds(1)) == CircuitBreaker()


def test_a_breaker_with_its_own_threshold_and_timeout_uses_them() -> None:
    breaker = CircuitBreaker(failure_threshold=2, recovery_timeout=seconds(10))

    opened = breaker.record_failure(NOW).record_failure(NOW + seconds(1))

    assert opened.state is BreakerState.OPEN
    assert opened.allow(NOW + seconds(10))[0] is False
    assert opened.allow(NOW + seconds(11))[0] is True


# When a circuit breaker may be tried again


def test_a_closed_breaker_can_be_retried_at_once() -> None:
    assert CircuitBreaker(consecutive_failures=4).retry_after(NOW) == timedelta(0)


def test_an_open_breaker_can_be_retried_when_its_recovery_timeout_has_passed() -> None:
    breaker = open_breaker()

    assert breaker.retry_after(NOW + seconds(15)) == seconds(45)
    assert breaker.retry_after(NOW + seconds(90)) == timedelta(0)


def test_a_half_open_breaker_can_be_retried_when_its_probe_is_given_up_for_dead() -> None:
    _, probing = open_breaker().allow(NOW + seconds(60))

    assert probing.retry_after(NOW + seconds(70)) == seconds(50)
    assert probing.retry_after(NOW + seconds(200)) == timedelta(0)


@pytest.mark.parametrize(
    "transition",
    [
        lambda breaker: breaker.allow(NAIVE),
        lambda breaker: breaker.record_success(NAIVE),
        lambda breaker: breaker.record_failure(NAIVE),
        lambda breaker: breaker.retry_after(NAIVE),
    ],
)
def test_a_transition_at_a_naive_time_is_refused(
    transition: Callable[[CircuitBreaker], object],
) -> None:
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        transition(CircuitBreaker())
