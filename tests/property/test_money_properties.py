from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from checkout_core.domain.money import Rounding, allocate, divide

weights = st.lists(st.integers(0, 10**9), min_size=1, max_size=50).filter(any)


@given(amount=st.integers(-(10**12), 10**12), weights=weights)
def test_an_allocation_sums_exactly_to_the_amount(amount: int, weights: list[int]) -> None:
    assert sum(allocate(amount, weights)) == amount


@given(amount=st.integers(-(10**12), 10**12), weights=weights)
def test_no_share_is_a_minor_unit_or_more_from_its_exact_value(
    amount: int, weights: list[int]
) -> None:
    total = sum(weights)
    for share, weight in zip(allocate(amount, weights), weights, strict=True):
        assert abs(share - Fraction(amount * weight, total)) < 1


@given(amount=st.integers(0, 10**12), weights=weights)
def test_a_zero_weight_gets_nothing(amount: int, weights: list[int]) -> None:
    for share, weight in zip(allocate(amount, weights), weights, strict=True):
        if weight == 0:
            assert share == 0


@given(
    numerator=st.integers(-(10**15), 10**15),
    denominator=st.integers(1, 10**9),
    rounding=st.sampled_from(Rounding),
)
def test_divide_lands_on_a_neighbour_of_the_exact_quotient(
    numerator: int, denominator: int, rounding: Rounding
) -> None:
    exact = Fraction(numerator, denominator)
    result = divide(numerator, denominator, rounding)
    assert abs(result - exact) < 1
    if rounding in (Rounding.HALF_UP, Rounding.HALF_EVEN):
        assert abs(result - exact) <= Fraction(1, 2)
    if rounding is Rounding.DOWN:
        assert abs(result) <= abs(exact)
    if rounding is Rounding.UP:
        assert abs(result) >= abs(exact)


@given(numerator=st.integers(0, 10**15), denominator=st.integers(1, 10**9))
def test_half_up_is_symmetric_around_zero(numerator: int, denominator: int) -> None:
    assert divide(-numerator, denominator) == -divide(numerator, denominator)
