from __future__ import annotations

from checkout_core.domain.money import Currency, Rate, Rounding
from checkout_core.domain.tax import GST_RATE, TaxLines, TaxMode, TaxPolicy, TaxRounding

INR = Currency.of("INR")
JPY = Currency.of("JPY")
WHOLE_RUPEES = TaxPolicy(rounding=TaxRounding.TOTAL_TO_MAJOR_UNIT)


def test_the_default_is_gst_at_18_percent_exclusive_rounded_per_line_half_up() -> None:
    policy = TaxPolicy()
    assert (policy.rate, policy.mode, policy.rounding, policy.rounding_mode) == (
        GST_RATE,
        TaxMode.EXCLUSIVE,
        TaxRounding.PER_LINE,
        Rounding.HALF_UP,
    )
    assert Rate.percent(18) == GST_RATE


def test_exclusive_tax_per_line_rounds_each_line_half_up() -> None:
    # 18% of 1,677,600 is 301,968 exactly; of 25 it is 4.5, which rounds to 5.
    assert TaxPolicy().apply([1_677_600, 25], INR) == TaxLines((1_677_600, 25), (301_968, 5))


def test_half_even_rounding_is_available() -> None:
    assert TaxPolicy(rounding_mode=Rounding.HALF_EVEN).apply([25], INR).tax == (4,)


def test_whole_unit_rounding_rounds_the_grand_total_and_the_tax_absorbs_it() -> None:
    # 16,776.00 + 18% = 19,795.68, which becomes 19,796: the tax is 3,020.00.
    assert WHOLE_RUPEES.apply([1_677_600], INR) == TaxLines((1_677_600,), (302_000,))


def test_whole_unit_tax_is_spread_over_the_lines_so_they_add_up() -> None:
    lines = WHOLE_RUPEES.apply([100_050, 200_025, 333], INR)
    assert lines.net == (100_050, 200_025, 333)
    grand_total = sum(lines.net) + sum(lines.tax)
    assert grand_total % 100 == 0
    assert grand_total == 354_500  # 3,004.08 + 18% = 3,544.8144, rounded to 3,545
    assert lines.tax == (18_015, 36_017, 60)


def test_whole_unit_rounding_never_makes_the_tax_negative() -> None:
    # 0.10 + 18% = 0.118, which would round down to 0.
    assert WHOLE_RUPEES.apply([10], INR) == TaxLines((10,), (0,))
    zero_rate = TaxPolicy(rate=Rate(0), rounding=TaxRounding.TOTAL_TO_MAJOR_UNIT)
    assert zero_rate.apply([100_040], INR) == TaxLines((100_040,), (0,))


def test_whole_unit_rounding_of_a_currency_without_minor_units_is_per_yen() -> None:
    assert WHOLE_RUPEES.apply([1_001], JPY) == TaxLines((1_001,), (180,))  # 180.18 -> 180


def test_inclusive_prices_hold_the_tax_inside_them() -> None:
    inclusive = TaxPolicy(mode=TaxMode.INCLUSIVE)
    # 1,180.00 holds 1,000.00 and 180.00 of tax; 1.00 holds 0.85 (0.847...) and 0.15.
    assert inclusive.apply([118_000, 100], INR) == TaxLines((100_000, 85), (18_000, 15))
    assert inclusive.net_of(118_000) == 100_000


def test_inclusive_prices_with_whole_unit_rounding_round_the_gross_total() -> None:
    policy = TaxPolicy(mode=TaxMode.INCLUSIVE, rounding=TaxRounding.TOTAL_TO_MAJOR_UNIT)
    # 1,180.50 rounds to 1,181; the pre-tax part stays 1,000.42.
    assert policy.apply([118_050], INR) == TaxLines((100_042,), (18_058,))


def test_no_lines_owe_no_tax() -> None:
    assert WHOLE_RUPEES.apply([0, 0], INR) == TaxLines((0, 0), (0, 0))
