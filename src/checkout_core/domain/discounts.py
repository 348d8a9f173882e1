"""Coupons: what they take off, on which lines, and every reason they may not.

A coupon is checked in two steps. :meth:`Coupon.check_availability` looks at
the coupon alone (its window, its usage, the buyer); :meth:`Coupon.discount_for`
looks at the cart's lines after any sale and splits the discount over the
eligible lines by largest remainder, so the lines add up to the total taken
off. Each refusal raises its own :class:`~checkout_core.errors.CouponRejected`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from attrs import field, frozen

from checkout_core.domain.money import Currency, Money, Rate, Rounding, allocate
from checkout_core.domain.validators import optional_non_negative, optional_positive
from checkout_core.errors import (
    CouponExhausted,
    CouponExpired,
    CouponInvalid,
    CouponMinimumNotMet,
    CouponNotApplicable,
    CouponNotYetValid,
    CouponRequiresSignIn,
    CouponUserLimitReached,
    InvalidRate,
    InvalidRequest,
)

__all__ = [
    "NO_USAGE",
    "Coupon",
    "CouponKind",
    "CouponRedemption",
    "CouponUsage",
    "normalize_code",
]

_CODE: Final = re.compile(r"[A-Z0-9_\-]{1,64}")
_HUNDRED_PERCENT: Final = Rate.percent(100).ppm


def normalize_code(code: object) -> str:
    """A coupon code as stored and compared: trimmed and upper-cased.

    Codes are case-insensitive; anything that cannot be a code is
    :class:`~checkout_core.errors.CouponInvalid`.
    """
    normalized = code.strip().upper() if isinstance(code, str) else ""
    if not _CODE.fullmatch(normalized):
        raise CouponInvalid
    return normalized


class CouponKind(enum.StrEnum):
    """Whether a coupon takes off a percentage or a fixed amount."""

    PERCENT = "percent"
    FIXED = "fixed"


@frozen
class CouponUsage:
    """How often a coupon was redeemed, in all and by the buyer at hand."""

    total: int = 0
    by_user: int = 0


NO_USAGE: Final = CouponUsage()
"""A coupon that was never redeemed."""


@frozen
class CouponRedemption:
    """One use of a coupon, by one order; released again if the order is never paid."""

    coupon_code: str
    order_token: str
    user_id: str | None
    redeemed_at: datetime


@frozen
class Coupon:
    """A discount code with its rules.

    It takes off either ``percent_off`` or ``amount_off``. Amounts (``amount_off``,
    ``max_discount``, ``min_subtotal``) are minor units of ``currency``; a
    coupon that names any of them applies only to carts in that currency.
    ``offering_ids`` of ``None`` means every offering. A coupon that does not
    stack on a sale applies only to lines without one.
    """

    code: str = field(converter=normalize_code)
    percent_off: Rate | None = None
    amount_off: int | None = field(default=None, validator=optional_positive)
    currency: Currency | None = None
    max_discount: int | None = field(default=None, validator=optional_positive)
    min_subtotal: int | None = field(default=None, validator=optional_non_negative)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    usage_limit: int | None = field(default=None, validator=optional_positive)
    per_user_limit: int | None = field(default=None, validator=optional_positive)
    offering_ids: frozenset[str] | None = None
    stacks_with_sale: bool = True
    active: bool = True
    rounding: Rounding = Rounding.HALF_UP
    # Every estimate that applies the coupon shows it: worded once, not per estimate.
    _description: str = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if (self.percent_off is None) == (self.amount_off is None):
            raise InvalidRequest(f"coupon {self.code} has either a percent_off or an amount_off")
        if self.percent_off is not None and not 0 < self.percent_off.ppm <= _HUNDRED_PERCENT:
            raise InvalidRate(
                f"a coupon takes off more than 0% and at most 100%, not {self.percent_off}"
            )
        uses_amounts = (self.amount_off, self.max_discount, self.min_subtotal) != (None, None, None)
        if uses_amounts and self.currency is None:
            raise InvalidRequest(f"coupon {self.code} names amounts, so it needs a currency")
        if (
            self.valid_from is not None
            and self.valid_until is not None
            and self.valid_until <= self.valid_from
        ):
            raise InvalidRequest(f"coupon {self.code} ends before it starts")
        object.__setattr__(self, "_description", self._describe())

    @property
    def kind(self) -> CouponKind:
        """Whether the coupon takes off a percentage or a fixed amount."""
        return CouponKind.PERCENT if self.percent_off is not None else CouponKind.FIXED

    def describe(self) -> str:
        """What the coupon takes off, in words (``"20% off"``, ``"500.00 INR off"``)."""
        return self._description

    def _describe(self) -> str:
        currency = self.currency
        if self.amount_off is not None and currency is not None:
            return f"{Money(self.amount_off, currency)} off"
        text = f"{self.percent_off} off"
        if self.max_discount is not None and currency is not None:
            text += f", up to {Money(self.max_discount, currency)}"
        return text

    def check_availability(self, *, now: datetime, usage: CouponUsage, user_id: str | None) -> None:
        """Refuse the coupon if it is off, outside its window or used up for this buyer.

        A coupon with a per-user limit needs a signed-in buyer: an anonymous
        cart could otherwise use it any number of times.
        """
        if not self.active:
            raise CouponInvalid
        if self.valid_from is not None and now < self.valid_from:
            raise CouponNotYetValid
        if self.valid_until is not None and now >= self.valid_until:
            raise CouponExpired
        if self.usage_limit is not None and usage.total >= self.usage_limit:
            raise CouponExhausted
        if self.per_user_limit is not None:
            if user_id is None:
                raise CouponRequiresSignIn
            if usage.by_user >= self.per_user_limit:
                raise CouponUserLimitReached

    def discount_for(
        self,
        amounts: Sequence[int],
        *,
        offering_ids: Sequence[str],
        sale_discounts: Sequence[int],
        currency: Currency,
    ) -> list[int]:
        """What the coupon takes off each line costing ``amounts`` (after any sale, before tax).

        ``offering_ids`` and ``sale_discounts`` say, line by line, what each
        line is and what a sale took off it. Refuses a cart in another
        currency, a cart with no eligible line and a cart below the minimum
        subtotal. The discount never exceeds the eligible amount and is
        allocated over the eligible lines by their amounts.
        """
        if (
            self.currency is not None
            and self.currency is not currency
            and self.currency != currency
        ):
            raise CouponNotApplicable(f"the coupon is for {self.currency.code} carts")
        covered = self.offering_ids
        if covered is None and self.stacks_with_sale:
            weights = list(amounts)
        else:
            stacks = self.stacks_with_sale
            weights = [
                amount
                if (covered is None or offering_id in covered) and (stacks or not sale)
                else 0
                for amount, offering_id, sale in zip(
                    amounts, offering_ids, sale_discounts, strict=True
                )
            ]
        base = sum(weights)
        if base <= 0:
            if not self.stacks_with_sale and any(sale_discounts):
                raise CouponNotApplicable("the coupon does not combine with the sale")
            raise CouponNotApplicable("the coupon does not cover these products")
        if self.min_subtotal is not None:
            subtotal = sum(amounts)
            if subtotal < self.min_subtotal:
                raise CouponMinimumNotMet(
                    f"the cart comes to {subtotal} and the coupon needs {self.min_subtotal}"
                )
        if self.percent_off is not None:
            wanted = self.percent_off.of(base, self.rounding)
        else:
            wanted = self.amount_off or 0
        if self.max_discount is not None:
            wanted = min(wanted, self.max_discount)
        total = min(wanted, base)
        return allocate(total, weights)
