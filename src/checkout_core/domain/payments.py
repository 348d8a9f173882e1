"""The Payment aggregate: money asked of a provider for one order, and its state machine.

A payment moves on the events its provider reports (authorized, captured,
failed, refunded). Providers deliver webhooks late, twice and out of order, so
:meth:`Payment.apply` never trusts the order of arrival: a capture wins over a
failure whichever came first, a repeat is a ``duplicate``, and news that can no
longer change anything (a failure after the money was taken) is ``ignored``.
Each call says which of the three happened, so the caller knows whether there
is anything to record or announce.

Transitions::

    created             -> authorized, captured, failed
    authorized          -> captured, failed
    failed              -> authorized, captured
    captured            -> partially_refunded, refunded        (by a refund)
    partially_refunded  -> partially_refunded, refunded        (by a refund)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Final

from attrs import evolve, field, frozen

from checkout_core.domain.money import Currency
from checkout_core.domain.payment_events import PaymentEvent, PaymentEventKind
from checkout_core.domain.validators import aware, non_negative
from checkout_core.errors import (
    CurrencyMismatch,
    IllegalPaymentTransition,
    InvalidAmount,
    InvalidRequest,
    PaymentAmountMismatch,
    RefundExceedsCaptured,
)

__all__ = [
    "CAPTURED_STATES",
    "Outcome",
    "Payment",
    "PaymentChange",
    "PaymentStatus",
]


class PaymentStatus(enum.StrEnum):
    """Where a payment stands with its provider."""

    CREATED = "created"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


CAPTURED_STATES: Final = frozenset(
    {PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)
"""The states of a payment whose money was taken; a payment never leaves them."""


class Outcome(enum.StrEnum):
    """What applying a provider event did to a payment."""

    APPLIED = "applied"
    """The payment changed."""
    DUPLICATE = "duplicate"
    """The event repeats one already applied; nothing changed."""
    IGNORED = "ignored"
    """The event came too late to matter; nothing changed."""


def _string_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


@frozen
class Payment:
    """The money asked of one provider for one order, and what the provider said of it.

    ``amount`` is what is due. ``captured_amount`` is what the provider took
    (zero or ``amount``); ``refunded_amount`` is what it gave back so far.
    ``attempts`` counts the tries the provider reported: one starts each time
    the payment leaves ``created`` or ``failed``.
    """

    id: str
    order_token: str
    provider: str
    amount: int = field(validator=non_negative)
    currency: Currency
    status: PaymentStatus = field(converter=PaymentStatus)
    created_at: datetime = field(validator=aware)
    updated_at: datetime = field(validator=aware)
    provider_ref: str | None = None
    captured_amount: int = field(default=0, validator=non_negative)
    refunded_amount: int = field(default=0, validator=non_negative)
    refund_ids: frozenset[str] = field(default=frozenset(), converter=_string_set)
    attempts: int = field(default=0, validator=non_negative)
    failure_code: str | None = None
    failure_reason: str | None = None
    checkout_url: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.id.startswith("pay_"):
            raise InvalidRequest(f"a payment id starts with 'pay_', not {self.id!r}")
        if self.refunded_amount > self.captured_amount:
            raise RefundExceedsCaptured(
                f"payment {self.id}: {self.refunded_amount} refunded of {self.captured_amount}"
            )

    @classmethod
    def create(  # noqa: PLR0913 - every argument is a fact the payment needs from its caller
        cls,
        id: str,  # noqa: A002 - the aggregate's field is named id
        *,
        order_token: str,
        provider: str,
        amount: int,
        currency: Currency,
        now: datetime,
    ) -> Payment:
        """A new payment of ``amount`` due for ``order_token``, not yet sent to the provider."""
        if amount <= 0:
            raise InvalidAmount(f"a payment is of a positive amount, not {amount!r}")
        if not provider:
            raise InvalidRequest("a payment needs a provider")
        return cls(
            id=id,
            order_token=order_token,
            provider=provider,
            amount=amount,
            currency=currency,
            status=PaymentStatus.CREATED,
            created_at=now,
            updated_at=now,
        )

    @property
    def is_captured(self) -> bool:
        """Whether the provider took the money (refunds since included)."""
        return self.status in CAPTURED_STATES

    @property
    def refundable_amount(self) -> int:
        """How much of the captured money may still be refunded."""
        return self.captured_amount - self.refunded_amount

    def attach_session(
        self, provider_ref: str, now: datetime, checkout_url: str | None = None
    ) -> Payment:
        """Record the provider's order or session id, and where the buyer pays.

        The reference is set once and never changed.
        """
        if not provider_ref:
            raise InvalidRequest("a provider reference cannot be empty")
        if self.provider_ref == provider_ref:
            if checkout_url is None or checkout_url == self.checkout_url:
                return self
            return evolve(self, checkout_url=checkout_url, updated_at=now)
        if self.provider_ref is not None:
            raise IllegalPaymentTransition(
                f"payment {self.id} is already attached to {self.provider_ref}, not {provider_ref}"
            )
        return evolve(self, provider_ref=provider_ref, checkout_url=checkout_url, updated_at=now)

    def apply(self, event: PaymentEvent) -> PaymentChange:
        """Apply what the provider reported, and say whether it changed anything."""
        match event.kind:
            case PaymentEventKind.AUTHORIZED:
                return self._attempt(event, PaymentStatus.AUTHORIZED)
            case PaymentEventKind.CAPTURED:
                return self._capture(event)
            case PaymentEventKind.FAILED:
                return self._attempt(
                    event,
                    PaymentStatus.FAILED,
                    failure_code=event.failure_code,
                    failure_reason=event.failure_reason,
                )
            case PaymentEventKind.REFUNDED:
                return self._refund(event)

    def _unchanged(self, outcome: Outcome) -> PaymentChange:
        return PaymentChange(self, outcome)

    def _applied(self, changed: Payment, event: PaymentEvent) -> PaymentChange:
        # Events arrive out of order, so an older event must not move updated_at back.
        updated_at = max(self.updated_at, event.occurred_at)
        return PaymentChange(evolve(changed, updated_at=updated_at), Outcome.APPLIED)

    def _next_attempts(self) -> int:
        return self.attempts + 1 if self.status is not PaymentStatus.AUTHORIZED else self.attempts

    def _attempt(
        self,
        event: PaymentEvent,
        status: PaymentStatus,
        *,
        failure_code: str | None = None,
        failure_reason: str | None = None,
    ) -> PaymentChange:
        # An authorization or a failure: where an attempt stands, until money is taken.
        if self.status is status:
            return self._unchanged(Outcome.DUPLICATE)
        if self.is_captured:
            return self._unchanged(Outcome.IGNORED)
        return self._applied(
            evolve(
                self,
                status=status,
                attempts=self._next_attempts(),
                failure_code=failure_code,
                failure_reason=failure_reason,
            ),
            event,
        )

    def _capture(self, event: PaymentEvent) -> PaymentChange:
        if self.status is PaymentStatus.CAPTURED:
            return self._unchanged(Outcome.DUPLICATE)
        if self.is_captured:
            return self._unchanged(Outcome.IGNORED)
        self._check_currency(event)
        if event.amount != self.amount:
            # Money taken in a wrong amount must reach a person, not mark an order paid.
            raise PaymentAmountMismatch(
                f"payment {self.id}: captured {event.amount}, due {self.amount}"
            )
        return self._applied(
            evolve(
                self,
                status=PaymentStatus.CAPTURED,
                captured_amount=event.amount,
                attempts=self._next_attempts(),
                failure_code=None,
                failure_reason=None,
            ),
            event,
        )

    def _refund(self, event: PaymentEvent) -> PaymentChange:
        refund_id, amount = event.refund_id, event.amount
        if refund_id is None or amount is None:  # pragma: no cover - PaymentEvent refuses it
            raise InvalidRequest("a refund event needs a refund id and an amount")
        if not self.is_captured:
            raise IllegalPaymentTransition(
                f"payment {self.id} is {self.status}; only captured money can be refunded"
            )
        if refund_id in self.refund_ids:
            return self._unchanged(Outcome.DUPLICATE)
        self._check_currency(event)
        if amount > self.refundable_amount:
            raise RefundExceedsCaptured(
                f"payment {self.id}: refund of {amount}, "
                f"{self.refundable_amount} of {self.captured_amount} left to refund"
            )
        refunded = self.refunded_amount + amount
        status = (
            PaymentStatus.REFUNDED
            if refunded == self.captured_amount
            else PaymentStatus.PARTIALLY_REFUNDED
        )
        return self._applied(
            evolve(
                self,
                status=status,
                refunded_amount=refunded,
                refund_ids=self.refund_ids | {refund_id},
            ),
            event,
        )

    def _check_currency(self, event: PaymentEvent) -> None:
        if event.currency is not None and event.currency != self.currency:
            raise CurrencyMismatch(
                f"payment {self.id} is in {self.currency.code}, "
                f"the provider reported {event.currency.code}"
            )


@frozen
class PaymentChange:
    """A payment after an event, and whether the event changed it."""

    payment: Payment
    outcome: Outcome

    @property
    def applied(self) -> bool:
        """Whether the event changed the payment."""
        return self.outcome is Outcome.APPLIED
