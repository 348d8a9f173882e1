from __future__ import annotations

from attrs import evolve

from checkout_adapters.demo import DEMO_NOW, demo_catalog
from checkout_adapters.presenters import present_error, present_estimate, success
from checkout_core.domain.cart import Cart, CartLine
from checkout_core.domain.catalog import Period
from checkout_core.domain.money import Rate
from checkout_core.domain.pricing import Estimate, price_cart
from checkout_core.errors import CartForbidden

CATALOG = demo_catalog()


def estimate(rate: Rate | None = None) -> Estimate:
    cart = Cart.open(
        token="t",
        lines=[CartLine("int_123", Period(3, "month"))],
        offerings=CATALOG.offerings,
        now=DEMO_NOW,
        sale_slug="summer2024",
    ).with_coupon("NOPE")
    tax = CATALOG.tax if rate is None else evolve(CATALOG.tax, rate=rate)
    return price_cart(
        cart, CATALOG.offerings, tax=tax, now=DEMO_NOW, sale=CATALOG.sales["summer2024"]
    )


def test_an_estimate_is_presented_in_the_seeds_shape_in_minor_units() -> None:
    body = present_estimate(estimate())
    assert body["currency_code"] == "INR"
    assert body["tax_rate"] == 18
    assert body["items"][0] == {
        "internship_id": "int_123",
        "period": {"value": 3, "unit": "month"},
        "base_price": 4_317_600,
        "discount": 2_640_000,
        "sub_total": 1_677_600,
        "tax_total": 302_000,
        "total": 1_979_600,
        "discount_percentage": 61,
    }
    assert [note["applied"] for note in body["discounts"]] == [True, False]
    assert body["discounts"][1]["error_code"] == 2004


def test_a_fractional_tax_rate_is_written_as_a_string_never_a_float() -> None:
    assert present_estimate(estimate(rate=Rate.percent("8.875")))["tax_rate"] == "8.875"


def test_errors_use_the_seeds_envelope_with_their_status() -> None:
    assert present_error(CartForbidden()) == {
        "status": 403,
        "success": False,
        "error": {
            "code": 1104,
            "message": "This cart belongs to another user.",
            "validation_messages": ["This cart belongs to another user."],
        },
    }
    assert success({"a": 1}) == {"status": 200, "success": True, "data": {"a": 1}}
