"""Rate limits: how many attempts a caller may make in a window, and the verdict on one."""

from __future__ import annotations

from datetime import timedelta

from attrs import field, frozen, validators

__all__ = ["RateDecision", "RateLimit"]


@frozen
class RateLimit:
    """At most ``limit`` attempts per ``period`` for each key (a cart, a user, an address)."""

    name: str
    limit: int = field(validator=validators.ge(1))
    period: timedelta = field(validator=validators.gt(timedelta(0)))


@frozen
class RateDecision:
    """Whether one attempt is allowed, how many remain, and when to try again if not."""

    allowed: bool
    remaining: int
    retry_after: timedelta = timedelta(0)
