"""A payment gateway behind retries and a circuit breaker.

:class:`GuardedGateway` wraps any :class:`~checkout_core.ports.PaymentGateway`.
A call that fails with a retryable :class:`~checkout_core.domain.gateway.GatewayError`
is tried again on the seed's schedule (3 attempts, 5 s then 10 s, 30 s at
most) and every such failure counts against a circuit breaker (5 failures
open it for 60 s, then one probe decides). While the breaker is open no call
reaches the provider, :meth:`GuardedGateway.available` says so, and order
creation answers "payments temporarily unavailable" without creating
anything. A refusal that retrying cannot fix (a 400) is raised at once and
says nothing about the provider's health. Verifying webhooks needs no
network and is never refused.

The breaker lives in a :class:`~checkout_core.ports.BreakerStore`: in the
process by default, shared by every process when it is kept in Redis.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from operator import methodcaller
from typing import TypeVar

from attrs import define, field

from checkout_adapters.memory.breakers import InMemoryBreakerStore
from checkout_core.domain.gateway import (
    GatewayError,
    PaymentSession,
    PaymentSessionRequest,
    ProviderStatus,
    RefundReceipt,
    RefundRequest,
    WebhookEvent,
)
from checkout_core.domain.retry import CircuitBreaker, RetryPolicy
from checkout_core.ports import BreakerStore, Clock, PaymentGateway

__all__ = ["GuardedGateway"]

T = TypeVar("T")


@define
class GuardedGateway:
    """``inner`` behind in-process retries and a circuit breaker kept in ``breakers``."""

    inner: PaymentGateway
    clock: Clock
    breakers: BreakerStore = field(factory=InMemoryBreakerStore)
    policy: RetryPolicy = field(factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random

    @property
    def provider(self) -> str:
        """The wrapped provider's name."""
        return self.inner.provider

    @property
    def breaker_name(self) -> str:
        """The key of this provider's breaker in the store."""
        return f"gateway:{self.inner.provider}"

    def available(self) -> bool:
        """Whether a call would be let through now (without taking the probe)."""
        allowed, _ = self.breakers.get(self.breaker_name).allow(self.clock.now())
        return allowed and self.inner.available()

    def create_session(self, request: PaymentSessionRequest) -> PaymentSession:
        """Open a session through the guard; the request's idempotency key makes retries safe."""
        return self._call(lambda: self.inner.create_session(request))

    def fetch_status(self, provider_ref: str) -> ProviderStatus:
        """Ask the provider through the guard."""
        return self._call(lambda: self.inner.fetch_status(provider_ref))

    def refund(self, request: RefundRequest) -> RefundReceipt:
        """Refund through the guard; the request's idempotency key makes retries safe."""
        return self._call(lambda: self.inner.refund(request))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify and read a webhook: local work, never refused by the breaker."""
        return self.inner.parse_webhook(headers, body)

    def _call(self, call: Callable[[], T]) -> T:
        attempt = 1
        while True:
            now = self.clock.now()
            if not self.breakers.update(self.breaker_name, methodcaller("allow", now)):
                wait = self.breakers.get(self.breaker_name).retry_after(now)
                raise GatewayError(
                    f"{self.provider} is unavailable: its circuit breaker is open for {wait}",
                    retryable=True,
                    provider=self.provider,
                )
            try:
                result = call()
            except GatewayError as fault:
                if not fault.retryable:
                    raise
                self._record(methodcaller("record_failure", self.clock.now()))
                if not self.policy.should_retry(attempt, retryable=True):
                    raise
                attempt += 1
                self.sleep(self.policy.delay_before(attempt, self.jitter()).total_seconds())
                continue
            self._record(methodcaller("record_success", self.clock.now()))
            return result

    def _record(self, change: Callable[[CircuitBreaker], CircuitBreaker]) -> None:
        self.breakers.update(self.breaker_name, lambda breaker: (None, change(breaker)))
