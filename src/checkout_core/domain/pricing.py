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


@frozen(slots=False)
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


@frozen(slots=False)
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


@frozen(slots=False)
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


def _running_sale(cart: Cart, sale: Sale | None, now: datetime) -> tuple[Sale | None, str | None]:
    """The sale to apply to the cart, or why the cart's sale cannot be applied."""
    slug = cart.sale_slug
    if slug is None:
        return None, None
    if sale is None or sale.slug != slug:
        return None, "the sale does not exist"
    if now < sale.starts_at:
        return None, "the sale has not started"
    if now >= sale.ends_at:
        return None, "the sale has ended"
    return sale, None


@frozen(slots=False)
class _Prices:
    """Each line's list price, what the sale takes off it and what is left."""

    currency: Currency
    base: list[int]
    sale_discounts: list[int]
    after_sale: list[int]


def _list_and_sale_prices(  # noqa: C901 - one pass over the lines keeps pricing linear
    cart: Cart, offerings: Mapping[str, Offering], sale: Sale | None, notes: list[DiscountNote]
) -> _Prices:
    """Price each line from the catalog and apply the running ``sale``, if any.

    Refuses lines the catalog no longer sells. Notes what the sale did, with
    the lines it left alone grouped by reason: one note per reason.
    """
    currency = None
    base: list[int] = []
    sale_discounts: list[int] = []
    after_sale: list[int] = []
    applied: list[str] = []
    refused: dict[str, list[str]] = {}
    for line in cart.lines:
        offering_id = line.offering_id
        offering = offerings.get(offering_id)
        if offering is None:
            raise UnknownOffering(f"{offering_id} does not exist")
        if not offering.active:
            raise OfferingInactive(f"{offering_id} is no longer available")
        if currency is None:
            currency = offering.currency
        elif offering.currency is not currency and offering.currency != currency:
            raise MixedCurrencies
        period = line.period
        list_price = offering.plan_for(period).unit_price * period.value
        base.append(list_price)
        price = None if sale is None else sale.sale_price(offering_id, period, list_price)
        if price is not None and price < list_price:
            sale_discounts.append(list_price - price)
            after_sale.append(price)
            applied.append(offering_id)
            continue
        sale_discounts.append(0)
        after_sale.append(list_price)
        if sale is not None:
            reason = "the sale does not cover this product" if price is None else _NOT_BELOW_LIST
            refused.setdefault(reason, []).append(offering_id)
    if currency is None:
        raise EmptyCart
    if sale is not None:
        if applied:
            taken = sum(sale_discounts)
            notes.append(_sale_note(sale.slug, "sale price", tuple(applied), taken))
        notes.extend(_sale_note(sale.slug, why, tuple(ids)) for why, ids in refused.items())
    return _Prices(currency, base, sale_discounts, after_sale)


_NOT_BELOW_LIST = "the sale price is not below the list price"


def _sale_note(
    slug: str, reason: str, offering_ids: tuple[str, ...], amount: int = 0
) -> DiscountNote:
    return DiscountNote(DiscountKind.SALE, slug, amount > 0, amount, reason, offering_ids)


def _coupon_discounts(  # noqa: PLR0913 - the coupon's rules need all of these
    cart: Cart,
    prices: _Prices,
    *,
    coupon: Coupon | None,
    usage: CouponUsage,
    now: datetime,
    notes: list[DiscountNote],
) -> tuple[list[int], str | None]:
    """The discount the cart's coupon takes off each line, with a note, and the code used."""
    code = cart.coupon_code
    if code is None:
        return [0] * len(prices.base), None
    offering_ids = cart.offering_ids
    try:
        if coupon is None or coupon.code != code:
            raise CouponInvalid
        coupon.check_availability(now=now, usage=usage, user_id=cart.owner_id)
        shares = coupon.discount_for(
            prices.after_sale,
            offering_ids=offering_ids,
            sale_discounts=prices.sale_discounts,
            currency=prices.currency,
        )
    except CouponRejected as refusal:
        reason = refusal.detail or refusal.message
        notes.append(
            DiscountNote(
                DiscountKind.COUPON,
                code,
                applied=False,
                amount=0,
                reason=reason,
                offering_ids=offering_ids,
                error_code=refusal.code,
            )
        )
        return [0] * len(prices.base), None
    covered = (
        offering_ids
        if all(shares)
        else tuple(i for i, share in zip(offering_ids, shares, strict=True) if share)
    )
    notes.append(
        DiscountNote(
            DiscountKind.COUPON,
            code,
            applied=True,
            amount=sum(shares),
            reason=coupon.describe(),
            offering_ids=covered,
        )
    )
    return shares, code


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
    notes: list[DiscountNote] = []
    running, why_not = _running_sale(cart, sale, now)
    if why_not is not None and cart.sale_slug is not None:
        notes.append(_sale_note(cart.sale_slug, why_not, cart.offering_ids))
    prices = _list_and_sale_prices(cart, offerings, running, notes)
    coupon_discounts, applied_code = _coupon_discounts(
        cart, prices, coupon=coupon, usage=coupon_usage, now=now, notes=notes
    )
    base, sale_discounts, after_sale = prices.base, prices.sale_discounts, prices.after_sale
    if applied_code is None:
        taxed = tax.apply(after_sale, prices.currency)
    else:
        taxed = tax.apply(
            [a - c for a, c in zip(after_sale, coupon_discounts, strict=True)], prices.currency
        )
    lines = [
        EstimateLine(
            line.offering_id, line.period, line_base, line_sale, line_coupon, net, line_tax
        )
        for line, line_base, line_sale, line_coupon, net, line_tax in zip(
            cart.lines, base, sale_discounts, coupon_discounts, taxed.net, taxed.tax, strict=True
        )
    ]
    return Estimate(
        prices.currency,
        tax.rate,
        tax.mode,
        sum(base),
        sum(sale_discounts) + sum(coupon_discounts),
        sum(taxed.net),
        sum(taxed.tax),
        tuple(lines),
        tuple(notes),
        applied_code,
    )
