"""The demo: the seed's whole flow on the embedded default, each step printed as JSON.

The catalog reproduces the seed's numbers: ``int_123`` listed at Rs 14,392 a
month, on sale at Rs 5,592 a month under ``summer2024``, the ``SAVE20``
coupon, GST at 18% with the grand total rounded to whole rupees; and a free
internship, ``int_456``. The demo runs on a fixed clock inside the sale and
with counted ids, so its figures and the checkout's tokens are the same on
every run. The buyer pays through the gateway sandbox, which answers as
Razorpay does and sends its signed webhooks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from attrs import frozen
from returns.result import Failure, Result, Success

from checkout_adapters.bootstrap import Embedded, embedded
from checkout_adapters.memory import FixedClock, SequentialIds
from checkout_adapters.presenters import (
    Json,
    present_coupon_result,
    present_error,
    present_estimate,
    present_offering,
    present_receipt,
    success,
)
from checkout_adapters.sqlalchemy import SqlCatalog
from checkout_core.domain.cart import CartLine
from checkout_core.domain.catalog import Offering, Period, PricePlan, Sale, SalePrice
from checkout_core.domain.discounts import Coupon
from checkout_core.domain.messages import Notification
from checkout_core.domain.money import Currency, Rate
from checkout_core.domain.tax import TaxPolicy, TaxRounding
from checkout_core.errors import CheckoutError
from checkout_core.services import CheckoutSettings

__all__ = ["DEMO_NOW", "DemoCatalog", "demo_catalog", "run_demo", "seed_demo_catalog"]

DEMO_NOW = datetime(2024, 6, 15, 10, 0, tzinfo=UTC)
"""The demo's fixed clock: mid-June 2024, while ``summer2024`` runs."""

INR = Currency.of("INR")
T = TypeVar("T")


@frozen
class DemoCatalog:
    """What the demo sells, and how it taxes."""

    offerings: Mapping[str, Offering]
    sales: Mapping[str, Sale]
    coupons: Mapping[str, Coupon]
    tax: TaxPolicy


def demo_catalog() -> DemoCatalog:
    """The seed's internships, sale and coupon, and a free internship."""
    offerings = [
        Offering(
            id="int_123",
            title="Backend Engineering Internship",
            currency=INR,
            plans=[PricePlan("month", 1_439_200, min_value=1, max_value=6)],
        ),
        Offering(
            id="int_456",
            title="Open Source Fundamentals (free)",
            currency=INR,
            plans=[PricePlan("month", 0, min_value=1, max_value=3)],
        ),
    ]
    summer = Sale(
        slug="summer2024",
        starts_at=datetime(2024, 5, 1, tzinfo=UTC),
        ends_at=datetime(2024, 9, 1, tzinfo=UTC),
        rules=[SalePrice("int_123", "month", 559_200)],
    )
    save20 = Coupon(code="SAVE20", percent_off=Rate.percent(20), usage_limit=1000)
    return DemoCatalog(
        offerings={offering.id: offering for offering in offerings},
        sales={summer.slug: summer},
        coupons={save20.code: save20},
        tax=TaxPolicy(rounding=TaxRounding.TOTAL_TO_MAJOR_UNIT),
    )


def seed_demo_catalog(store: SqlCatalog, catalog: DemoCatalog) -> bool:
    """Store the demo's offerings, sales and coupons in ``store`` if it has no offering yet.

    Returns whether it stored them. One transaction, safe from any number of
    processes at once and never changing a row that exists (a coupon keeps
    its uses): see :meth:`~checkout_adapters.sqlalchemy.SqlCatalog.seed_if_empty`.
    """
    return store.seed_if_empty(
        catalog.offerings.values(), catalog.sales.values(), catalog.coupons.values()
    )


def _envelope(result: Result[T, CheckoutError], present: Callable[[T], Json]) -> Json:
    match result:
        case Success(value):
            return success(present(value))
        case Failure(error):
            return present_error(error)
    raise AssertionError(result)


def run_demo(echo: Callable[[str], None]) -> None:
    """Walk the seed's flow on the embedded default, echoing each request and answer."""
    catalog = demo_catalog()
    with embedded(
        clock=FixedClock(DEMO_NOW),
        ids=SequentialIds(),
        settings=CheckoutSettings(tax=catalog.tax),
        notifications=_EchoedNotifications(echo),
    ) as world:
        _walk(world, catalog, echo)


@frozen
class _EchoedNotifications:
    """The demo's mail: each notification printed instead of sent."""

    echo: Callable[[str], None]

    def send(self, notification: Notification) -> None:
        self.echo(
            f"email '{notification.template}' to {notification.user_id} "
            f"about order {notification.order_token}"
        )


def _run_worker(world: Embedded, echo: Callable[[str], None], order_token: str | None) -> None:
    """Let the enrollment worker take the events from the outbox, and show what it did."""
    echo("\n== EnrollmentWorker takes the events from the outbox")
    handled = world.worker.run_once(wait=timedelta(0))
    echo(f"{handled} event(s) handled")
    if order_token is not None:
        with world.checkout.ports.unit_of_work() as uow:
            order = uow.orders.get(order_token)
            enrollments = uow.enrollments.for_order(order_token)
        status = order.status if order is not None else "missing"
        echo(f"order {order_token}: {status}; enrollments {[e.id for e in enrollments]}")


def _walk(world: Embedded, catalog: DemoCatalog, echo: Callable[[str], None]) -> None:
    seed_demo_catalog(world.catalog, catalog)
    checkout = world.checkout

    def show(title: str, body: Json) -> None:
        echo(f"\n== {title}")
        echo(json.dumps(body, indent=2))

    show(
        "GET /api/v1/internships",
        _envelope(
            checkout.carts.list_offerings(),
            lambda offerings: {"internships": [present_offering(o) for o in offerings]},
        ),
    )

    created = checkout.carts.create_cart(
        [CartLine("int_123", Period(3, "month"))],
        sale_slug="summer2024",
        analytics_data=[("source", "google"), ("campaign", "summer_sale")],
    ).unwrap()
    token = created.token
    show("POST /api-proxy/api/cart", success({"cart": {"cart_token": token}}))
    show(
        f"POST /api/v1/cart/{token}/auth/check (anonymous)",
        _envelope(
            checkout.auth.validate_cart_access(token, None),
            lambda a: {"authenticated": a.authenticated},
        ),
    )
    show(
        "POST /api/v1/cart/estimate",
        _envelope(checkout.pricing.calculate(token, None), present_estimate),
    )
    show(
        f"POST /api/v1/cart/{token}/coupon  {{'coupon': 'NOPE10'}}",
        _envelope(checkout.discounts.apply(token, "NOPE10", None), present_coupon_result),
    )
    show(
        f"POST /api/v1/cart/{token}/coupon  {{'coupon': 'SAVE20'}}",
        _envelope(checkout.discounts.apply(token, "SAVE20", None), present_coupon_result),
    )
    user = "user_42"
    show(
        f"POST /api/v1/cart/{token}/auth/check (signed in as {user})",
        _envelope(
            checkout.auth.validate_cart_access(token, user),
            lambda a: {"authenticated": a.authenticated, "user_id": a.user_id},
        ),
    )
    show(
        f"POST /api/v1/cart/{token}/auth/check (signed in as user_7: not the owner)",
        _envelope(checkout.auth.validate_cart_access(token, "user_7"), lambda _: {}),
    )
    placed = checkout.orders.create_from_cart(token, "idem_123456789", user)
    show(
        "POST /api/v1/order  {'idempotency_key': 'idem_123456789'}",
        _envelope(placed, lambda p: present_receipt(p.receipt)),
    )
    again = checkout.orders.create_from_cart(token, "idem_123456789", user)
    show(
        "POST /api/v1/order  (the same key again: the stored answer)",
        _envelope(again, lambda p: present_receipt(p.receipt)),
    )

    receipt = placed.unwrap().receipt
    if receipt.provider_ref is None:
        raise AssertionError(f"the order has no payment session: {receipt}")
    # The buyer pays on the sandbox's page; the sandbox sends Razorpay's signed webhooks.
    delivered: list[tuple[dict[str, str], bytes]] = []

    def receive(provider: str, headers: dict[str, str], body: bytes) -> int:
        del provider
        delivered.append((headers, body))
        return 200

    world.sandbox.webhook_target = receive
    echo(f"\n== The buyer pays at {receipt.checkout_url}")
    world.sandbox.complete_payment("razorpay", receipt.provider_ref)
    world.sandbox.wait_for_deliveries()
    for headers, body in delivered:
        outcome = checkout.webhooks.handle(headers, body).unwrap()
        echo(
            f"\n== POST /api/v1/webhooks/razorpay  ({outcome.type}, signature verified)\n"
            f"event {outcome.event_id}: {outcome.status}"
        )
    echo(f"outbox: {[entry.name for entry in world.outbox.pending()]}")
    _run_worker(world, echo, receipt.order_token)

    free = checkout.carts.create_cart([CartLine("int_456", Period(1, "month"))]).unwrap()
    show(
        "POST /api/v1/order  (free internship int_456)",
        _envelope(
            checkout.orders.create_from_cart(free.token, "idem_free_1", user),
            lambda p: present_receipt(p.receipt),
        ),
    )
    _run_worker(world, echo, None)
