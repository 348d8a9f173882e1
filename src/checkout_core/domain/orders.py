"""The Order aggregate: a priced cart someone committed to, and its state machine.

An order keeps the :class:`~checkout_core.domain.pricing.Estimate` it was
placed at, so what is charged, refunded and fulfilled never changes when the
catalog does. Every move goes through :data:`TRANSITIONS`, the one table of
what may follow what. Moving to the status the order already has is a no-op,
because providers and workers repeat themselves; anything else the table
does not list raises :class:`~checkout_core.errors.IllegalOrderTransition`.

A capture that arrives after the order expired or was cancelled still moves
it to ``paid``: the money was taken, so it must be recorded (and then
refunded by the host), never lost.
"""

from __future__ import annotations

import enum
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from attrs import Attribute, evolve, field, frozen

from checkout_core.domain.pricing import Estimate
from checkout_core.domain.validators import aware, is_positive_amount
from checkout_core.errors import (
    IllegalOrderTransition,
    InvalidAmount,
    InvalidRequest,
    RefundExceedsCaptured,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from checkout_core.domain.money import Currency

__all__ = ["TRANSITIONS", "Order", "OrderStatus"]


class OrderStatus(enum.StrEnum):
    """Where an order stands."""

    PENDING = "pending"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    COMPLETED = "completed"
    PAYMENT_FAILED = "payment_failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


_S = OrderStatus

TRANSITIONS: Final[Mapping[OrderStatus, frozenset[OrderStatus]]] = MappingProxyType({
    _S.PENDING: frozenset({
        _S.AWAITING_PAYMENT, _S.COMPLETED, _S.PAYMENT_FAILED, _S.CANCELLED, _S.EXPIRED,
    }),
    _S.AWAITING_PAYMENT: frozenset({_S.PAID, _S.PAYMENT_FAILED, _S.CANCELLED, _S.EXPIRED}),
    _S.PAYMENT_FAILED: frozenset({_S.AWAITING_PAYMENT, _S.PAID, _S.CANCELLED, _S.EXPIRED}),
    _S.EXPIRED: frozenset({_S.PAID}),
    _S.CANCELLED: frozenset({_S.PAID}),
    _S.PAID: frozenset({_S.COMPLETED, _S.PARTIALLY_REFUNDED, _S.REFUNDED}),
    _S.COMPLETED: frozenset({_S.PARTIALLY_REFUNDED, _S.REFUNDED}),
    _S.PARTIALLY_REFUNDED: frozenset({_S.PARTIALLY_REFUNDED, _S.REFUNDED}),
    _S.REFUNDED: frozenset(),
})  # fmt: skip
"""Every status an order may move to from each status: the single source of truth."""

_REFUND_STATES: Final = frozenset({_S.PARTIALLY_REFUNDED, _S.REFUNDED})


def _refunded_amount(order: Order, attribute: Attribute[int], value: int) -> None:
    if not 0 <= value <= order.pricing.total:
        raise RefundExceedsCaptured(
            f"order {order.token}: {attribute.name} {value} is outside 0 to {order.pricing.total}"
        )


@frozen
class Order:
    """A priced cart someone committed to, identified by its token.

    ``pricing`` is the estimate the order was placed at; every amount the
    order speaks of comes from it. ``refunded_amount`` is what was given back
    so far, in the same currency.
    """

    token: str
    cart_token: str
    user_id: str | None
    status: OrderStatus = field(converter=OrderStatus)
    pricing: Estimate
    coupon_code: str | None
    created_at: datetime = field(validator=aware)
    updated_at: datetime = field(validator=aware)
    refunded_amount: int = field(default=0, validator=_refunded_amount)
    review_reason: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.token:
            raise InvalidRequest("an order needs a token")

    @classmethod
    def place(
        cls,
        token: str,
        cart_token: str,
        user_id: str | None,
        pricing: Estimate,
        now: datetime,
    ) -> Order:
        """Place an order at ``pricing``: ``pending`` payment, or ``completed`` when it is free."""
        order = cls(
            token=token,
            cart_token=cart_token,
            user_id=user_id,
            status=OrderStatus.PENDING,
            pricing=pricing,
            coupon_code=pricing.coupon_code,
            created_at=now,
            updated_at=now,
        )
        return order if order.requires_payment else order.complete(now)

    @property
    def currency(self) -> Currency:
        """The currency every amount of the order is in."""
        return self.pricing.currency

    @property
    def total(self) -> int:
        """What the order costs, tax included, in minor units."""
        return self.pricing.total

    @property
    def requires_payment(self) -> bool:
        """Whether the order must be paid (it is free otherwise)."""
        return self.pricing.requires_payment

    @property
    def refundable_amount(self) -> int:
        """How much of the total may still be refunded."""
        return self.total - self.refunded_amount

    @property
    def is_final(self) -> bool:
        """Whether no status can follow this one."""
        return not TRANSITIONS[self.status]

    def transition_to(self, status: OrderStatus, now: datetime) -> Order:
        """Move to ``status`` if the table allows it; a move to the current status is a no-op.

        The refund statuses need an amount, so they are reached through
        :meth:`record_refund` only.
        """
        status = OrderStatus(status)
        if status is self.status and status is not OrderStatus.PARTIALLY_REFUNDED:
            return self
        self._check_move(status)
        if status in _REFUND_STATES:
            raise InvalidRequest(f"order {self.token}: a refund is recorded with its amount")
        # Only a free order skips payment: money owed is never given away.
        if (
            status is OrderStatus.COMPLETED
            and self.status is OrderStatus.PENDING
            and self.requires_payment
        ):
            raise IllegalOrderTransition(
                f"order {self.token} cannot move from pending to completed: {self.total} is due"
            )
        return evolve(self, status=status, updated_at=now)

    def await_payment(self, now: datetime) -> Order:
        """A payment session was opened at the provider; the buyer is paying."""
        return self.transition_to(OrderStatus.AWAITING_PAYMENT, now)

    def mark_paid(self, now: datetime) -> Order:
        """The provider captured the money."""
        return self.transition_to(OrderStatus.PAID, now)

    def mark_payment_failed(self, now: datetime) -> Order:
        """The provider reported the payment failed; the buyer may retry."""
        return self.transition_to(OrderStatus.PAYMENT_FAILED, now)

    def complete(self, now: datetime) -> Order:
        """The order was fulfilled: paid and delivered, or free."""
        return self.transition_to(OrderStatus.COMPLETED, now)

    def expire(self, now: datetime) -> Order:
        """The order was left unpaid for too long."""
        return self.transition_to(OrderStatus.EXPIRED, now)

    def cancel(self, now: datetime) -> Order:
        """The buyer or the host gave the order up before it was paid."""
        return self.transition_to(OrderStatus.CANCELLED, now)

    def record_refund(self, amount: int, now: datetime) -> Order:
        """Record a refund of ``amount``: ``refunded`` once all of the total is back.

        Refunds are deduplicated by the payment (by the provider's refund
        id) before they reach the order, so every call here adds to the
        refunded amount.
        """
        if not is_positive_amount(amount):
            raise InvalidAmount(f"a refund is of a positive amount, not {amount!r}")
        refunded = self.refunded_amount + amount
        status = OrderStatus.REFUNDED if refunded >= self.total else OrderStatus.PARTIALLY_REFUNDED
        if self.status is not OrderStatus.REFUNDED:
            self._check_move(status)
        if refunded > self.total:
            raise RefundExceedsCaptured(
                f"order {self.token}: refund of {amount}, {self.refundable_amount} "
                f"of {self.total} left to refund"
            )
        return evolve(self, status=status, refunded_amount=refunded, updated_at=now)

    def flag_for_review(self, reason: str, now: datetime) -> Order:
        """Mark the order for a person to look at (a payment that does not match), status kept."""
        if not reason:
            raise InvalidRequest("a review needs a reason")
        if self.review_reason == reason:
            return self
        return evolve(self, review_reason=reason, updated_at=now)

    def _check_move(self, status: OrderStatus) -> None:
        if status not in TRANSITIONS[self.status]:
            raise IllegalOrderTransition(
                f"order {self.token} cannot move from {self.status} to {status}"
            )
