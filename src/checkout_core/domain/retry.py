"""Retry schedules and circuit-breaker rules, as pure values with the clock passed in.

:class:`RetryPolicy` says how long to wait before each attempt of a call
that failed with a transient error (exponential backoff, capped, with
optional jitter). :class:`CircuitBreaker` says whether a call to a
dependency that keeps failing may be tried at all. Neither sleeps, reads
the clock or draws random numbers: callers pass ``now`` and any random
fraction, so the same rules serve a worker, a test and a Redis-shared
breaker alike.
"""

from __future__ import annotations

import enum
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from attrs import Attribute, evolve, field, frozen, validators

from checkout_core.domain.validators import optional_aware_state, require_aware

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "DEFAULT_RETRYABLE_STATUSES",
    "BreakerState",
    "CircuitBreaker",
    "RetryPolicy",
]

DEFAULT_RETRYABLE_STATUSES: Final = frozenset({500, 502, 503, 504})
"""The HTTP statuses worth retrying by default: the server's transient failures.

429 is left out on purpose: a caller that is rate limited honours the
response's ``Retry-After`` rather than this schedule.
"""

_ZERO: Final = timedelta(0)


def _status_set(statuses: Iterable[int]) -> frozenset[int]:
    return frozenset(statuses)


def _http_statuses(_instance: object, _attribute: object, statuses: Iterable[object]) -> None:
    for status in statuses:
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"{status!r} is not an HTTP status code")


def _integer(_instance: object, attribute: Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{attribute.name} must be an int, not {type(value).__name__}")


def _finite(_instance: object, attribute: Attribute[float], value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{attribute.name} must be finite, not {value}")


def _not_below_initial_delay(
    instance: RetryPolicy, _attribute: object, max_delay: timedelta
) -> None:
    if max_delay < instance.initial_delay:
        raise ValueError(
            f"max_delay ({max_delay}) must not be below initial_delay ({instance.initial_delay})"
        )


def _require_attempt(attempt: int) -> None:
    if attempt < 1:
        raise ValueError(f"attempts are numbered from 1, not {attempt}")


@frozen
class RetryPolicy:
    """When to try a failed call again, and how long to wait first.

    Attempt 1 is the first call; attempt 2 is the first retry. The wait
    before attempt ``n`` is ``initial_delay * factor ** (n - 2)``, capped at
    ``max_delay``; with the defaults that is 5 s, then 10 s, and no third
    retry. ``jitter`` is the fraction of each wait that may be randomised
    away, so that clients failing together do not retry together.

    Raises:
        ValueError: from the constructor, when a field is out of range.
    """

    max_attempts: int = field(default=3, validator=[_integer, validators.ge(1)])
    """How many attempts in all, the first call included."""
    initial_delay: timedelta = field(default=timedelta(seconds=5), validator=validators.gt(_ZERO))
    """The wait before the first retry."""
    factor: float = field(default=2.0, validator=[_finite, validators.ge(1)])
    """How much longer each wait is than the one before."""
    max_delay: timedelta = field(default=timedelta(seconds=30), validator=_not_below_initial_delay)
    """The longest wait, whatever the attempt."""
    jitter: float = field(default=0.0, validator=[validators.ge(0), validators.le(1)])
    """The fraction of a wait that may be randomised away, from 0 to 1."""
    retryable_statuses: frozenset[int] = field(
        default=DEFAULT_RETRYABLE_STATUSES, converter=_status_set, validator=_http_statuses
    )
    """The HTTP statuses of a failed call that are worth another attempt."""

    def delay_before(self, attempt: int, random_fraction: float = 0.5) -> timedelta:
        """The wait before attempt number ``attempt`` (zero before the first).

        With jitter ``j`` the wait ``d`` becomes ``d * (1 - j * random_fraction)``,
        somewhere in ``[d * (1 - j), d]``: jitter only ever shortens a wait,
        so it never exceeds ``max_delay``. Pass a fresh ``random.random()``
        per call to spread clients out; the default takes the middle.

        Raises:
            ValueError: ``attempt`` is below 1, or ``random_fraction`` is
                outside ``[0, 1]``.
        """
        _require_attempt(attempt)
        if not 0 <= random_fraction <= 1:
            raise ValueError(f"random_fraction must be within [0, 1], not {random_fraction}")
        if attempt == 1:
            return _ZERO
        delay = self._capped_delay(attempt)
        return delay * (1 - self.jitter * random_fraction)

    def _capped_delay(self, attempt: int) -> timedelta:
        # The growth is checked in float seconds first: factor ** n overflows a
        # float, and a timedelta, long before attempt numbers run out.
        try:
            growth = float(self.factor) ** (attempt - 2)
        except OverflowError:
            return self.max_delay
        if self.initial_delay.total_seconds() * growth >= self.max_delay.total_seconds():
            return self.max_delay
        return min(self.initial_delay * growth, self.max_delay)

    def should_retry(self, attempt: int, *, retryable: bool) -> bool:
        """Whether to try again after attempt number ``attempt`` failed.

        Raises:
            ValueError: ``attempt`` is below 1.
        """
        _require_attempt(attempt)
        return retryable and attempt < self.max_attempts

    def is_retryable_status(self, status: int) -> bool:
        """Whether a call that answered with HTTP ``status`` is worth another attempt."""
        return status in self.retryable_statuses

    def schedule(self) -> tuple[timedelta, ...]:
        """The waits before each retry, without jitter (the longest each can be)."""
        return tuple(
            self.delay_before(attempt, random_fraction=0)
            for attempt in range(2, self.max_attempts + 1)
        )


class BreakerState(enum.StrEnum):
    """Whether a circuit breaker lets calls through."""

    CLOSED = "closed"
    """Calls go through; consecutive failures are counted."""
    OPEN = "open"
    """Calls are refused until the recovery timeout has passed."""
    HALF_OPEN = "half_open"
    """One probe call is let through to see whether the dependency recovered."""


@frozen
class CircuitBreaker:
    """The rules and the state of one circuit breaker, as a plain value.

    ``failure_threshold`` consecutive failures open the breaker; after
    ``recovery_timeout`` one probe call is let through (half open), and its
    outcome closes or reopens the breaker. Every transition returns a new
    breaker. The fields are plain values (an enum string, integers,
    datetimes, a duration) so that an adapter can keep the breaker in
    process or share it between processes through Redis.

    Raises:
        ValueError: from the constructor, when a field is out of range or the
            times do not fit the state.
    """

    failure_threshold: int = field(default=5, validator=[_integer, validators.ge(1)])
    """How many consecutive failures open the breaker."""
    recovery_timeout: timedelta = field(
        default=timedelta(seconds=60), validator=validators.gt(_ZERO)
    )
    """How long the breaker stays open before a probe, and how long a probe may take."""
    state: BreakerState = BreakerState.CLOSED
    """Whether calls are let through."""
    consecutive_failures: int = field(default=0, validator=[_integer, validators.ge(0)])
    """Failures since the last success."""
    opened_at: datetime | None = field(default=None, validator=optional_aware_state)
    """When the breaker last opened; ``None`` while closed."""
    probe_started_at: datetime | None = field(default=None, validator=optional_aware_state)
    """When the probe in flight started; set only while half open."""

    def __attrs_post_init__(self) -> None:
        # A breaker read back from shared storage must be one the rules could produce.
        if self.state is BreakerState.CLOSED and (
            self.opened_at is not None or self.probe_started_at is not None
        ):
            raise ValueError("a closed breaker has no opening or probe time")
        if self.state is BreakerState.OPEN and (
            self.opened_at is None or self.probe_started_at is not None
        ):
            raise ValueError("an open breaker has an opening time and no probe")
        if self.state is BreakerState.HALF_OPEN and (
            self.opened_at is None or self.probe_started_at is None
        ):
            raise ValueError("a half-open breaker has an opening time and a probe time")

    def allow(self, now: datetime) -> tuple[bool, CircuitBreaker]:
        """Whether a call may go through at ``now``, and the breaker after deciding.

        A closed breaker lets every call through. An open one refuses calls
        until ``recovery_timeout`` has passed since it opened, then lets one
        probe through and turns half open. While that probe is in flight
        other calls are refused, unless it started ``recovery_timeout`` ago
        or more: its caller has most likely died without reporting, and a
        breaker waiting for it would stay half open forever, so a new probe
        takes its place.

        Raises:
            ValueError: ``now`` is naive.
        """
        require_aware(now, "now")
        if self.state is BreakerState.CLOSED:
            return True, self
        if self.retry_after(now) > _ZERO:
            return False, self
        return True, evolve(self, state=BreakerState.HALF_OPEN, probe_started_at=now)

    def record_success(self, now: datetime) -> CircuitBreaker:
        """The breaker after a call succeeded at ``now``: closed, with no failures.

        A success closes the breaker from any state, since it shows the
        dependency answering.

        Raises:
            ValueError: ``now`` is naive.
        """
        require_aware(now, "now")
        return evolve(
            self,
            state=BreakerState.CLOSED,
            consecutive_failures=0,
            opened_at=None,
            probe_started_at=None,
        )

    def record_failure(self, now: datetime) -> CircuitBreaker:
        """The breaker after a call failed at ``now``.

        A closed breaker counts the failure and opens at the threshold; a
        failed probe reopens a half-open breaker, so the recovery timeout
        starts again. An open breaker only counts: a call let through
        before it opened and failing late does not prolong the wait.

        Raises:
            ValueError: ``now`` is naive.
        """
        require_aware(now, "now")
        failures = self.consecutive_failures + 1
        if self.state is BreakerState.OPEN:
            return evolve(self, consecutive_failures=failures)
        if self.state is BreakerState.CLOSED and failures < self.failure_threshold:
            return evolve(self, consecutive_failures=failures)
        return evolve(
            self,
            state=BreakerState.OPEN,
            consecutive_failures=failures,
            opened_at=now,
            probe_started_at=None,
        )

    def retry_after(self, now: datetime) -> timedelta:
        """How long from ``now`` until a call may be let through (zero when it may now).

        Raises:
            ValueError: ``now`` is naive.
        """
        require_aware(now, "now")
        if self.state is BreakerState.CLOSED:
            return _ZERO
        since = self.opened_at if self.state is BreakerState.OPEN else self.probe_started_at
        assert since is not None  # noqa: S101 - __attrs_post_init__ rules out None here
        return max(since + self.recovery_timeout - now, _ZERO)
