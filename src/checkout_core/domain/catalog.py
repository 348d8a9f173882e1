"""What can be bought: offerings, the periods they are sold for, and sales.

An :class:`Offering` (an internship, in the example) is sold by the period: a
list price per period unit, for a number of units within an allowed range.
A :class:`Sale` lowers the price of some offerings for a while, by a sale
price per unit or by a percentage.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from attrs import Factory, field, frozen

from checkout_core.domain.money import Currency, Rate, Rounding
from checkout_core.domain.validators import non_negative
from checkout_core.errors import (
    InvalidPeriod,
    InvalidRate,
    InvalidRequest,
    PeriodNotAllowed,
)

__all__ = [
    "MAX_PERIOD_VALUE",
    "Offering",
    "Period",
    "PeriodUnit",
    "PricePlan",
    "Sale",
    "SalePercentage",
    "SalePrice",
    "SaleRule",
]

MAX_PERIOD_VALUE: Final = 1000
"""No period is longer than this many units, whatever an offering allows."""


class PeriodUnit(enum.StrEnum):
    """The unit a period is counted in."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def _period_value(value: int) -> int:
    if type(value) is not int:
        raise InvalidPeriod(f"a period's value is a whole number, not {value!r}")
    if not 1 <= value <= MAX_PERIOD_VALUE:
        raise InvalidPeriod(f"a period's value is between 1 and {MAX_PERIOD_VALUE}, not {value}")
    return value


def _period_unit(unit: PeriodUnit | str) -> PeriodUnit:
    try:
        return PeriodUnit(str(unit))
    except ValueError:
        units = ", ".join(PeriodUnit)
        raise InvalidPeriod(f"a period's unit is one of {units}, not {unit!r}") from None


@frozen
class Period:
    """A length of time an offering is bought for, such as three months."""

    value: int = field(converter=_period_value)
    unit: PeriodUnit = field(converter=_period_unit)

    def __str__(self) -> str:
        return f"{self.value} {self.unit}{'s' if self.value != 1 else ''}"


@frozen
class PricePlan:
    """The list price of one period unit and how many units may be bought."""

    unit: PeriodUnit = field(converter=_period_unit)
    unit_price: int = field(validator=non_negative)
    min_value: int = field(default=1, converter=_period_value)
    max_value: int = field(default=MAX_PERIOD_VALUE, converter=_period_value)

    def __attrs_post_init__(self) -> None:
        if self.min_value > self.max_value:
            raise InvalidPeriod(f"{self.min_value} to {self.max_value} {self.unit}s is empty")


def _plans(plans: Iterable[PricePlan]) -> tuple[PricePlan, ...]:
    return tuple(plans)


@frozen
class Offering:
    """Something sold by the period, priced in one currency.

    An offering whose plans are all priced at zero is free: ordering it needs
    no payment.
    """

    id: str
    title: str
    currency: Currency
    plans: tuple[PricePlan, ...] = field(converter=_plans)
    active: bool = True

    def __attrs_post_init__(self) -> None:
        if not self.id:
            raise InvalidRequest("an offering needs an id")
        if not self.plans:
            raise InvalidRequest(f"offering {self.id} has no price plan")
        units = [plan.unit for plan in self.plans]
        if len(set(units)) != len(units):
            raise InvalidRequest(f"offering {self.id} has two plans for one unit")

    @property
    def is_free(self) -> bool:
        """Whether every period of this offering costs nothing."""
        return all(plan.unit_price == 0 for plan in self.plans)

    def plan_for(self, period: Period) -> PricePlan:
        """The plan ``period`` is sold under, or :class:`PeriodNotAllowed`."""
        unit, value = period.unit, period.value
        for plan in self.plans:
            if plan.unit is unit and plan.min_value <= value <= plan.max_value:
                return plan
        offered = ", ".join(f"{p.min_value}-{p.max_value} {p.unit}" for p in self.plans)
        raise PeriodNotAllowed(f"{self.id} is not sold for {period}; it is sold for {offered}")

    def list_price(self, period: Period) -> int:
        """The list price of ``period``, in minor units."""
        return self.plan_for(period).unit_price * period.value


@frozen
class SalePrice:
    """A sale price per period unit for one offering."""

    offering_id: str
    unit: PeriodUnit = field(converter=_period_unit)
    unit_price: int = field(validator=non_negative)

    def price_for(self, period: Period, list_price: int) -> int | None:
        """The price of ``period`` of the offering under this rule; ``None`` for another unit."""
        if period.unit is not self.unit:
            return None
        return min(self.unit_price * period.value, list_price)


def _percentage_off(_instance: object, _attribute: object, rate: Rate) -> None:
    if rate.ppm > Rate.percent(100).ppm:
        raise InvalidRate(f"a sale cannot take off more than 100%, not {rate}")


@frozen
class SalePercentage:
    """A percentage off the list price of one offering, for any period."""

    offering_id: str
    rate: Rate = field(validator=_percentage_off)
    rounding: Rounding = Rounding.HALF_UP

    def price_for(self, period: Period, list_price: int) -> int:
        """The price of ``period`` of the offering under this rule: every period is covered."""
        del period
        return list_price - self.rate.of(list_price, self.rounding)


SaleRule = SalePrice | SalePercentage


def _rules(rules: Iterable[SaleRule]) -> tuple[SaleRule, ...]:
    return tuple(rules)


def _rules_by_offering(rules: tuple[SaleRule, ...]) -> dict[str, tuple[SaleRule, ...]]:
    index: dict[str, list[SaleRule]] = {}
    for rule in rules:
        index.setdefault(rule.offering_id, []).append(rule)
    return {offering_id: tuple(found) for offering_id, found in index.items()}


@frozen
class Sale:
    """A time-limited set of lower prices, named by a slug such as ``summer2024``.

    The window is half-open: the sale runs from ``starts_at`` until just
    before ``ends_at``. A sale never raises a price above the list price.
    """

    slug: str
    starts_at: datetime
    ends_at: datetime
    rules: tuple[SaleRule, ...] = field(converter=_rules)
    # Pricing looks rules up by offering for every line, so a sale covering
    # many offerings must not cost a scan of all its rules per line.
    _by_offering: dict[str, tuple[SaleRule, ...]] = field(
        init=False,
        eq=False,
        repr=False,
        default=Factory(lambda self: _rules_by_offering(self.rules), takes_self=True),
    )

    def __attrs_post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise InvalidRequest(f"sale {self.slug} needs timezone-aware start and end")
        if self.ends_at <= self.starts_at:
            raise InvalidRequest(f"sale {self.slug} ends before it starts")

    def is_running(self, now: datetime) -> bool:
        """Whether the sale is on at ``now``."""
        return self.starts_at <= now < self.ends_at

    def sale_price(self, offering_id: str, period: Period, list_price: int) -> int | None:
        """The sale price of ``period`` of ``offering_id``, or ``None`` when not covered.

        When several rules cover the same line, the lowest price wins.
        """
        best: int | None = None
        for rule in self._by_offering.get(offering_id, ()):
            price = rule.price_for(period, list_price)
            if price is not None and (best is None or price < best):
                best = price
        return best
