from __future__ import annotations

from decimal import Decimal

import pytest

from checkout_core.domain.money import Currency, Money, Rate, Rounding, allocate, divide
from checkout_core.errors import CurrencyMismatch, InvalidAmount, InvalidRate, UnknownCurrency

INR = Currency.of("INR")
USD = Currency.of("USD")


@pytest.mark.parametrize(
    ("code", "exponent"), [("INR", 2), ("USD", 2), ("JPY", 0), ("KWD", 3), ("inr", 2)]
)
def test_a_currency_knows_its_minor_unit_exponent(code: str, exponent: int) -> None:
    assert Currency.of(code).exponent == exponent


def test_an_unknown_currency_is_refused_with_its_code() -> None:
    with pytest.raises(UnknownCurrency) as raised:
        Currency.of("XXX")
    assert raised.value.code == 1002


def test_currencies_are_shared_instances() -> None:
    assert Currency.of("inr") is Currency.of("INR")


@pytest.mark.parametrize("amount", [1.5, 100.0, "100", None, True])
def test_money_refuses_anything_but_an_integer_amount(amount: object) -> None:
    with pytest.raises(InvalidAmount):
        Money(amount, INR)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("14392", INR, 1_439_200),
        ("0.5", INR, 50),
        ("100", Currency.of("JPY"), 100),
        ("1.234", Currency.of("KWD"), 1234),
        (Decimal("-2.50"), USD, -250),
    ],
)
def test_an_amount_in_major_units_is_read_exactly(
    text: str | Decimal, currency: Currency, minor: int
) -> None:
    assert Money.of_major(text, currency) == Money(minor, currency)


@pytest.mark.parametrize("text", ["0.001", "1.5e-3", "abc", "NaN", "Infinity"])
def test_an_amount_with_more_decimals_than_the_currency_or_no_amount_is_refused(
    text: str,
) -> None:
    with pytest.raises(InvalidAmount):
        Money.of_major(text, INR)


def test_a_float_is_refused_as_a_major_amount() -> None:
    with pytest.raises(InvalidAmount):
        Money.of_major(0.1, INR)  # type: ignore[arg-type]


def test_money_converts_back_to_major_units_exactly() -> None:
    assert Money(1_979_600, INR).to_major() == Decimal("19796.00")
    assert str(Money(1_979_600, INR)) == "19796.00 INR"


def test_money_adds_subtracts_negates_and_multiplies_by_integers() -> None:
    a, b = Money(1000, INR), Money(250, INR)
    assert a + b == Money(1250, INR)
    assert a - b == Money(750, INR)
    assert -a == Money(-1000, INR)
    assert a * 3 == Money(3000, INR) == 3 * a


def test_money_refuses_to_multiply_by_a_float() -> None:
    with pytest.raises(InvalidAmount):
        Money(1000, INR) * 1.5  # type: ignore[operator]


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
)
def test_arithmetic_and_comparison_refuse_mixed_currencies(operation: object) -> None:
    with pytest.raises(CurrencyMismatch) as raised:
        operation(Money(1, INR), Money(1, USD))  # type: ignore[operator]
    assert raised.value.code == 1003


def test_money_of_one_currency_compares_by_amount() -> None:
    assert Money(1, INR) < Money(2, INR) <= Money(2, INR)
    assert Money(3, INR) > Money(2, INR) >= Money(2, INR)
    assert not Money(0, INR)
    assert Money(1, INR) != Money(1, USD)


@pytest.mark.parametrize(
    ("numerator", "denominator", "rounding", "expected"),
    [
        (5, 2, Rounding.HALF_UP, 3),
        (-5, 2, Rounding.HALF_UP, -3),
        (5, 2, Rounding.HALF_EVEN, 2),
        (7, 2, Rounding.HALF_EVEN, 4),
        (-5, 2, Rounding.HALF_EVEN, -2),
        (14, 10, Rounding.HALF_UP, 1),
        (16, 10, Rounding.HALF_UP, 2),
        (-16, 10, Rounding.HALF_UP, -2),
        (19, 10, Rounding.DOWN, 1),
        (-19, 10, Rounding.DOWN, -1),
        (11, 10, Rounding.UP, 2),
        (-11, 10, Rounding.UP, -2),
        (20, 10, Rounding.UP, 2),
        (0, 7, Rounding.UP, 0),
    ],
)
def test_divide_rounds_as_it_is_told(
    numerator: int, denominator: int, rounding: Rounding, expected: int
) -> None:
    assert divide(numerator, denominator, rounding) == expected


def test_divide_refuses_a_non_positive_denominator() -> None:
    with pytest.raises(InvalidAmount):
        divide(1, 0)


def test_a_percentage_of_money_rounds_half_up_by_default_and_half_even_on_request() -> None:
    # 18% of 25 paise is 4.5 paise.
    assert Money(25, INR).percent(Rate.percent(18)) == Money(5, INR)
    assert Money(25, INR).percent(Rate.percent(18), Rounding.HALF_EVEN) == Money(4, INR)


def test_allocation_gives_the_leftover_units_to_the_largest_remainders() -> None:
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [1, 2, 7]) == [1, 2, 7]
    assert allocate(5, [3, 7]) == [2, 3]  # 1.5 and 3.5: the tie goes to the earliest
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]
    assert allocate(0, [0, 0]) == [0, 0]
    assert allocate(7, [0, 5, 0]) == [0, 7, 0]


@pytest.mark.parametrize(("amount", "weights"), [(1, []), (1, [0, 0]), (1, [1, -1])])
def test_allocation_refuses_weights_that_cannot_carry_the_amount(
    amount: int, weights: list[int]
) -> None:
    with pytest.raises(InvalidAmount):
        allocate(amount, weights)


def test_money_allocates_into_money_of_its_currency() -> None:
    assert Money(100, INR).allocate([1, 3]) == [Money(25, INR), Money(75, INR)]


@pytest.mark.parametrize(
    ("text", "ppm", "shown"),
    [
        ("18", 180_000, "18%"),
        ("8.875", 88_750, "8.875%"),
        (0, 0, "0%"),
        ("12.50", 125_000, "12.5%"),
    ],
)
def test_a_rate_is_read_exactly_and_shown_without_trailing_zeros(
    text: str | int, ppm: int, shown: str
) -> None:
    rate = Rate.percent(text)
    assert rate.ppm == ppm
    assert str(rate) == shown


@pytest.mark.parametrize("text", ["0.00001", "-1", "abc", "NaN"])
def test_a_rate_that_is_too_fine_negative_or_not_a_number_is_refused(text: str) -> None:
    with pytest.raises(InvalidRate) as raised:
        Rate.percent(text)
    assert raised.value.code == 1005


def test_a_float_rate_is_refused() -> None:
    with pytest.raises(InvalidRate):
        Rate.percent(18.0)  # type: ignore[arg-type]


def test_a_rate_of_a_ratio_is_rounded_down_to_the_ppm_and_zero_for_nothing() -> None:
    assert Rate.of_ratio(1, 3) == Rate(333_333)
    assert Rate.of_ratio(5, 0) == Rate(0)
    assert Rate.percent(0).is_zero
