"""Rate limits at the service seam: each attempt counted, the first refusal answered 429."""

from __future__ import annotations

import math

from checkout_core.domain.limits import RateLimit
from checkout_core.errors import TooManyAttempts
from checkout_core.services.settings import CheckoutPorts

__all__ = ["enforce"]


def enforce(ports: CheckoutPorts, *checks: tuple[RateLimit, str | None]) -> None:
    """Count one attempt under each ``(limit, key)`` with a key; refuse on the first limit hit.

    Nothing is counted when the host configured no rate limiter.
    """
    limiter = ports.rate_limiter
    if limiter is None:
        return
    for limit, key in checks:
        if key is None:
            continue
        decision = limiter.hit(limit, key)
        if not decision.allowed:
            wait = math.ceil(decision.retry_after.total_seconds())
            raise TooManyAttempts(f"{limit.name}: try again in {wait} s", retry_after_seconds=wait)
