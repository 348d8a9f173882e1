"""The world of the service tests: a checkout on in-memory adapters, at the demo's fixed time."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

import pytest
from attrs import define
from returns.result import Failure, Result, Success

from checkout_adapters.demo import DEMO_NOW, demo_catalog
from checkout_adapters.memory import (
    FakeGateway,
    FixedClock,
    InMemoryCartCache,
    InMemoryCatalog,
    InMemoryStore,
    InMemoryUnitOfWorkFactory,
    RecordingAlertSink,
    RecordingAnalyticsTracker,
    RecordingNotificationSender,
    SequentialIds,
)
from checkout_core.domain.cart import Cart, CartLine
from checkout_core.domain.catalog import Period
from checkout_core.domain.discounts import Coupon
from checkout_core.domain.money import Rate
from checkout_core.errors import CheckoutError
from checkout_core.services import Checkout, CheckoutPorts, CheckoutSettings

CATALOG = demo_catalog()
T = TypeVar("T")


@define
class World:
    """The checkout under test and every fake around it."""

    checkout: Checkout
    store: InMemoryStore
    clock: FixedClock
    gateway: FakeGateway
    notifications: RecordingNotificationSender
    analytics: RecordingAnalyticsTracker
    cache: InMemoryCartCache
    alerts: RecordingAlertSink

    def add_coupon(self, coupon: Coupon) -> None:
        with self.checkout.ports.unit_of_work() as uow:
            uow.discounts.add_coupon(coupon)
            uow.commit()

    def seed_cart(self, *, sale: bool = True) -> Cart:
        lines = [CartLine("int_123", Period(3, "month"))]
        return ok(
            self.checkout.carts.create_cart(
                lines,
                sale_slug="summer2024" if sale else None,
                analytics_data=[("source", "google"), ("campaign", "summer_sale")],
            )
        )

    def free_cart(self) -> Cart:
        return ok(self.checkout.carts.create_cart([CartLine("int_456", Period(1, "month"))]))

    def events(self) -> list[str]:
        return [event.name for event in self.store.outbox_events()]


def ok(result: Result[T, CheckoutError]) -> T:
    """The value of a Success; a test fails on a Failure with the error in its message."""
    if isinstance(result, Failure):
        pytest.fail(f"expected success, got {result.failure()!r}")
    return result.unwrap()


def refused(result: Result[T, CheckoutError]) -> CheckoutError:
    """The error of a Failure; a test fails on a Success."""
    if isinstance(result, Success):
        pytest.fail(f"expected a failure, got {result.unwrap()!r}")
    return result.failure()


def build_world() -> World:
    """A checkout on in-memory adapters with the seed's catalog and the SAVE20 coupon."""
    clock = FixedClock(DEMO_NOW)
    store = InMemoryStore()
    gateway = FakeGateway("whsec_test", clock=clock)
    notifications = RecordingNotificationSender()
    analytics = RecordingAnalyticsTracker()
    cache = InMemoryCartCache(clock)
    alerts = RecordingAlertSink()
    ports = CheckoutPorts(
        unit_of_work=InMemoryUnitOfWorkFactory(
            store, InMemoryCatalog(CATALOG.offerings, CATALOG.sales)
        ),
        gateway=gateway,
        clock=clock,
        ids=SequentialIds(),
        notifications=notifications,
        analytics=analytics,
        alerts=alerts,
        cart_cache=cache,
    )
    checkout = Checkout.build(
        ports, CheckoutSettings(tax=CATALOG.tax, cart_ttl=timedelta(hours=24))
    )
    built = World(checkout, store, clock, gateway, notifications, analytics, cache, alerts)
    built.add_coupon(Coupon(code="SAVE20", percent_off=Rate.percent(20), usage_limit=1000))
    return built
