"""The Razorpay payment gateway: orders, their status, refunds, signatures and webhooks."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

import requests

from checkout_adapters.razorpay.api import RAZORPAY_PROVIDER, RazorpayApi
from checkout_adapters.razorpay.entities import RazorpayPayment
from checkout_adapters.razorpay.webhooks import read_webhook, verify_webhook
from checkout_adapters.system import SystemClock
from checkout_core.domain.gateway import (
    GatewayError,
    PaymentSession,
    PaymentSessionRequest,
    ProviderPaymentState,
    ProviderStatus,
    RefundReceipt,
    RefundRequest,
    WebhookEvent,
)
from checkout_core.domain.money import Currency
from checkout_core.ports import Clock

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_CHECKOUT_URL_TEMPLATE", "RazorpayGateway"]

DEFAULT_BASE_URL: Final = "https://api.razorpay.com"
"""Razorpay's API host (the SDK adds ``/v1`` to each path)."""
DEFAULT_CHECKOUT_URL_TEMPLATE: Final = "{base_url}/pay/razorpay/{order_id}"
"""Where the buyer pays by default: the gateway sandbox's pay page for the order."""

RECEIPT_MAX_LENGTH: Final = 40
"""Razorpay refuses an order whose ``receipt`` is longer."""
NOTE_MAX_LENGTH: Final = 256
"""Razorpay refuses a note value that is longer."""

# Razorpay's rule for X-Refund-Idempotency; a key outside it is sent as its hash.
_IDEMPOTENCY_KEY: Final = re.compile(r"[A-Za-z0-9_-]{10,64}")
_EPOCH: Final = datetime.fromtimestamp(0, UTC)


class RazorpayGateway:
    """A :class:`~checkout_core.ports.PaymentGateway` on Razorpay, through its official SDK.

    A payment session is a Razorpay *order*: its id is the session's
    ``provider_ref``, its ``receipt`` the checkout's order token, and its
    notes carry ``order_token``, ``payment_id`` and ``attempt``. Razorpay has
    no hosted page per order: the buyer pays on a page of the host's that
    runs Razorpay Checkout with the order id. ``checkout_url_template`` says
    where that page is (``{base_url}`` and ``{order_id}`` are filled in); the
    default is the gateway sandbox's pay page, so a production host must set
    its own.

    Razorpay's orders API takes no idempotency key, and this SDK cannot find
    an order by receipt cheaply, so a retried :meth:`create_session` may open
    a second order for one attempt. That is harmless: an order nobody pays
    stays unpaid and expires, and the payment service records only the first
    session it is given. Refunds *are* idempotent: the request's key goes in
    Razorpay's ``X-Refund-Idempotency`` header (and in the refund's notes).

    Every call has ``timeout`` seconds; every failure is a
    :class:`~checkout_core.domain.gateway.GatewayError` saying whether a
    retry may help; nothing is printed. ``key_secret`` signs the checkout
    callback (:meth:`verify_checkout_callback`), ``webhook_secret`` the
    webhooks (:meth:`parse_webhook`): Razorpay keeps them apart, and so does
    this class.
    """

    def __init__(  # noqa: PLR0913 - credentials, and the edges a host may tune
        self,
        key_id: str,
        key_secret: str,
        webhook_secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        checkout_url_template: str = DEFAULT_CHECKOUT_URL_TEMPLATE,
        clock: Clock | None = None,
    ) -> None:
        for name, value in (
            ("key_id", key_id),
            ("key_secret", key_secret),
            ("webhook_secret", webhook_secret),
        ):
            if not value:
                raise ValueError(f"Razorpay's {name} cannot be empty")
        if timeout <= 0:
            raise ValueError(f"a timeout is a positive number of seconds, not {timeout!r}")
        self._key_id = key_id
        self._key_secret = key_secret
        self._webhook_secret = webhook_secret
        self._base_url = base_url.rstrip("/")
        self._checkout_url_template = checkout_url_template
        self._checkout_url("order_check")  # a bad template fails here, not at the first sale
        self._clock: Clock = clock or SystemClock()
        self._api = RazorpayApi(
            key_id, key_secret, base_url=self._base_url, timeout=timeout, session=session
        )

    def __repr__(self) -> str:
        return f"RazorpayGateway(key_id={self._key_id!r}, base_url={self._base_url!r})"

    @property
    def provider(self) -> str:
        """``"razorpay"``."""
        return RAZORPAY_PROVIDER

    def available(self) -> bool:
        """Always: a circuit breaker in front of the gateway decides otherwise."""
        return True

    def close(self) -> None:
        """Release the HTTP connections, if the gateway made its own session."""
        self._api.close()

    def create_session(self, request: PaymentSessionRequest) -> PaymentSession:
        """Create a Razorpay order for the payment; the buyer pays it at the checkout URL.

        Raises:
            GatewayError: Razorpay could not be reached, refused, or answered
                with an order for another amount.
        """
        order = self._api.create_order(
            {
                "amount": request.amount,
                "currency": request.currency.code,
                # A receipt is for people reading the dashboard; the notes hold the full token.
                "receipt": request.order_token[:RECEIPT_MAX_LENGTH],
                "notes": {
                    "order_token": request.order_token,
                    "payment_id": request.payment_id,
                    "attempt": str(request.attempt),
                },
                "partial_payment": False,
            }
        )
        if order.amount != request.amount or order.currency != request.currency:
            raise GatewayError(
                f"Razorpay opened order {order.id} for {order.amount} {order.currency}, "
                f"not {request.amount} {request.currency}",
                retryable=False,
                provider=RAZORPAY_PROVIDER,
            )
        return PaymentSession(
            provider=RAZORPAY_PROVIDER,
            provider_ref=order.id,
            checkout_url=self._checkout_url(order.id),
        )

    def fetch_status(self, provider_ref: str) -> ProviderStatus:
        """What became of the order ``provider_ref``, from the order and its payments.

        Captured when any payment was captured; authorized when one is held
        but not captured; failed when the latest attempt failed; pending
        otherwise (no attempt yet, or one under way).

        Raises:
            GatewayError: Razorpay could not be reached or refused.
        """
        order = self._api.fetch_order(provider_ref)
        payments = self._payments_newest_first(provider_ref)
        captured = next((payment for payment in payments if payment.was_captured), None)
        if captured is not None:
            return ProviderStatus(
                provider_ref,
                ProviderPaymentState.CAPTURED,
                amount_captured=captured.amount,
                provider_payment_id=captured.id,
            )
        if order.status == "paid":
            return ProviderStatus(
                provider_ref, ProviderPaymentState.CAPTURED, amount_captured=order.amount_paid
            )
        authorized = next((payment for payment in payments if payment.status == "authorized"), None)
        if authorized is not None:
            return ProviderStatus(
                provider_ref, ProviderPaymentState.AUTHORIZED, provider_payment_id=authorized.id
            )
        if payments and payments[0].status == "failed":
            failed = payments[0]
            return ProviderStatus(
                provider_ref,
                ProviderPaymentState.FAILED,
                provider_payment_id=failed.id,
                failure_code=failed.error_code,
                failure_reason=failed.error_description,
            )
        return ProviderStatus(provider_ref, ProviderPaymentState.PENDING)

    def refund(self, request: RefundRequest) -> RefundReceipt:
        """Refund ``request.amount`` of the payment that paid the order ``request.provider_ref``.

        Repeating a request with the same idempotency key refunds once.

        Raises:
            GatewayError: Razorpay could not be reached or refused, the order
                has no captured payment, or Razorpay failed the refund.
        """
        payment = self._captured_payment(request.provider_ref, request.currency)
        refund = self._api.refund(
            payment.id,
            {
                "amount": request.amount,
                "speed": "normal",
                "notes": {
                    "payment_id": request.payment_id,
                    "idempotency_key": request.idempotency_key[:NOTE_MAX_LENGTH],
                },
            },
            idempotency_key=_refund_idempotency_key(request.idempotency_key),
        )
        if refund.status == "failed":
            raise GatewayError(
                f"Razorpay failed refund {refund.id} of payment {payment.id}",
                retryable=False,
                provider=RAZORPAY_PROVIDER,
            )
        return RefundReceipt(
            refund_id=refund.id, amount=refund.amount, pending=refund.status != "processed"
        )

    def verify_checkout_callback(self, order_id: str, payment_id: str, signature: str) -> bool:
        """Whether Razorpay Checkout's callback for a payment of ``order_id`` is genuine.

        The signature is the hex HMAC-SHA256 of ``"{order_id}|{payment_id}"``
        under the API key secret. Pass the order id the checkout stored (the
        session's ``provider_ref``), never the one the browser sent: a
        genuine signature for another, cheaper order must not pass. The
        callback only lets the page say "thank you"; the webhook fulfils.
        """
        message = f"{order_id}|{payment_id}".encode()
        expected = hmac.new(self._key_secret.encode(), message, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "backslashreplace"))

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify a webhook on its raw ``body`` with the webhook secret, then read it.

        Raises:
            WebhookSignatureInvalid: the signature is missing or wrong, or the
                delivery has no ``x-razorpay-event-id`` to deduplicate it by.
            InvalidRequest: the body verifies but is not a Razorpay event.
        """
        event_id = verify_webhook(headers, body, self._webhook_secret)
        return read_webhook(event_id, body, self._clock)

    def _captured_payment(self, order_id: str, currency: Currency) -> RazorpayPayment:
        payments = self._payments_newest_first(order_id)
        payment = next((payment for payment in payments if payment.was_captured), None)
        if payment is None:
            raise GatewayError(
                f"Razorpay order {order_id} has no captured payment to refund",
                retryable=False,
                provider=RAZORPAY_PROVIDER,
            )
        if payment.currency != currency:
            raise GatewayError(
                f"Razorpay payment {payment.id} is in {payment.currency}, not {currency}",
                retryable=False,
                provider=RAZORPAY_PROVIDER,
            )
        return payment

    def _payments_newest_first(self, order_id: str) -> list[RazorpayPayment]:
        # Razorpay lists newest first already, but its times are whole seconds:
        # a stable sort keeps its order among attempts made within one second.
        return sorted(
            self._api.order_payments(order_id),
            key=lambda payment: payment.created_at or _EPOCH,
            reverse=True,
        )

    def _checkout_url(self, order_id: str) -> str:
        try:
            return self._checkout_url_template.format(base_url=self._base_url, order_id=order_id)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"the checkout URL template {self._checkout_url_template!r} takes "
                "{base_url} and {order_id} only"
            ) from exc


def _refund_idempotency_key(key: str) -> str:
    if _IDEMPOTENCY_KEY.fullmatch(key):
        return key
    return hashlib.sha256(key.encode()).hexdigest()
