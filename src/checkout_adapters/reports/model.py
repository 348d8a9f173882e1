"""What a daily report holds: the conversion funnel and the revenue, broken down.

Every amount is an integer of its currency's minor unit, and every row of
money names its currency: amounts of two currencies are never added up.
Counts of carts carry no currency (a cart's currency is not stored; it
follows from its offerings).

What the figures mean:

* A cart is counted on the UTC day it was created; it is *ordered* when an
  order was placed from it (at any time up to the report), and *paid* when
  that order was charged. The funnel follows the carts created in the
  report's days, so its rates never exceed one.
* An order is *charged* when its status is one a payment (or a free
  checkout) led to: ``paid``, ``completed``, ``partially_refunded`` or
  ``refunded``. Revenue counts the charged orders placed in the report's
  days, on the UTC day they were placed; refunds are reported beside, not
  taken off, so that a later refund does not rewrite what a day earned.
* ``gross`` is the list price before any discount (as the order was priced:
  tax included under an inclusive tax policy), ``discount`` what the sale
  and the coupon took off, ``tax`` the tax, and ``net`` what was charged
  (the order's total, tax included). Under exclusive tax
  ``gross - discount + tax == net``.
"""

from __future__ import annotations

from datetime import date

from attrs import frozen

__all__ = [
    "CHARGED_STATUSES",
    "CouponRevenue",
    "DailyReport",
    "DayConversion",
    "DayRevenue",
    "OfferingRevenue",
    "SourceConversion",
    "SourceRevenue",
    "rate",
]

CHARGED_STATUSES: tuple[str, ...] = ("paid", "completed", "partially_refunded", "refunded")
"""The order statuses that count as charged: the money was taken (and may since be refunded)."""


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` to four decimals, or ``None`` when ``whole`` is zero."""
    return round(part / whole, 4) if whole else None


@frozen
class DayConversion:
    """The funnel of the carts created on one UTC day."""

    day: date
    carts: int
    ordered: int
    paid: int

    @property
    def order_rate(self) -> float | None:
        """The share of the carts an order was placed from."""
        return rate(self.ordered, self.carts)

    @property
    def payment_rate(self) -> float | None:
        """The share of the orders placed that were charged."""
        return rate(self.paid, self.ordered)

    @property
    def conversion_rate(self) -> float | None:
        """The share of the carts that ended in a charged order."""
        return rate(self.paid, self.carts)


@frozen
class SourceConversion:
    """The funnel of the carts of one analytics source and campaign (``None`` when absent)."""

    source: str | None
    campaign: str | None
    carts: int
    ordered: int
    paid: int

    @property
    def order_rate(self) -> float | None:
        """The share of the carts an order was placed from."""
        return rate(self.ordered, self.carts)

    @property
    def conversion_rate(self) -> float | None:
        """The share of the carts that ended in a charged order."""
        return rate(self.paid, self.carts)


@frozen
class DayRevenue:
    """The charged orders placed on one UTC day, in one currency."""

    day: date
    currency: str
    orders: int
    gross: int
    discount: int
    tax: int
    net: int
    refunded: int


@frozen
class OfferingRevenue:
    """The lines of one offering in the charged orders, in one currency.

    ``net`` is what the lines cost, tax included; the discounts are split
    into the sale's and the coupon's.
    """

    offering_id: str
    currency: str
    lines: int
    gross: int
    sale_discount: int
    coupon_discount: int
    tax: int
    net: int


@frozen
class CouponRevenue:
    """The charged orders one coupon applied to, in one currency.

    ``coupon_discount`` is what the coupon took off; ``discount`` counts the
    sale's discount on the same orders too.
    """

    coupon_code: str
    currency: str
    orders: int
    gross: int
    discount: int
    coupon_discount: int
    tax: int
    net: int
    refunded: int


@frozen
class SourceRevenue:
    """The charged orders of one analytics source and campaign, in one currency.

    Orders whose cart has been deleted (past the carts' retention) have no
    source and no campaign.
    """

    source: str | None
    campaign: str | None
    currency: str
    orders: int
    gross: int
    discount: int
    tax: int
    net: int
    refunded: int


@frozen
class DailyReport:
    """Conversion and revenue over the ``days`` UTC days ending with ``day``.

    ``conversion`` has a row for every day, empty days included;
    ``revenue`` a row for every day and every currency charged in the
    period (or the one ``currency`` asked for). The other breakdowns list
    only what was sold. ``currency`` restricts the revenue to one currency;
    the funnel always counts every cart.
    """

    day: date
    days: int
    currency: str | None
    conversion: tuple[DayConversion, ...]
    revenue: tuple[DayRevenue, ...]
    offerings: tuple[OfferingRevenue, ...]
    coupons: tuple[CouponRevenue, ...]
    source_conversion: tuple[SourceConversion, ...]
    sources: tuple[SourceRevenue, ...]

    @property
    def first_day(self) -> date:
        """The report's first day."""
        return self.conversion[0].day if self.conversion else self.day

    @property
    def currencies(self) -> tuple[str, ...]:
        """The currencies of the revenue, sorted."""
        return tuple(sorted({row.currency for row in self.revenue}))

    def totals(self, currency: str) -> DayRevenue:
        """The revenue of the whole period in ``currency``, as one row dated ``day``."""
        rows = [row for row in self.revenue if row.currency == currency]
        return DayRevenue(
            day=self.day,
            currency=currency,
            orders=sum(row.orders for row in rows),
            gross=sum(row.gross for row in rows),
            discount=sum(row.discount for row in rows),
            tax=sum(row.tax for row in rows),
            net=sum(row.net for row in rows),
            refunded=sum(row.refunded for row in rows),
        )
