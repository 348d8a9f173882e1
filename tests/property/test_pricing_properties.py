from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from checkout_core.domain.money import Currency, Rate
from checkout_core.domain.pricing import Estimate, price_cart
from checkout_core.domain.tax import TaxMode, TaxPolicy, TaxRounding
from tests.strategies import PricingCase, currencies, pricing_cases, rates, tax_policies


def estimate(case: PricingCase) -> Estimate:
    return price_cart(
        case.cart, case.offerings, tax=case.tax, now=case.now, sale=case.sale, coupon=case.coupon
    )


@given(pricing_cases())
def test_no_total_is_negative(case: PricingCase) -> None:
    result = estimate(case)
    assert result.total >= 0
    assert result.sub_total >= 0
    assert result.tax_total >= 0
    for line in result.lines:
        assert min(line.subtotal, line.tax, line.total, line.discount) >= 0


@given(pricing_cases())
def test_a_discount_never_exceeds_what_it_discounts(case: PricingCase) -> None:
    result = estimate(case)
    assert result.discount_amount <= result.base_price
    for line in result.lines:
        assert line.discount <= line.base_price
        assert line.coupon_discount <= line.base_price - line.sale_discount


@given(pricing_cases())
def test_the_lines_add_up_exactly_to_the_totals(case: PricingCase) -> None:
    result = estimate(case)
    assert sum(line.base_price for line in result.lines) == result.base_price
    assert sum(line.discount for line in result.lines) == result.discount_amount
    assert sum(line.subtotal for line in result.lines) == result.sub_total
    assert sum(line.tax for line in result.lines) == result.tax_total
    assert sum(line.total for line in result.lines) == result.total
    assert result.sub_total + result.tax_total == result.total
    for line in result.lines:
        assert line.subtotal + line.tax == line.total


@given(pricing_cases(tax=st.just(TaxPolicy(rounding=TaxRounding.TOTAL_TO_MAJOR_UNIT))))
def test_whole_unit_rounding_gives_a_whole_unit_total_unless_that_would_be_a_negative_tax(
    case: PricingCase,
) -> None:
    result = estimate(case)
    whole = result.total % result.currency.minor_per_major == 0
    assert whole or result.tax_total == 0


@given(pricing_cases())
def test_the_coupon_note_matches_what_the_lines_took_off(case: PricingCase) -> None:
    result = estimate(case)
    coupon_notes = [note for note in result.notes if note.kind == "coupon"]
    taken = sum(line.coupon_discount for line in result.lines)
    if case.coupon is None:
        assert coupon_notes == []
    else:
        (note,) = coupon_notes
        assert note.amount == taken
        assert note.applied == (result.coupon_code is not None)
        assert note.applied or note.error_code is not None


per_line_policies = st.builds(
    TaxPolicy, rate=rates(40), mode=st.sampled_from(TaxMode), rounding=st.just(TaxRounding.PER_LINE)
)


@given(
    policy=per_line_policies,
    currency=currencies(),
    amount=st.integers(0, 10**12),
    more=st.integers(0, 10**6),
)
def test_tax_per_line_is_monotone_in_price(
    policy: TaxPolicy, currency: Currency, amount: int, more: int
) -> None:
    (low,) = policy.apply([amount], currency).tax
    (high,) = policy.apply([amount + more], currency).tax
    assert low <= high


@given(
    policy=tax_policies(),
    currency=currencies(),
    amounts=st.lists(st.integers(0, 10**10), min_size=1, max_size=20),
    more=st.integers(0, 10**6),
)
def test_the_total_is_monotone_in_price_under_every_policy(
    policy: TaxPolicy, currency: Currency, amounts: list[int], more: int
) -> None:
    # Whole-unit rounding moves the tax up and down as the price grows (the
    # round-off is absorbed by the tax), but the grand total only grows.
    before = policy.apply(amounts, currency)
    after = policy.apply([*amounts[:-1], amounts[-1] + more], currency)
    assert sum(before.net) + sum(before.tax) <= sum(after.net) + sum(after.tax)


@given(rate=rates(40), currency=currencies(), net=st.integers(0, 10**12))
def test_inclusive_and_exclusive_agree_on_the_pre_tax_amount_within_one_minor_unit(
    rate: Rate, currency: Currency, net: int
) -> None:
    exclusive = TaxPolicy(rate=rate)
    inclusive = TaxPolicy(rate=rate, mode=TaxMode.INCLUSIVE)
    (tax,) = exclusive.apply([net], currency).tax
    (recovered,) = inclusive.apply([net + tax], currency).net
    assert abs(recovered - net) <= 1
