from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from checkout_core.domain.catalog import (
    MAX_PERIOD_VALUE,
    Offering,
    Period,
    PeriodUnit,
    PricePlan,
    Sale,
    SalePercentage,
    SalePrice,
)
from checkout_core.domain.money import Currency, Rate
from checkout_core.errors import (
    InvalidAmount,
    InvalidPeriod,
    InvalidRate,
    InvalidRequest,
    PeriodNotAllowed,
)

INR = Currency.of("INR")
NOW = datetime(2024, 6, 15, tzinfo=UTC)


def internship(**changes: object) -> Offering:
    fields: dict[str, object] = {
        "id": "int_123",
        "title": "Backend internship",
        "currency": INR,
        "plans": [PricePlan("month", 1_439_200, 1, 6)],
    }
    fields.update(changes)
    return Offering(**fields)  # type: ignore[arg-type]


def test_a_period_takes_a_unit_by_name() -> None:
    assert Period(3, "month") == Period(3, PeriodUnit.MONTH)
    assert str(Period(3, "month")) == "3 months"
    assert str(Period(1, "week")) == "1 week"


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        (0, "month"),
        (-1, "month"),
        (MAX_PERIOD_VALUE + 1, "day"),
        (1.5, "month"),
        (True, "month"),
        (3, "fortnight"),
    ],
)
def test_a_period_that_is_not_a_whole_positive_number_of_a_known_unit_is_refused(
    value: object, unit: str
) -> None:
    with pytest.raises(InvalidPeriod) as raised:
        Period(value, unit)  # type: ignore[arg-type]
    assert raised.value.code == 1006


def test_the_list_price_is_the_unit_price_times_the_period() -> None:
    assert internship().list_price(Period(3, "month")) == 4_317_600


@pytest.mark.parametrize("period", [Period(7, "month"), Period(3, "week")])
def test_a_period_outside_the_offerings_plans_is_not_allowed(period: Period) -> None:
    with pytest.raises(PeriodNotAllowed) as raised:
        internship().list_price(period)
    assert raised.value.code == 1110
    assert "1-6 month" in str(raised.value)


def test_an_offering_can_be_sold_by_several_units() -> None:
    offering = internship(plans=[PricePlan("month", 100, 1, 3), PricePlan("week", 30, 1, 8)])
    assert offering.list_price(Period(2, "week")) == 60
    assert offering.list_price(Period(2, "month")) == 200


def test_an_offering_priced_at_zero_is_free() -> None:
    assert internship(plans=[PricePlan("month", 0)]).is_free
    assert not internship().is_free


@pytest.mark.parametrize(
    "changes",
    [{"id": ""}, {"plans": []}, {"plans": [PricePlan("month", 1), PricePlan("month", 2)]}],
)
def test_an_offering_without_an_id_or_with_no_or_clashing_plans_is_refused(
    changes: dict[str, object],
) -> None:
    with pytest.raises(InvalidRequest):
        internship(**changes)


@pytest.mark.parametrize("price", [-1, 1.5, True])
def test_a_plan_price_must_be_a_non_negative_integer(price: object) -> None:
    with pytest.raises(InvalidAmount):
        PricePlan("month", price)  # type: ignore[arg-type]


def test_a_plan_with_an_empty_range_is_refused() -> None:
    with pytest.raises(InvalidPeriod):
        PricePlan("month", 100, min_value=4, max_value=3)


def summer(*rules: SalePrice | SalePercentage) -> Sale:
    return Sale("summer2024", NOW - timedelta(days=1), NOW + timedelta(days=30), rules)


def test_a_sale_runs_in_a_half_open_window() -> None:
    sale = summer()
    assert sale.is_running(sale.starts_at)
    assert sale.is_running(NOW)
    assert not sale.is_running(sale.ends_at)
    assert not sale.is_running(sale.starts_at - timedelta(microseconds=1))


def test_a_sale_price_is_per_unit_of_the_period() -> None:
    sale = summer(SalePrice("int_123", "month", 559_200))
    assert sale.sale_price("int_123", Period(3, "month"), 4_317_600) == 1_677_600
    assert sale.sale_price("int_123", Period(3, "week"), 100) is None
    assert sale.sale_price("int_999", Period(3, "month"), 100) is None


def test_a_sale_percentage_covers_every_period_of_its_offering() -> None:
    sale = summer(SalePercentage("int_123", Rate.percent(25)))
    assert sale.sale_price("int_123", Period(2, "week"), 1_001) == 751  # 250.25 off, half-up


def test_a_sale_never_raises_a_price_and_the_lowest_rule_wins() -> None:
    sale = summer(
        SalePrice("int_123", "month", 2_000_000),
        SalePercentage("int_123", Rate.percent(10)),
    )
    assert sale.sale_price("int_123", Period(1, "month"), 1_000_000) == 900_000
    only_higher = summer(SalePrice("int_123", "month", 2_000_000))
    assert only_higher.sale_price("int_123", Period(1, "month"), 1_000_000) == 1_000_000


def test_a_sale_cannot_take_off_more_than_everything() -> None:
    with pytest.raises(InvalidRate):
        SalePercentage("int_123", Rate.percent(101))


def test_a_sale_needs_an_aware_window_that_ends_after_it_starts() -> None:
    with pytest.raises(InvalidRequest):
        Sale("s", NOW, NOW, ())
    with pytest.raises(InvalidRequest):
        Sale("s", NOW.replace(tzinfo=None), NOW + timedelta(days=1), ())
