"""What a provider reports about a payment, as the Payment aggregate reads it.

A :class:`PaymentEvent` is parsed from a provider's webhook or API answer
(authorized, captured, failed, refunded) and handed to
:meth:`~checkout_core.domain.payments.Payment.apply`. It checks only what
holds of the event alone (an aware time, a refund's id and positive amount);
whether it fits the payment is the payment's to say.
"""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import field, frozen

from checkout_core.domain.money import Currency
from checkout_core.domain.validators import aware, optional_non_negative
from checkout_core.errors import InvalidAmount, InvalidRequest

__all__ = ["PaymentEvent", "PaymentEventKind"]


class PaymentEventKind(enum.StrEnum):
    """What a provider reported about a payment."""

    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    FAILED = "failed"
    REFUNDED = "refunded"


@frozen
class PaymentEvent:
    """One thing a provider reported about a payment, as parsed from its webhook or API.

    A capture carries the amount taken; a refund carries its amount and the
    provider's refund id, by which repeated deliveries are recognised.
    ``currency``, when the provider reports it, is checked against the
    payment's.
    """

    kind: PaymentEventKind = field(converter=PaymentEventKind)
    occurred_at: datetime = field(validator=aware)
    amount: int | None = field(default=None, validator=optional_non_negative)
    refund_id: str | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    currency: Currency | None = None

    def __attrs_post_init__(self) -> None:
        if self.kind is PaymentEventKind.REFUNDED:
            if not self.refund_id:
                raise InvalidRequest("a refund event needs the provider's refund id")
            if self.amount is None or self.amount <= 0:
                raise InvalidAmount(f"a refund is of a positive amount, not {self.amount!r}")

    @classmethod
    def authorized(cls, occurred_at: datetime) -> PaymentEvent:
        """The provider authorized the payment; the money is held, not yet taken."""
        return cls(PaymentEventKind.AUTHORIZED, occurred_at)

    @classmethod
    def captured(
        cls, amount: int, occurred_at: datetime, currency: Currency | None = None
    ) -> PaymentEvent:
        """The provider took ``amount`` minor units."""
        return cls(PaymentEventKind.CAPTURED, occurred_at, amount=amount, currency=currency)

    @classmethod
    def failed(
        cls,
        occurred_at: datetime,
        failure_code: str | None = None,
        failure_reason: str | None = None,
    ) -> PaymentEvent:
        """The provider reported the attempt failed, with its code and reason when given."""
        return cls(
            PaymentEventKind.FAILED,
            occurred_at,
            failure_code=failure_code,
            failure_reason=failure_reason,
        )

    @classmethod
    def refunded(
        cls,
        refund_id: str,
        amount: int,
        occurred_at: datetime,
        currency: Currency | None = None,
    ) -> PaymentEvent:
        """The provider refunded ``amount`` minor units under its refund ``refund_id``."""
        return cls(
            PaymentEventKind.REFUNDED,
            occurred_at,
            amount=amount,
            refund_id=refund_id,
            currency=currency,
        )
