from __future__ import annotations

from datetime import timedelta

import pytest
from attrs import evolve

from checkout_adapters.demo import DEMO_NOW
from checkout_adapters.memory import FakeGateway, FixedClock, InMemoryBreakerStore
from checkout_adapters.resilience import GuardedGateway
from checkout_core.domain.gateway import GatewayError, PaymentSessionRequest, SessionLine
from checkout_core.domain.money import Currency
from checkout_core.domain.orders import OrderStatus
from checkout_core.domain.retry import BreakerState
from checkout_core.errors import PaymentsUnavailable
from checkout_core.services import Checkout
from tests.unit.services.world import World, build_world, ok, refused

REQUEST = PaymentSessionRequest(
    payment_id="pay_1",
    order_token="order_1",
    amount=1000,
    currency=Currency.of("INR"),
    lines=(SessionLine("Internship (1 month)", 1000),),
    user_id="user_a",
    attempt=1,
    idempotency_key="pay_1-session",
)


class Guarded:
    def __init__(self) -> None:
        self.clock = FixedClock(DEMO_NOW)
        self.inner = FakeGateway("whsec_test", clock=self.clock)
        self.slept: list[float] = []
        self.breakers = InMemoryBreakerStore()
        self.gateway = GuardedGateway(
            self.inner, self.clock, self.breakers, sleep=self.slept.append, jitter=lambda: 0.0
        )

    @property
    def breaker(self) -> BreakerState:
        return self.breakers.get(self.gateway.breaker_name).state


def test_a_retryable_failure_is_retried_on_the_seeds_schedule() -> None:
    guarded = Guarded()
    guarded.inner.fail_next(2, retryable=True)
    session = guarded.gateway.create_session(REQUEST)
    assert session.provider_ref == "fake_pay_1_1"
    assert guarded.slept == [5.0, 10.0]
    assert len(guarded.inner.requests) == 3
    assert guarded.breaker is BreakerState.CLOSED


def test_three_failed_attempts_give_up_with_the_providers_error() -> None:
    guarded = Guarded()
    guarded.inner.fail_next(3, retryable=True)
    with pytest.raises(GatewayError) as raised:
        guarded.gateway.create_session(REQUEST)
    assert raised.value.retryable
    assert guarded.slept == [5.0, 10.0]


def test_a_refusal_retrying_cannot_fix_is_raised_at_once_and_does_not_count() -> None:
    guarded = Guarded()
    for _ in range(6):
        guarded.inner.fail_next(1, retryable=False)
        with pytest.raises(GatewayError):
            guarded.gateway.create_session(REQUEST)
    assert guarded.slept == []
    assert guarded.breaker is BreakerState.CLOSED


def test_five_failures_open_the_breaker_and_no_call_reaches_the_provider_while_open() -> None:
    guarded = Guarded()
    guarded.inner.fail_next(5, retryable=True)
    for _ in range(2):
        with pytest.raises(GatewayError):
            guarded.gateway.create_session(REQUEST)
    assert guarded.breaker is BreakerState.OPEN
    assert not guarded.gateway.available()
    reached = len(guarded.inner.requests)
    assert reached == 5
    with pytest.raises(GatewayError, match="circuit breaker is open"):
        guarded.gateway.fetch_status("fake_pay_1_1")
    assert len(guarded.inner.requests) == reached


def test_after_sixty_seconds_one_probe_decides_and_a_success_closes_the_breaker() -> None:
    guarded = Guarded()
    guarded.inner.fail_next(5, retryable=True)
    for _ in range(2):
        with pytest.raises(GatewayError):
            guarded.gateway.create_session(REQUEST)
    guarded.clock.advance(timedelta(seconds=59))
    assert not guarded.gateway.available()
    guarded.clock.advance(timedelta(seconds=1))
    assert guarded.gateway.available()
    assert guarded.gateway.create_session(REQUEST).provider_ref == "fake_pay_1_1"
    assert guarded.breaker is BreakerState.CLOSED


def test_webhooks_are_verified_even_while_the_breaker_is_open() -> None:
    guarded = Guarded()
    guarded.inner.fail_next(5, retryable=True)
    for _ in range(2):
        with pytest.raises(GatewayError):
            guarded.gateway.create_session(REQUEST)
    headers, body = guarded.inner.webhook(
        event_id="evt_1", type="refund.created", provider_ref=None, kind=None
    )
    assert guarded.gateway.parse_webhook(headers, body).event_id == "evt_1"


def guarded_world() -> tuple[World, Checkout, list[float]]:
    world = build_world()
    slept: list[float] = []
    gateway = GuardedGateway(world.gateway, world.clock, sleep=slept.append, jitter=lambda: 0.0)
    checkout = Checkout.build(
        evolve(world.checkout.ports, gateway=gateway), world.checkout.settings
    )
    return world, checkout, slept


def test_with_the_gateway_down_orders_wait_and_a_later_attempt_resumes_them() -> None:
    world, checkout, slept = guarded_world()
    cart = world.seed_cart()
    world.gateway.fail_next(5, retryable=True)  # down for exactly five calls
    first = refused(checkout.orders.create_from_cart(cart.token, "key-1", "user_a"))
    assert isinstance(first, PaymentsUnavailable)
    assert slept == [5.0, 10.0]
    (order,) = world.store.orders.values()
    assert order.status is OrderStatus.AWAITING_PAYMENT
    again = refused(checkout.orders.create_from_cart(cart.token, "key-1", "user_a"))
    assert isinstance(again, PaymentsUnavailable)
    assert len(world.gateway.requests) == 5  # the fifth failure opened the breaker

    other = world.seed_cart()
    while_open = refused(checkout.orders.create_from_cart(other.token, "key-2", "user_b"))
    assert isinstance(while_open, PaymentsUnavailable)
    assert len(world.store.orders) == 1  # nothing is created while the breaker is open
    assert len(world.gateway.requests) == 5

    world.clock.advance(timedelta(seconds=60))
    resumed = ok(checkout.orders.create_from_cart(cart.token, "key-1", "user_a")).receipt
    assert resumed.order_token == order.token
    assert resumed.checkout_url is not None
