"""Tax policies: GST at 18%, exclusive by default, computed per line.

Two ways of rounding are offered:

* ``PER_LINE`` (the default): each line's tax is rounded to the minor unit,
  half-up, and the tax total is their sum.
* ``TOTAL_TO_MAJOR_UNIT``: the grand total is rounded to the whole major
  unit (whole rupees, as Indian invoices often are) and the tax absorbs the
  round-off; the tax total is then split over the lines by largest remainder
  so the lines still add up. The round-off never makes the tax negative: when
  rounding down would take the total below the pre-tax amount, the total is
  the pre-tax amount and the tax is zero.

Prices may include the tax (``INCLUSIVE``): then each line's pre-tax amount
is the price divided by one plus the rate, rounded to the minor unit.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Final

from attrs import frozen

from checkout_core.domain.money import Currency, Rate, Rounding, allocate, divide, divide_each

__all__ = ["GST_RATE", "TaxLines", "TaxMode", "TaxPolicy", "TaxRounding"]

GST_RATE: Final = Rate.percent(18)
"""India's GST rate on online education and most services."""

_PPM: Final = 1_000_000


class TaxMode(enum.StrEnum):
    """Whether catalog prices are before tax or include it."""

    EXCLUSIVE = "exclusive"
    INCLUSIVE = "inclusive"


class TaxRounding(enum.StrEnum):
    """Where tax is rounded: on each line, or on the grand total to a whole major unit."""

    PER_LINE = "per_line"
    TOTAL_TO_MAJOR_UNIT = "total_to_major_unit"


@frozen(slots=False)
class TaxLines:
    """The pre-tax amount and the tax of each line, in the lines' order."""

    net: tuple[int, ...]
    tax: tuple[int, ...]


@frozen
class TaxPolicy:
    """How tax is charged on a cart."""

    rate: Rate = GST_RATE
    mode: TaxMode = TaxMode.EXCLUSIVE
    rounding: TaxRounding = TaxRounding.PER_LINE
    rounding_mode: Rounding = Rounding.HALF_UP

    def net_of(self, amount: int) -> int:
        """The pre-tax part of a line priced at ``amount`` under this policy's mode."""
        if self.mode is TaxMode.EXCLUSIVE:
            return amount
        return divide(amount * _PPM, _PPM + self.rate.ppm, self.rounding_mode)

    def apply(self, amounts: Sequence[int], currency: Currency) -> TaxLines:
        """The pre-tax amount and tax of each line priced at ``amounts`` (after discounts)."""
        if self.mode is TaxMode.EXCLUSIVE:
            net = tuple(amounts)
            if self.rounding is TaxRounding.PER_LINE:
                return TaxLines(net, tuple(self.rate.of_each(net, self.rounding_mode)))
            exact_total_numerator = sum(net) * (_PPM + self.rate.ppm)
            total = self._to_major_unit(exact_total_numerator, _PPM, currency, at_least=sum(net))
        else:
            gross_per_net = _PPM + self.rate.ppm
            net = tuple(divide_each(amounts, gross_per_net, self.rounding_mode, scale=_PPM))
            if self.rounding is TaxRounding.PER_LINE:
                return TaxLines(net, tuple(a - n for a, n in zip(amounts, net, strict=True)))
            total = self._to_major_unit(sum(amounts), 1, currency, at_least=sum(net))
        return TaxLines(net, tuple(allocate(total - sum(net), net)))

    def _to_major_unit(
        self, numerator: int, denominator: int, currency: Currency, *, at_least: int
    ) -> int:
        unit = currency.minor_per_major
        return max(divide(numerator, denominator * unit, self.rounding_mode) * unit, at_least)
