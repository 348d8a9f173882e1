from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from checkout_core.domain.discounts import (
    NO_USAGE,
    Coupon,
    CouponKind,
    CouponUsage,
    normalize_code,
)
from checkout_core.domain.money import Currency, Rate, Rounding
from checkout_core.errors import (
    CheckoutError,
    CouponExhausted,
    CouponExpired,
    CouponInvalid,
    CouponMinimumNotMet,
    CouponNotApplicable,
    CouponNotYetValid,
    CouponRequiresSignIn,
    CouponUserLimitReached,
    InvalidAmount,
    InvalidRate,
    InvalidRequest,
)

NOW = datetime(2024, 6, 15, tzinfo=UTC)
INR = Currency.of("INR")


def save20(**rules: object) -> Coupon:
    return Coupon(code="SAVE20", percent_off=Rate.percent(20), **rules)  # type: ignore[arg-type]


def discount(
    coupon: Coupon,
    amounts: Sequence[int],
    offering_ids: Sequence[str] | None = None,
    sale_discounts: Sequence[int] | None = None,
    currency: Currency = INR,
) -> list[int]:
    return coupon.discount_for(
        amounts,
        offering_ids=offering_ids or [f"int_{i}" for i in range(len(amounts))],
        sale_discounts=sale_discounts or [0] * len(amounts),
        currency=currency,
    )


def test_codes_are_case_insensitive_and_trimmed() -> None:
    assert normalize_code(" save20 ") == "SAVE20"
    assert save20().code == Coupon(code="save20", percent_off=Rate.percent(20)).code


@pytest.mark.parametrize("code", ["", "   ", "SAVE 20", "X" * 65, "SAVE20!"])
def test_a_string_that_cannot_be_a_code_is_the_seeds_invalid_coupon(code: str) -> None:
    with pytest.raises(CouponInvalid) as raised:
        normalize_code(code)
    assert (raised.value.code, raised.value.message) == (2004, "Coupon is invalid.")


def test_a_coupon_takes_either_a_percentage_or_an_amount() -> None:
    assert save20().kind is CouponKind.PERCENT
    assert Coupon(code="FLAT", amount_off=50_000, currency=INR).kind is CouponKind.FIXED
    with pytest.raises(InvalidRequest):
        Coupon(code="BOTH", percent_off=Rate.percent(5), amount_off=100, currency=INR)
    with pytest.raises(InvalidRequest):
        Coupon(code="NEITHER")


@pytest.mark.parametrize("percent", ["0", "100.01"])
def test_a_percentage_coupon_takes_off_more_than_nothing_and_at_most_everything(
    percent: str,
) -> None:
    with pytest.raises(InvalidRate):
        Coupon(code="SAVE", percent_off=Rate.percent(percent))


@pytest.mark.parametrize("field", ["max_discount", "usage_limit", "per_user_limit"])
def test_limits_are_positive_integers(field: str) -> None:
    with pytest.raises(InvalidAmount):
        save20(**{field: 0})


def test_a_coupon_naming_amounts_needs_a_currency() -> None:
    with pytest.raises(InvalidRequest):
        Coupon(code="FLAT", amount_off=100)
    with pytest.raises(InvalidRequest):
        save20(min_subtotal=100)


def test_a_coupon_window_must_end_after_it_starts() -> None:
    with pytest.raises(InvalidRequest):
        save20(valid_from=NOW, valid_until=NOW)


def test_a_coupon_describes_itself() -> None:
    assert save20().describe() == "20% off"
    assert save20(max_discount=100_000, currency=INR).describe() == "20% off, up to 1000.00 INR"
    assert Coupon(code="FLAT", amount_off=50_000, currency=INR).describe() == "500.00 INR off"


@pytest.mark.parametrize(
    ("coupon", "now", "usage", "user", "error", "code"),
    [
        (save20(active=False), NOW, NO_USAGE, None, CouponInvalid, 2004),
        (save20(valid_until=NOW), NOW, NO_USAGE, None, CouponExpired, 2005),
        (
            save20(valid_from=NOW + timedelta(seconds=1)),
            NOW,
            NO_USAGE,
            None,
            CouponNotYetValid,
            2006,
        ),
        (save20(usage_limit=5), NOW, CouponUsage(total=5), None, CouponExhausted, 2007),
        (save20(per_user_limit=1), NOW, CouponUsage(by_user=1), "u1", CouponUserLimitReached, 2008),
        (save20(per_user_limit=1), NOW, NO_USAGE, None, CouponRequiresSignIn, 2011),
    ],
)
def test_each_unavailable_coupon_is_refused_with_its_own_code(
    coupon: Coupon,
    now: datetime,
    usage: CouponUsage,
    user: str | None,
    error: type[CheckoutError],
    code: int,
) -> None:
    with pytest.raises(error) as raised:
        coupon.check_availability(now=now, usage=usage, user_id=user)
    assert raised.value.code == code


def test_an_available_coupon_passes_its_checks() -> None:
    coupon = save20(
        valid_from=NOW,
        valid_until=NOW + timedelta(days=1),
        usage_limit=5,
        per_user_limit=2,
    )
    coupon.check_availability(now=NOW, usage=CouponUsage(total=4, by_user=1), user_id="u1")


def test_a_percentage_coupon_takes_its_share_of_the_pre_tax_amount() -> None:
    assert discount(save20(), [1_677_600]) == [335_520]


def test_a_percentage_discount_rounds_as_the_coupon_says() -> None:
    # 12.5% of 20 paise is exactly 2.5 paise.
    coupon = Coupon(code="EIGHTH", percent_off=Rate.percent("12.5"))
    assert sum(discount(coupon, [20])) == 3  # 2.5 -> 3 half-up
    half_even = Coupon(code="EIGHTH", percent_off=Rate.percent("12.5"), rounding=Rounding.HALF_EVEN)
    assert sum(discount(half_even, [20])) == 2


def test_a_coupon_discount_is_allocated_over_the_lines_by_their_amounts() -> None:
    result = discount(save20(), [100, 100, 100])
    assert result == [20, 20, 20]
    uneven = discount(Coupon(code="FLAT", amount_off=100, currency=INR), [1, 1, 1])
    assert sum(uneven) == 3
    assert uneven == [1, 1, 1]
    thirds = discount(Coupon(code="FLAT", amount_off=100, currency=INR), [300, 300, 300])
    assert thirds == [34, 33, 33]


def test_a_cap_limits_the_discount() -> None:
    assert sum(discount(save20(max_discount=10_000, currency=INR), [1_677_600])) == 10_000


def test_a_fixed_coupon_never_takes_off_more_than_the_eligible_amount() -> None:
    assert sum(discount(Coupon(code="FLAT", amount_off=50_000, currency=INR), [30_000])) == 30_000


def test_a_coupon_for_some_offerings_leaves_the_other_lines_alone() -> None:
    coupon = save20(offering_ids=frozenset({"int_1"}))
    assert discount(coupon, [100, 100], ["int_0", "int_1"]) == [0, 20]


def test_a_coupon_covering_none_of_the_lines_does_not_apply() -> None:
    with pytest.raises(CouponNotApplicable) as raised:
        discount(save20(offering_ids=frozenset({"int_9"})), [100])
    assert raised.value.code == 2010


def test_a_coupon_that_does_not_stack_skips_lines_on_sale() -> None:
    coupon = save20(stacks_with_sale=False)
    assert discount(coupon, [100, 100], sale_discounts=[50, 0]) == [0, 20]
    with pytest.raises(CouponNotApplicable, match="does not combine with the sale"):
        discount(coupon, [100], sale_discounts=[50])


def test_a_coupon_for_another_currency_does_not_apply() -> None:
    coupon = Coupon(code="FLAT", amount_off=100, currency=Currency.of("USD"))
    with pytest.raises(CouponNotApplicable, match="USD"):
        discount(coupon, [1000])


def test_a_cart_below_the_minimum_is_refused_and_one_at_it_is_not() -> None:
    coupon = save20(min_subtotal=1000, currency=INR)
    with pytest.raises(CouponMinimumNotMet) as raised:
        discount(coupon, [500, 499])
    assert raised.value.code == 2009
    assert sum(discount(coupon, [500, 500])) == 200


def test_lines_that_cost_nothing_take_no_share() -> None:
    assert discount(save20(), [0, 100]) == [0, 20]
    with pytest.raises(CouponNotApplicable):
        discount(save20(), [0])
