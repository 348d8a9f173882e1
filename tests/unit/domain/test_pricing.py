from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from attrs import evolve

from checkout_adapters.demo import DEMO_NOW, demo_catalog
from checkout_core.domain.cart import Cart, CartLine
from checkout_core.domain.catalog import Offering, Period, PricePlan, Sale, SalePercentage
from checkout_core.domain.discounts import Coupon, CouponUsage
from checkout_core.domain.money import Currency, Rate
from checkout_core.domain.pricing import DiscountKind, DiscountNote, Estimate, price_cart
from checkout_core.domain.tax import TaxMode, TaxPolicy, TaxRounding
from checkout_core.errors import (
    MixedCurrencies,
    OfferingInactive,
    PeriodNotAllowed,
    UnknownOffering,
)

CATALOG = demo_catalog()
OFFERINGS = CATALOG.offerings
SUMMER = CATALOG.sales["summer2024"]
SAVE20 = CATALOG.coupons["SAVE20"]
WHOLE_RUPEES = TaxPolicy(rounding=TaxRounding.TOTAL_TO_MAJOR_UNIT)
PER_LINE = TaxPolicy()
INR = Currency.of("INR")


def seed_cart(**changes: Any) -> Cart:
    cart = Cart.open(
        token="74f1d2e0-791d-4f59-9a96-ffff785de270",
        lines=[CartLine("int_123", Period(3, "month"))],
        offerings=OFFERINGS,
        now=DEMO_NOW,
        sale_slug="summer2024",
    )
    return evolve(cart, **changes)


def price(cart: Cart, tax: TaxPolicy = WHOLE_RUPEES, **kwargs: object) -> Estimate:
    arguments: dict[str, object] = {"sale": SUMMER, "coupon": SAVE20, "now": DEMO_NOW}
    arguments.update(kwargs)
    return price_cart(cart, OFFERINGS, tax=tax, **arguments)  # type: ignore[arg-type]


def test_the_seeds_estimate_with_whole_rupee_rounding_is_reproduced_to_the_paisa() -> None:
    estimate = price(seed_cart())
    assert estimate.currency == INR
    assert estimate.tax_rate == Rate.percent(18)
    assert estimate.base_price == 4_317_600
    assert estimate.discount_amount == 2_640_000
    assert estimate.discount_percentage == 61
    assert estimate.sub_total == 1_677_600
    assert estimate.tax_total == 302_000
    assert estimate.total == 1_979_600
    (line,) = estimate.lines
    assert (line.offering_id, line.base_price, line.total, line.tax, line.discount_percentage) == (
        "int_123",
        4_317_600,
        1_979_600,
        302_000,
        61,
    )


def test_save20_takes_20_percent_of_the_pre_tax_amount_and_395_900_off_the_total() -> None:
    before = price(seed_cart())
    after = price(seed_cart(coupon_code="SAVE20"))
    assert after.total == 1_583_700
    assert before.total - after.total == 395_900
    assert after.lines[0].coupon_discount == 335_520
    assert after.sub_total == 1_342_080
    assert after.coupon_code == "SAVE20"
    assert after.coupon_applied


def test_the_default_per_line_rounding_gives_the_seeds_exact_tax() -> None:
    estimate = price(seed_cart(), PER_LINE)
    assert (estimate.tax_total, estimate.total) == (301_968, 1_979_568)


def test_every_line_and_the_totals_add_up() -> None:
    estimate = price(seed_cart(coupon_code="SAVE20"))
    assert estimate.sub_total + estimate.tax_total == estimate.total
    for line in estimate.lines:
        assert line.base_price - line.discount == line.subtotal
        assert line.subtotal + line.tax == line.total
    assert sum(line.total for line in estimate.lines) == estimate.total


def test_the_estimate_explains_the_sale_and_the_coupon_it_applied() -> None:
    notes = price(seed_cart(coupon_code="SAVE20")).notes
    assert notes == (
        DiscountNote(DiscountKind.SALE, "summer2024", True, 2_640_000, "sale price", ("int_123",)),
        DiscountNote(DiscountKind.COUPON, "SAVE20", True, 335_520, "20% off", ("int_123",)),
    )


def test_an_unknown_coupon_is_explained_with_the_seeds_code_and_not_applied() -> None:
    estimate = price(seed_cart(coupon_code="NOPE10"))
    assert estimate.total == 1_979_600
    assert not estimate.coupon_applied
    assert estimate.coupon_code is None
    refusal = estimate.coupon_refusal
    assert refusal is not None
    assert (refusal.name, refusal.error_code, refusal.reason) == (
        "NOPE10",
        2004,
        "Coupon is invalid.",
    )


@pytest.mark.parametrize(
    ("coupon", "usage", "code"),
    [
        (evolve(SAVE20, valid_until=DEMO_NOW), CouponUsage(), 2005),
        (evolve(SAVE20, usage_limit=3), CouponUsage(total=3), 2007),
        (evolve(SAVE20, per_user_limit=1), CouponUsage(), 2011),
        (evolve(SAVE20, stacks_with_sale=False), CouponUsage(), 2010),
        (evolve(SAVE20, min_subtotal=5_000_000, currency=INR), CouponUsage(), 2009),
    ],
)
def test_a_refused_coupon_leaves_the_price_alone_and_says_why(
    coupon: Coupon, usage: CouponUsage, code: int
) -> None:
    estimate = price(seed_cart(coupon_code="SAVE20"), coupon=coupon, coupon_usage=usage)
    assert estimate.total == 1_979_600
    refusal = estimate.coupon_refusal
    assert refusal is not None
    assert refusal.error_code == code


def test_a_per_user_limit_counts_the_owners_redemptions() -> None:
    limited = evolve(SAVE20, per_user_limit=1)
    owned = seed_cart(coupon_code="SAVE20", owner_id="user_1")
    assert price(owned, coupon=limited).coupon_applied
    refused = price(owned, coupon=limited, coupon_usage=CouponUsage(by_user=1)).coupon_refusal
    assert refused is not None
    assert refused.error_code == 2008


@pytest.mark.parametrize(
    ("now", "why"),
    [
        (SUMMER.starts_at - timedelta(seconds=1), "the sale has not started"),
        (SUMMER.ends_at, "the sale has ended"),
    ],
)
def test_a_sale_outside_its_window_is_explained_and_not_applied(now: object, why: str) -> None:
    estimate = price(seed_cart(), now=now)
    assert estimate.discount_amount == 0
    assert estimate.base_price == estimate.sub_total == 4_317_600
    assert estimate.notes == (
        DiscountNote(DiscountKind.SALE, "summer2024", False, 0, why, ("int_123",)),
    )


def test_an_unknown_sale_is_explained_and_not_applied() -> None:
    estimate = price(seed_cart(sale_slug="winter2024"))
    assert estimate.discount_amount == 0
    assert estimate.notes[0].reason == "the sale does not exist"


def test_a_sale_that_does_not_cover_a_line_says_so_for_that_line() -> None:
    cart = Cart.open(
        token="t",
        lines=[CartLine("int_123", Period(3, "month")), CartLine("int_456", Period(1, "month"))],
        offerings=OFFERINGS,
        now=DEMO_NOW,
        sale_slug="summer2024",
    )
    notes = price(cart).notes
    assert [(n.applied, n.offering_ids, n.reason) for n in notes] == [
        (True, ("int_123",), "sale price"),
        (False, ("int_456",), "the sale does not cover this product"),
    ]


def test_a_free_offering_needs_no_payment() -> None:
    cart = Cart.open(
        token="t",
        lines=[CartLine("int_456", Period(1, "month"))],
        offerings=OFFERINGS,
        now=DEMO_NOW,
    )
    estimate = price(cart)
    assert estimate.total == 0
    assert not estimate.requires_payment
    assert price(seed_cart()).requires_payment


def test_a_coupon_over_several_lines_is_allocated_so_the_lines_add_up() -> None:
    offerings = {
        f"int_{i}": Offering(f"int_{i}", "x", INR, [PricePlan("month", 100_001 + i)])
        for i in range(3)
    }
    cart = Cart.open(
        token="t",
        lines=[CartLine(i, Period(1, "month")) for i in offerings],
        offerings=offerings,
        now=DEMO_NOW,
    ).with_coupon("FLAT")
    flat = Coupon(code="FLAT", amount_off=100, currency=INR)
    estimate = price_cart(cart, offerings, tax=PER_LINE, now=DEMO_NOW, coupon=flat)
    # The heaviest line has the largest remainder and takes the extra paisa.
    assert [line.coupon_discount for line in estimate.lines] == [33, 33, 34]
    assert estimate.discount_amount == 100
    assert sum(line.total for line in estimate.lines) == estimate.total


def test_inclusive_prices_keep_the_total_at_the_price_paid() -> None:
    inclusive = TaxPolicy(mode=TaxMode.INCLUSIVE)
    estimate = price(seed_cart(), inclusive, coupon=None)
    assert estimate.total == 1_677_600
    assert estimate.sub_total == 1_421_695  # 16,776.00 / 1.18 = 14,216.949...
    assert estimate.tax_total == 255_905
    assert estimate.tax_mode is TaxMode.INCLUSIVE


def test_a_percentage_sale_rounds_half_up() -> None:
    sale = Sale(
        SUMMER.slug,
        SUMMER.starts_at,
        SUMMER.ends_at,
        [SalePercentage("int_123", Rate.percent("33.3333"))],
    )
    estimate = price(seed_cart(), PER_LINE, sale=sale)
    assert estimate.discount_amount == 1_439_199  # 33.3333% of 4,317,600 = 1,439,198.56


@pytest.mark.parametrize(
    ("offerings", "error"),
    [
        ({}, UnknownOffering),
        ({"int_123": evolve(OFFERINGS["int_123"], active=False)}, OfferingInactive),
        (
            {"int_123": evolve(OFFERINGS["int_123"], plans=[PricePlan("month", 1, 1, 2)])},
            PeriodNotAllowed,
        ),
        ({"int_123": evolve(OFFERINGS["int_123"], currency=Currency.of("USD"))}, None),
    ],
)
def test_a_line_the_catalog_no_longer_sells_fails_the_estimate(
    offerings: dict[str, Offering], error: type[Exception] | None
) -> None:
    if error is None:
        estimate = price_cart(seed_cart(), offerings, tax=PER_LINE, now=DEMO_NOW)
        assert estimate.currency == Currency.of("USD")
        return
    with pytest.raises(error):
        price_cart(seed_cart(), offerings, tax=PER_LINE, now=DEMO_NOW)


def test_a_catalog_that_prices_one_cart_in_two_currencies_fails_the_estimate() -> None:
    cart = Cart.open(
        token="t",
        lines=[CartLine("int_123", Period(3, "month")), CartLine("int_456", Period(1, "month"))],
        offerings=OFFERINGS,
        now=DEMO_NOW,
    )
    offerings = dict(OFFERINGS) | {
        "int_456": evolve(OFFERINGS["int_456"], currency=Currency.of("USD"))
    }
    with pytest.raises(MixedCurrencies):
        price_cart(cart, offerings, tax=PER_LINE, now=DEMO_NOW)
