from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checkout_core.domain.cart import (
    MAX_ANALYTICS_PAIRS,
    MAX_LINES,
    Cart,
    CartLine,
    CartStatus,
    validate_analytics_data,
)
from checkout_core.domain.catalog import Offering, Period, PricePlan
from checkout_core.domain.money import Currency
from checkout_core.errors import (
    CartExpired,
    CartForbidden,
    CartNotActive,
    CheckoutError,
    CouponInvalid,
    DuplicateLine,
    EmptyCart,
    InvalidAnalyticsData,
    InvalidRequest,
    MixedCurrencies,
    OfferingInactive,
    PeriodNotAllowed,
    TooManyLines,
    UnknownOffering,
)

NOW = datetime(2024, 6, 15, 10, tzinfo=UTC)
INR = Currency.of("INR")


def offering(offering_id: str, currency: str = "INR", *, active: bool = True) -> Offering:
    return Offering(
        offering_id, offering_id, Currency.of(currency), [PricePlan("month", 100_000, 1, 6)], active
    )


CATALOG = {o.id: o for o in [offering(f"int_{i}") for i in range(MAX_LINES + 1)]} | {
    "int_usd": offering("int_usd", "USD"),
    "int_off": offering("int_off", active=False),
}


def open_cart(*offering_ids: str, **kwargs: object) -> Cart:
    lines = [CartLine(i, Period(3, "month")) for i in offering_ids]
    return Cart.open(token="tok", lines=lines, offerings=CATALOG, now=NOW, **kwargs)  # type: ignore[arg-type]


def test_a_new_cart_is_active_anonymous_and_lives_24_hours() -> None:
    cart = open_cart("int_1", sale_slug="summer2024")
    assert cart.status is CartStatus.ACTIVE
    assert cart.owner_id is None
    assert cart.coupon_code is None
    assert cart.expires_at == NOW + timedelta(hours=24)
    assert cart.sale_slug == "summer2024"
    assert cart.offering_ids == ("int_1",)


def test_a_cart_lifetime_is_configurable() -> None:
    assert open_cart("int_1", ttl=timedelta(hours=2)).expires_at == NOW + timedelta(hours=2)


@pytest.mark.parametrize(
    ("offering_ids", "error", "code"),
    [
        ((), EmptyCart, 1105),
        (tuple(f"int_{i}" for i in range(MAX_LINES + 1)), TooManyLines, 1106),
        (("int_1", "int_1"), DuplicateLine, 1107),
        (("int_missing",), UnknownOffering, 1108),
        (("int_off",), OfferingInactive, 1109),
        (("int_1", "int_usd"), MixedCurrencies, 1111),
    ],
)
def test_a_cart_that_cannot_be_sold_is_refused_with_its_own_code(
    offering_ids: tuple[str, ...], error: type[CheckoutError], code: int
) -> None:
    with pytest.raises(error) as raised:
        open_cart(*offering_ids)
    assert raised.value.code == code


def test_a_cart_with_twenty_lines_is_accepted() -> None:
    assert len(open_cart(*(f"int_{i}" for i in range(MAX_LINES))).lines) == MAX_LINES


def test_a_period_the_offering_is_not_sold_for_is_refused() -> None:
    with pytest.raises(PeriodNotAllowed):
        Cart.open(
            token="t", lines=[CartLine("int_1", Period(12, "month"))], offerings=CATALOG, now=NOW
        )


def test_a_cart_needs_a_token_and_a_positive_lifetime() -> None:
    with pytest.raises(InvalidRequest):
        Cart.open(
            token="", lines=[CartLine("int_1", Period(1, "month"))], offerings=CATALOG, now=NOW
        )
    with pytest.raises(InvalidRequest):
        open_cart("int_1", ttl=timedelta(0))


def test_analytics_data_is_kept_in_order_as_pairs() -> None:
    cart = open_cart("int_1", analytics_data=[("source", "google"), ("campaign", "summer_sale")])
    assert cart.analytics_data == (("source", "google"), ("campaign", "summer_sale"))
    assert cart.analytics == {"source": "google", "campaign": "summer_sale"}
    assert validate_analytics_data({"a": "b"}) == (("a", "b"),)


@pytest.mark.parametrize(
    "pairs",
    [
        [(f"k{i}", "v") for i in range(MAX_ANALYTICS_PAIRS + 1)],
        [("bad key", "v")],
        [("", "v")],
        [("k" * 65, "v")],
        [("k", "v"), ("k", "w")],
        [("k", "x" * 257)],
        [("k", "line\nbreak")],
        [("k", 3)],
    ],
)
def test_analytics_data_is_bounded_and_printable(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(InvalidAnalyticsData) as raised:
        validate_analytics_data(pairs)
    assert raised.value.code == 1007


def test_a_cart_expires_at_its_expiry_time() -> None:
    cart = open_cart("int_1")
    assert not cart.is_expired(cart.expires_at - timedelta(seconds=1))
    assert cart.is_expired(cart.expires_at)
    with pytest.raises(CartExpired) as raised:
        cart.ensure_usable(cart.expires_at)
    assert raised.value.http_status == 410


def test_an_expired_cart_stays_expired_and_an_ordered_cart_stays_converted() -> None:
    cart = open_cart("int_1")
    expired = cart.expire()
    assert expired.status is CartStatus.EXPIRED
    assert expired.is_expired(NOW)
    converted = cart.convert()
    assert converted.expire() is converted
    assert converted.convert() is converted


def test_an_ordered_cart_cannot_be_used_again() -> None:
    with pytest.raises(CartNotActive):
        open_cart("int_1").convert().ensure_usable(NOW)


def test_an_expired_cart_cannot_be_ordered() -> None:
    with pytest.raises(CartNotActive):
        open_cart("int_1").expire().convert()


def test_the_first_user_to_touch_a_cart_owns_it_and_nobody_else_may() -> None:
    cart = open_cart("int_1").bind_to("user_a")
    assert cart.owner_id == "user_a"
    assert cart.bind_to("user_a") is cart
    cart.check_access("user_a")
    with pytest.raises(CartForbidden) as raised:
        cart.bind_to("user_b")
    assert raised.value.http_status == 403
    with pytest.raises(CartForbidden):
        cart.check_access("user_b")
    with pytest.raises(CartForbidden):
        cart.check_access(None)


def test_an_anonymous_cart_is_open_to_anyone_holding_its_token() -> None:
    open_cart("int_1").check_access(None)
    open_cart("int_1").check_access("user_a")


def test_a_cart_cannot_be_bound_to_no_user() -> None:
    with pytest.raises(InvalidRequest):
        open_cart("int_1").bind_to("")


def test_a_coupon_code_is_stored_normalised_and_can_be_removed() -> None:
    cart = open_cart("int_1").with_coupon("  save20 ")
    assert cart.coupon_code == "SAVE20"
    assert cart.without_coupon().coupon_code is None


def test_a_coupon_code_that_cannot_be_a_code_is_invalid() -> None:
    with pytest.raises(CouponInvalid) as raised:
        open_cart("int_1").with_coupon("no spaces allowed")
    assert raised.value.code == 2004
