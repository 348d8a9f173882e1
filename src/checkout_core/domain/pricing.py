"""The pricing engine: cart + catalog prices + sale + coupon + tax policy -> Estimate.

:func:`price_cart` is a pure function. It reads every price from the catalog
(never from the cart or the client), applies the sale line by line, then the
coupon on the amount after the sale (allocated over the lines by largest
remainder), then tax. Each line adds up (``subtotal + tax == total``) and the
lines add up to the totals, to the minor unit.

An estimate explains its discounts: a :class:`DiscountNote` for every sale
line and for the coupon, saying what was taken off or why nothing was. A
coupon that cannot be used does not fail the estimate; the note carries the
refusal's code and message. The services refuse it where refusing is the
answer (when the coupon is applied, when the order is placed).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

from attrs import frozen

from checkout_core.domain.cart import Cart
from checkout_core.domain.catalog import Offering, Period, Sale
from checkout_core.domain.discounts import NO_USAGE, Coupon, CouponUsage
from checkout_core.domain.money import Currency, Rate, Rounding, divide
from checkout_core.domain.tax import TaxMode, TaxPolicy
from checkout_core.errors import (
    CouponInvalid,
    CouponRejected,
    EmptyCart,
    MixedCurrencies,
    OfferingInactive,
    UnknownOffering,
)

__all__ = ["DiscountKind", "DiscountNote", "Estimate", "EstimateLine", "price_cart"]


class DiscountKind(enum.StrEnum):
    """Where a discount comes from."""

    SALE = "sale"
    COUPON = "coupon"


@frozen
class DiscountNote:
    """One discount rule and what it did: the amount it took off, or why it took nothing.

    ``offering_ids`` are the lines the note is about. ``error_code`` is the
    code of the refusal when a coupon was refused (``2004`` for an unknown
    code), ``None`` otherwise.
    """

    kind: DiscountKind
    name: str
    applied: bool
    amount: int
    reason: str
    offering_ids: tuple[str, ...]
    error_code: int | None = None


@frozen
class EstimateLine:
    """One priced line.

    ``base_price`` is the list price of the period; ``discount`` is what the
    sale and the coupon take off it (``sale_discount + coupon_discount``);
    ``subtotal`` is the pre-tax amount, ``tax`` its tax and ``total`` what the
    line costs. ``discount_percentage`` is the discount as a whole percentage
    of the base price, rounded down so that it never overstates the saving.
    """

    offering_id: str
    period: Period
    base_price: int
    sale_discount: int
    coupon_discount: int
    subtotal: int
    tax: int

    @property
    def discount(self) -> int:
        """What the sale and the coupon take off this line."""
        return self.sale_discount + self.coupon_discount

    @property
    def total(self) -> int:
        """What the line costs, tax included."""
        return self.subtotal + self.tax

    @property
    def discount_percentage(self) -> int:
        """The discount as a whole percentage of the base price, rounded down."""
        return _percentage(self.discount, self.base_price)


@frozen
class Estimate:
    """A priced cart: totals, lines and the notes on every discount.

    Amounts are integers of ``currency``'s minor unit. ``sub_total`` is the
    pre-tax amount after discounts, and ``sub_total + tax_total == total``.
    """

    currency: Currency
    tax_rate: Rate
    tax_mode: TaxMode
    base_price: int
    discount_amount: int
    sub_total: int
    tax_total: int
    lines: tuple[EstimateLine, ...]
    notes: tuple[DiscountNote, ...]
    coupon_code: str | None

    @property
    def total(self) -> int:
        """What the cart costs, tax included."""
        return self.sub_total + self.tax_total

    @property
    def discount_percentage(self) -> int:
        """All discounts as a whole percentage of the base price, rounded down."""
        return _percentage(self.discount_amount, self.base_price)

    @property
    def requires_payment(self) -> bool:
        """Whether an order at this price must be paid (it is free otherwise)."""
        return self.total > 0

    @property
    def coupon_applied(self) -> bool:
        """Whether the cart's coupon took something off."""
        return any(note.applied for note in self.notes if note.kind is DiscountKind.COUPON)

    @property
    def coupon_refusal(self) -> DiscountNote | None:
        """The note saying why the cart's coupon was refused, if it was."""
        for note in self.notes:
            if note.kind is DiscountKind.COUPON and not note.applied and note.error_code:
                return note
        return None


def _percentage(part: int, whole: int) -> int:
    return divide(part * 100, whole, Rounding.DOWN) if whole > 0 else 0


def _list_prices(cart: Cart, offerings: Mapping[str, Offering]) -> tuple[list[int], Currency]:
    """The list price of each line from the catalog, refusing lines no longer sold."""
    base = []
    currency = None
    for line in cart.lines:
        offering = offerings.get(line.offering_id)
        if offering is None:
            raise UnknownOffering(f"{line.offering_id} does not exist")
        if not offering.active:
            raise OfferingInactive(f"{line.offering_id} is no longer available")
        if currency is None:
            currency = offering.currency
        elif offering.currency != currency:
            raise MixedCurrencies
        base.append(offering.list_price(line.period))
    if currency is None:
        raise EmptyCart
    return base, currency


def _sale_discounts(
    cart: Cart, base: list[int], sale: Sale | None, now: datetime, notes: list[DiscountNote]
) -> list[int]:
    """The discount the sale takes off each line, noting what it did and why not."""
    slug = cart.sale_slug
    if slug is None:
        return [0] * len(base)
    if sale is None or sale.slug != slug:
        why = "the sale does not exist"
    elif not sale.is_running(now):
        why = "the sale has not started" if now < sale.starts_at else "the sale has ended"
    else:
        return _running_sale_discounts(cart, base, sale, notes)
    notes.append(DiscountNote(DiscountKind.SALE, slug, False, 0, why, cart.offering_ids))
    return [0] * len(base)


def _running_sale_discounts(
    cart: Cart, base: list[int], sale: Sale, notes: list[DiscountNote]
) -> list[int]:
    discounts = []
    # Lines are grouped by outcome so a note covers all the lines it explains.
    outcomes: dict[str, list[str]] = {}
    for line, list_price in zip(cart.lines, base, strict=True):
        price = sale.sale_price(line.offering_id, line.period, list_price)
        if price is None:
            outcome = "the sale does not cover this product"
        elif price >= list_price:
            outcome = "the sale price is not below the list price"
        else:
            outcome = ""
        discounts.append(list_price - price if price is not None and not outcome else 0)
        outcomes.setdefault(outcome, []).append(line.offering_id)
    for outcome, offering_ids in outcomes.items():
        if outcome:
            notes.append(DiscountNote(DiscountKind.SALE, sale.slug, False, 0, outcome, tuple(offering_ids)))
        else:
            notes.append(
                DiscountNote(DiscountKind.SALE, sale.slug, True, sum(discounts), "sale price", tuple(offering_ids))
            )
    return discounts


def _coupon_discounts(  # noqa: PLR0913 - the coupon's rules need all of these
    cart: Cart,
    after_sale: list[int],
    sale_discounts: list[int],
    currency: Currency,
    coupon: Coupon | None,
    usage: CouponUsage,
    now: datetime,
    notes: list[DiscountNote],
) -> tuple[list[int], str | None]:
    """The discount the cart's coupon takes off each line, with a note, and the code used."""
    code = cart.coupon_code
    if code is None:
        return [0] * len(after_sale), None
    try:
        if coupon is None or coupon.code != code:
            raise CouponInvalid
        coupon.check_availability(now=now, usage=usage, user_id=cart.owner_id)
        discount = coupon.discount_for(
            after_sale,
            offering_ids=cart.offering_ids,
            on_sale=[sale > 0 for sale in sale_discounts],
            currency=currency,
        )
    except CouponRejected as refusal:
        reason = refusal.detail or refusal.message
        notes.append(
            DiscountNote(DiscountKind.COUPON, code, False, 0, reason, cart.offering_ids, refusal.code)
        )
        return [0] * len(after_sale), None
    covered = tuple(
        line.offering_id for line, amount in zip(cart.lines, discount.per_line, strict=True) if amount
    )
    notes.append(DiscountNote(DiscountKind.COUPON, code, True, discount.total, coupon.describe(), covered))
    return list(discount.per_line), code


def price_cart(  # noqa: PLR0913 - pricing is a function of all of these and nothing else
    cart: Cart,
    offerings: Mapping[str, Offering],
    *,
    tax: TaxPolicy,
    now: datetime,
    sale: Sale | None = None,
    coupon: Coupon | None = None,
    coupon_usage: CouponUsage = NO_USAGE,
) -> Estimate:
    """Price ``cart`` from the catalog's ``offerings`` at ``now``.

    ``sale`` is the sale named by the cart's ``sale_slug`` and ``coupon`` the
    coupon stored under its ``coupon_code`` (``None`` when there is no such
    sale or coupon); ``coupon_usage`` counts the coupon's redemptions, in all
    and by the cart's owner. Raises when a line can no longer be sold
    (unknown or inactive offering, period no longer offered, mixed
    currencies); a sale or coupon that does not apply is explained in the
    estimate's notes instead.
    """
    base, currency = _list_prices(cart, offerings)
    notes: list[DiscountNote] = []
    sale_discounts = _sale_discounts(cart, base, sale, now, notes)
    after_sale = [b - d for b, d in zip(base, sale_discounts, strict=True)]
    coupon_discounts, applied_code = _coupon_discounts(
        cart, after_sale, sale_discounts, currency, coupon, coupon_usage, now, notes
    )
    taxed = tax.apply([a - c for a, c in zip(after_sale, coupon_discounts, strict=True)], currency)
    lines = tuple(
        EstimateLine(
            offering_id=line.offering_id,
            period=line.period,
            base_price=line_base,
            sale_discount=line_sale,
            coupon_discount=line_coupon,
            subtotal=net,
            tax=line_tax,
        )
        for line, line_base, line_sale, line_coupon, net, line_tax in zip(
            cart.lines, base, sale_discounts, coupon_discounts, taxed.net, taxed.tax, strict=True
        )
    )
    return Estimate(
        currency=currency,
        tax_rate=tax.rate,
        tax_mode=tax.mode,
        base_price=sum(base),
        discount_amount=sum(sale_discounts) + sum(coupon_discounts),
        sub_total=sum(taxed.net),
        tax_total=sum(taxed.tax),
        lines=lines,
        notes=tuple(notes),
        coupon_code=applied_code,
    )
