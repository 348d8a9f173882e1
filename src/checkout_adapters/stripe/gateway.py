"""The Stripe gateway: Checkout Sessions, status, refunds and webhooks on ``stripe.StripeClient``.

Every call goes through one client made with the pinned API version, no
retries of its own (the checkout's retry policy and circuit breaker decide)
and a timeout; every Stripe or ``requests`` error leaves as a
:class:`~checkout_core.domain.gateway.GatewayError` marked retryable or not
(:mod:`checkout_adapters.stripe.errors`). The SDK writes nothing to stdout:
it logs through the ``stripe`` logger, and prints (to stderr) only when the
host sets ``STRIPE_LOG`` or ``stripe.log``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import stripe
from stripe.params.checkout import SessionCreateParams, SessionCreateParamsLineItem

from checkout_adapters.stripe.errors import STRIPE_PROVIDER, translated
from checkout_adapters.stripe.webhooks import StripeLookups, read_event, verify
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
from checkout_core.ports import Clock

__all__ = ["PINNED_API_VERSION", "StripeGateway"]

PINNED_API_VERSION: Final = "2026-10-28.endive"
"""The Stripe API version every request asks for: the one stripe 16.1.0 was generated against.

Pinned, because the SDK otherwise sends its own newest version and an SDK
upgrade would silently change the shape of every answer and webhook.
"""

_PENDING_REFUND_STATUSES: Final = frozenset({"pending", "requires_action"})
_FAILED_REFUND_STATUSES: Final = frozenset({"failed", "canceled"})


class StripeGateway:
    """A :class:`~checkout_core.ports.PaymentGateway` on Stripe Checkout.

    Args:
        api_key: the secret API key (``sk_...``).
        webhook_secret: the endpoint's signing secret (``whsec_...``).
        success_url: where Stripe sends the buyer after paying; it may hold
            ``{CHECKOUT_SESSION_ID}``. Never proof of payment: webhooks are.
        cancel_url: where Stripe sends a buyer who gives up.
        base_url: the API's address; ``None`` for Stripe's own, a sandbox's
            in tests and demos.
        api_version: the Stripe API version to ask for.
        timeout: seconds each HTTP call may take, to connect and between bytes.
        tolerance: how old, in seconds, a webhook's signature may be.
        future_tolerance: how far ahead of the clock a signature may be dated.
        clock: the time webhooks are judged by; the machine's by default.
    """

    def __init__(  # noqa: PLR0913 - one keyword per setting of the adapter
        self,
        api_key: str,
        webhook_secret: str,
        *,
        success_url: str,
        cancel_url: str,
        base_url: str | None = None,
        api_version: str = PINNED_API_VERSION,
        timeout: float = 10.0,
        tolerance: int = 300,
        future_tolerance: int = 300,
        clock: Clock | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("a stripe API key cannot be empty")
        if not webhook_secret.strip():
            raise ValueError("a stripe webhook secret cannot be empty")
        if timeout <= 0:
            raise ValueError(f"a timeout is a positive number of seconds, not {timeout!r}")
        if tolerance <= 0 or future_tolerance < 0:
            raise ValueError("the webhook tolerances are non-negative seconds, the past's positive")
        self._webhook_secret = webhook_secret
        self._success_url = success_url
        self._cancel_url = cancel_url
        self._base_url = base_url
        self._api_version = api_version
        self._timeout = timeout
        self._tolerance = tolerance
        self._future_tolerance = future_tolerance
        self._clock: Clock = SystemClock() if clock is None else clock
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={} if base_url is None else {"api": base_url},
            max_network_retries=0,
            stripe_version=api_version,
            http_client=stripe.RequestsClient(timeout=timeout),
        )
        self._lookups = StripeLookups(
            payment_intent_metadata=self._payment_intent_metadata,
            charge_refunds=self._charge_refunds,
        )

    def __repr__(self) -> str:
        # The key and the secret stay out of logs and tracebacks.
        address = self._base_url or "api.stripe.com"
        return f"StripeGateway({address}, api_version={self._api_version!r})"

    @property
    def provider(self) -> str:
        """``"stripe"``."""
        return STRIPE_PROVIDER

    def available(self) -> bool:
        """Always: a circuit breaker in front of the adapter decides when calls pause."""
        return True

    def create_session(self, request: PaymentSessionRequest) -> PaymentSession:
        """Create a Checkout Session in ``payment`` mode for ``request``.

        One line item per line of the request; when the lines do not add up
        to the amount (or there are none), one line of the whole amount, so
        the buyer is always asked for exactly ``request.amount``. The order
        token is the ``client_reference_id``; the order token, payment id and
        attempt are the metadata of the session and of its payment intent.
        ``request.idempotency_key`` goes to Stripe as the Idempotency-Key, so
        a retried call returns the session made the first time.

        Raises:
            GatewayError: Stripe could not be reached or refused.
        """
        metadata = {
            "order_token": request.order_token,
            "payment_id": request.payment_id,
            "attempt": str(request.attempt),
        }
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": _line_items(request),
            "success_url": self._success_url,
            "cancel_url": self._cancel_url,
            "client_reference_id": request.order_token,
            "metadata": metadata,
            "payment_intent_data": {"metadata": dict(metadata)},
        }
        with translated("create a checkout session"):
            session = self._client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": request.idempotency_key}
            )
        if not session.url:
            raise GatewayError(
                f"stripe checkout session {session.id} has no url",
                retryable=False,
                provider=STRIPE_PROVIDER,
            )
        return PaymentSession(
            provider=STRIPE_PROVIDER, provider_ref=session.id, checkout_url=session.url
        )

    def fetch_status(self, provider_ref: str) -> ProviderStatus:
        """Ask Stripe what became of the Checkout Session ``provider_ref`` and its payment intent.

        Captured when the session is paid or its payment intent succeeded;
        authorized when the intent awaits capture; failed when the intent's
        last attempt failed and none succeeded; expired when the session
        expired; pending otherwise.

        Raises:
            GatewayError: Stripe could not be reached or refused (an unknown
                session is never retryable).
        """
        session = self._session(provider_ref)
        intent = self._intent_of(session)
        intent_id = None if intent is None else intent.get("id")
        intent_status = None if intent is None else intent.get("status")
        if session.get("payment_status") == "paid" or intent_status == "succeeded":
            return ProviderStatus(
                provider_ref,
                ProviderPaymentState.CAPTURED,
                amount_captured=_amount_captured(session, intent),
                provider_payment_id=intent_id,
            )
        if intent_status == "requires_capture":
            return ProviderStatus(
                provider_ref, ProviderPaymentState.AUTHORIZED, provider_payment_id=intent_id
            )
        error = None if intent is None else intent.get("last_payment_error")
        if isinstance(error, Mapping):
            return ProviderStatus(
                provider_ref,
                ProviderPaymentState.FAILED,
                provider_payment_id=intent_id,
                failure_code=error.get("code") or None,
                failure_reason=error.get("message") or None,
            )
        if session.get("status") == "expired":
            return ProviderStatus(
                provider_ref, ProviderPaymentState.EXPIRED, provider_payment_id=intent_id
            )
        return ProviderStatus(
            provider_ref, ProviderPaymentState.PENDING, provider_payment_id=intent_id
        )

    def refund(self, request: RefundRequest) -> RefundReceipt:
        """Refund ``request.amount`` of what was paid through the session ``request.provider_ref``.

        The session is retrieved for its payment intent, which is refunded
        under ``request.idempotency_key``: a retried refund is not a second one.

        Raises:
            GatewayError: Stripe could not be reached or refused, the session
                has no payment to refund, or Stripe reports the refund failed.
        """
        session = self._session(request.provider_ref)
        intent = session.get("payment_intent")
        intent_id = intent.get("id") if isinstance(intent, Mapping) else intent
        if not isinstance(intent_id, str) or not intent_id:
            raise GatewayError(
                f"stripe checkout session {request.provider_ref} has no payment to refund",
                retryable=False,
                provider=STRIPE_PROVIDER,
            )
        with translated("refund a payment"):
            refund = self._client.v1.refunds.create(
                params={"payment_intent": intent_id, "amount": request.amount},
                options={"idempotency_key": request.idempotency_key},
            )
        if refund.status in _FAILED_REFUND_STATUSES:
            raise GatewayError(
                f"stripe refund {refund.id} is {refund.status}",
                retryable=False,
                provider=STRIPE_PROVIDER,
            )
        return RefundReceipt(
            refund_id=refund.id,
            amount=refund.amount,
            pending=refund.status in _PENDING_REFUND_STATUSES,
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify a delivery on its raw ``body`` and read it (see :mod:`.webhooks`).

        For a ``charge.refunded`` event this may call Stripe: to retrieve the
        charge's payment intent when the charge's metadata lacks the
        checkout's payment id, and to list the charge's refunds when the
        event does not carry them.

        Raises:
            WebhookSignatureInvalid: the signature is missing, does not verify,
                or is dated outside the window.
            InvalidRequest: the body verifies but is not an event the adapter can read.
            GatewayError: a call the event needed failed.
        """
        event = verify(
            headers,
            body,
            self._webhook_secret,
            tolerance=self._tolerance,
            future_tolerance=self._future_tolerance,
            now=self._clock.now(),
        )
        return read_event(event, self._lookups)

    def _session(self, session_id: str) -> dict[str, Any]:
        with translated("retrieve a checkout session"):
            session = self._client.v1.checkout.sessions.retrieve(
                session_id, params={"expand": ["payment_intent"]}
            )
        data: dict[str, Any] = session.to_dict()
        return data

    def _intent_of(self, session: Mapping[str, Any]) -> Mapping[str, Any] | None:
        intent = session.get("payment_intent")
        if isinstance(intent, Mapping):
            return intent
        if isinstance(intent, str) and intent:
            # Not expanded (a stand-in that ignores ``expand``): one more call.
            with translated("retrieve a payment intent"):
                retrieved: dict[str, Any] = self._client.v1.payment_intents.retrieve(
                    intent
                ).to_dict()
            return retrieved
        # Newer API versions create the payment intent only when the buyer pays.
        return None

    def _payment_intent_metadata(self, intent_id: str) -> Mapping[str, str]:
        with translated("retrieve a payment intent"):
            intent = self._client.v1.payment_intents.retrieve(intent_id)
        metadata = intent.to_dict().get("metadata")
        return metadata if isinstance(metadata, dict) else {}

    def _charge_refunds(self, charge_id: str) -> list[dict[str, Any]]:
        with translated("list a charge's refunds"):
            listed = self._client.v1.refunds.list(params={"charge": charge_id, "limit": 100})
        return [refund.to_dict() for refund in listed.data]


def _amount_captured(session: Mapping[str, Any], intent: Mapping[str, Any] | None) -> int:
    # The intent says what was received; a session paid without one (a stand-in) says its total.
    for source, name in ((intent or {}, "amount_received"), (session, "amount_total")):
        amount = source.get(name)
        if type(amount) is int and amount > 0:
            return amount
    return 0


def _line_items(request: PaymentSessionRequest) -> list[SessionCreateParamsLineItem]:
    currency = request.currency.code.lower()
    lines = [(line.title, line.amount) for line in request.lines]
    if not lines or sum(amount for _, amount in lines) != request.amount:
        lines = [(f"Order {request.order_token}", request.amount)]
    return [
        {
            "price_data": {
                "currency": currency,
                "unit_amount": amount,
                "product_data": {"name": title},
            },
            "quantity": 1,
        }
        for title, amount in lines
    ]
