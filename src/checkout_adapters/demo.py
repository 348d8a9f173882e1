"""The demo: the seed's catalog and its flow, on the embedded default.

The catalog reproduces the seed's numbers: ``int_123`` listed at Rs 14,392 a
month, on sale at Rs 5,592 a month under ``summer2024``, the ``SAVE20``
coupon, GST at 18% with the grand total rounded to whole rupees; and a free
internship. The demo runs on a fixed clock inside the sale, so its figures
are the same on every run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from attrs import frozen

from checkout_adapters.memory import FixedClock, SequentialIds
from checkout_adapters.presenters import (
    Json,
    present_coupon_result,
    present_error,
    present_estimate,
    success,
)
from checkout_core.domain.cart import Cart, CartLine
from checkout_core.domain.catalog import Offering, Period, PricePlan, Sale, SalePrice
from checkout_core.domain.discounts import Coupon
from checkout_core.domain.money import Currency, Rate
from checkout_core.domain.pricing import Estimate, price_cart
from checkout_core.domain.tax import TaxPolicy, TaxRounding
from checkout_core.errors import CouponInvalid

__all__ = ["DEMO_NOW", "DemoCatalog", "demo_catalog", "run_demo"]

DEMO_NOW = datetime(2024, 6, 15, 10, 0, tzinfo=UTC)
"""The demo's fixed clock: mid-June 2024, while ``summer2024`` runs."""

INR = Currency.of("INR")


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


def run_demo(echo: Callable[[str], None]) -> None:
    """Walk the seed's flow as far as the library goes, echoing each step as JSON."""
    catalog = demo_catalog()
    clock = FixedClock(DEMO_NOW)
    ids = SequentialIds()

    def estimate(cart: Cart) -> Estimate:
        return price_cart(
            cart,
            catalog.offerings,
            tax=catalog.tax,
            now=clock.now(),
            sale=catalog.sales.get(cart.sale_slug or ""),
            coupon=catalog.coupons.get(cart.coupon_code or ""),
        )

    def show(title: str, body: Json) -> None:
        echo(f"\n== {title}")
        echo(json.dumps(body, indent=2))

    cart = Cart.open(
        token=ids.token(),
        lines=[CartLine("int_123", Period(3, "month"))],
        offerings=catalog.offerings,
        now=clock.now(),
        sale_slug="summer2024",
        analytics_data=[("source", "google"), ("campaign", "summer_sale")],
    )
    show("Cart: int_123 for 3 months under summer2024", {"cart_token": cart.token})
    before = estimate(cart)
    show("POST /api/v1/cart/estimate", success(present_estimate(before)))

    after = estimate(cart.with_coupon("SAVE20"))
    show(
        "POST /api/v1/cart/{token}/coupon  {'coupon': 'SAVE20'}",
        success(present_coupon_result(before, after)),
    )
    show("POST /api/v1/cart/estimate (with SAVE20)", success(present_estimate(after)))

    refused = estimate(cart.with_coupon("NOPE10")).coupon_refusal
    if refused is not None and refused.error_code == CouponInvalid.code:
        show(
            "POST /api/v1/cart/{token}/coupon  {'coupon': 'NOPE10'}", present_error(CouponInvalid())
        )

    free = Cart.open(
        token=ids.token(),
        lines=[CartLine("int_456", Period(1, "month"))],
        offerings=catalog.offerings,
        now=clock.now(),
    )
    free_estimate = estimate(free)
    show(
        "POST /api/v1/cart/estimate (free internship int_456)",
        success(present_estimate(free_estimate)),
    )
    echo(
        f"\nPayment required: paid cart {before.requires_payment}, "
        f"free cart {free_estimate.requires_payment}"
    )
