"""What the checkout and a payment gateway say to each other, as plain values.

The gateway adapters (Razorpay, Stripe, the sandbox) turn these into SDK
calls and turn the SDKs' answers and webhooks back into these, so the core
never sees a vendor's object.
"""

from __future__ import annotations

import enum
from datetime import datetime

from attrs import frozen

from checkout_core.domain.money import Currency
from checkout_core.domain.payment_events import PaymentEvent

__all__ = [
    "GatewayError",
    "PaymentSession",
    "PaymentSessionRequest",
    "ProviderPaymentState",
    "ProviderStatus",
    "RefundReceipt",
    "RefundRequest",
    "SessionLine",
    "WebhookEvent",
    "WebhookSignatureInvalid",
]


class GatewayError(Exception):
    """A fault of the gateway or of the way to it: a timeout, a 5xx, a refused connection.

    A fault of the world, not a business outcome: it is raised, never returned
    in a ``Failure``. ``retryable`` says whether the same call may succeed if
    tried again (a timeout, a 503) or never will (a 400, bad credentials).
    """

    def __init__(self, message: str, *, retryable: bool, provider: str = "") -> None:
        super().__init__(message)
        self.retryable = retryable
        self.provider = provider


class WebhookSignatureInvalid(Exception):
    """A webhook whose signature does not verify: it must be refused, never applied."""


@frozen
class SessionLine:
    """One line of a payment session as the buyer sees it at the provider."""

    title: str
    amount: int


@frozen
class PaymentSessionRequest:
    """Everything a gateway needs to open a payment session for one payment.

    ``idempotency_key`` is derived from the payment and the attempt, so a
    retried call never opens a second session for the same attempt.
    """

    payment_id: str
    order_token: str
    amount: int
    currency: Currency
    lines: tuple[SessionLine, ...]
    user_id: str | None
    attempt: int
    idempotency_key: str


@frozen
class PaymentSession:
    """A session opened at the provider: its reference and where the buyer pays."""

    provider: str
    provider_ref: str
    checkout_url: str
    expires_at: datetime | None = None


class ProviderPaymentState(enum.StrEnum):
    """What the provider says of a payment when asked."""

    PENDING = "pending"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    FAILED = "failed"
    EXPIRED = "expired"


@frozen
class ProviderStatus:
    """The provider's answer to "what became of this payment?"."""

    provider_ref: str
    state: ProviderPaymentState
    amount_captured: int = 0
    provider_payment_id: str | None = None
    failure_code: str | None = None
    failure_reason: str | None = None


@frozen
class RefundRequest:
    """A refund of ``amount`` of a captured payment."""

    payment_id: str
    provider_ref: str
    amount: int
    currency: Currency
    idempotency_key: str


@frozen
class RefundReceipt:
    """The provider's record of a refund."""

    refund_id: str
    amount: int
    pending: bool


@frozen
class WebhookEvent:
    """A verified webhook delivery, read into the checkout's terms.

    ``event_id`` identifies the delivery at the provider and is what the inbox
    deduplicates on. ``provider_ref`` is the provider's reference of the
    session (a Razorpay order id, a Stripe Checkout Session id) and
    ``payment_id`` the checkout's own payment id when the provider echoes it
    back (in notes or metadata): either finds the payment. ``payment_event``
    is ``None`` for events the checkout records but does not act on.
    """

    provider: str
    event_id: str
    type: str
    provider_ref: str | None
    payment_event: PaymentEvent | None
    payment_id: str | None = None
