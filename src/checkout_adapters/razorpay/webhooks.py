"""Razorpay webhooks: verified on the raw body, read into a WebhookEvent.

Razorpay signs the body it sends, byte for byte: ``X-Razorpay-Signature``
is the hex HMAC-SHA256 of the raw body under the *webhook* secret (not the
API key secret). The check runs on the bytes received, never on JSON parsed
and written again: ``json.dumps`` escapes "₹" and reorders nothing back, so
a re-serialised body no longer verifies (razorpay-python #65). Nothing in
the signature dates the delivery, so the only defence against a replay is
deduplication on ``x-razorpay-event-id``; a delivery without one is refused.

Events read into a :class:`~checkout_core.domain.payment_events.PaymentEvent`:

=====================  =============================================
``payment.authorized`` ``authorized``
``payment.captured``   ``captured`` (the payment's amount, currency)
``order.paid``         ``captured`` (the payment's, else the order's)
``payment.failed``     ``failed`` (Razorpay's error code, description)
``refund.processed``   ``refunded`` (refund id, amount, currency)
=====================  =============================================

Every other event (``refund.created``, ``refund.failed``, ...) verifies and
is recorded with no payment event. The session reference is the Razorpay
order id; the checkout's payment id comes from the ``payment_id`` note when
an entity carries one. An event's time is the envelope's ``created_at`` (when
Razorpay raised the event), else its entity's, else the clock's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final, TypeVar

from checkout_adapters.razorpay.api import RAZORPAY_PROVIDER
from checkout_adapters.razorpay.entities import (
    JsonObject,
    MalformedEntity,
    RazorpayOrder,
    RazorpayPayment,
    RazorpayRefund,
    json_object,
    text,
    timestamp,
)
from checkout_core.domain.gateway import WebhookEvent, WebhookSignatureInvalid
from checkout_core.domain.money import Currency
from checkout_core.domain.payment_events import PaymentEvent
from checkout_core.errors import InvalidRequest
from checkout_core.ports import Clock

__all__ = [
    "EVENT_ID_HEADER",
    "SIGNATURE_HEADER",
    "read_webhook",
    "verify_webhook",
    "webhook_signature",
]

_E = TypeVar("_E")

SIGNATURE_HEADER: Final = "x-razorpay-signature"
"""The header carrying the hex HMAC-SHA256 of the raw body."""
EVENT_ID_HEADER: Final = "x-razorpay-event-id"
"""The header carrying the delivery's event id, the same on every retry of it."""


def webhook_signature(body: bytes, secret: str) -> str:
    """The signature Razorpay puts on ``body``: its hex HMAC-SHA256 under ``secret``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_webhook(headers: Mapping[str, str], body: bytes, secret: str) -> str:
    """Check the signature of a delivery on its raw ``body``; return its event id.

    Raises:
        WebhookSignatureInvalid: the signature is missing or wrong, or the
            delivery has no event id (it could not be deduplicated).
    """
    signature = _header(headers, SIGNATURE_HEADER)
    if signature is None:
        raise WebhookSignatureInvalid(f"the Razorpay webhook has no {SIGNATURE_HEADER} header")
    expected = webhook_signature(body, secret).encode()
    # Bytes on both sides: compare_digest refuses a str that is not ASCII.
    if not hmac.compare_digest(expected, signature.encode("utf-8", "backslashreplace")):
        raise WebhookSignatureInvalid("the Razorpay webhook's signature does not verify")
    event_id = _header(headers, EVENT_ID_HEADER)
    if not event_id:
        raise WebhookSignatureInvalid(
            f"the Razorpay webhook has no {EVENT_ID_HEADER} header: "
            "without it a replayed delivery cannot be told from a new one"
        )
    return event_id


def read_webhook(event_id: str, body: bytes, clock: Clock) -> WebhookEvent:
    """Read a verified delivery's ``body``.

    Raises:
        InvalidRequest: the body is not a Razorpay event envelope.
    """
    try:
        envelope = json_object(json.loads(body), "webhook body")
        return _read(event_id, envelope, clock)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequest("the Razorpay webhook's body is not JSON") from exc
    except MalformedEntity as exc:
        raise InvalidRequest(f"the Razorpay webhook is malformed: {exc}") from exc


def _read(event_id: str, envelope: JsonObject, clock: Clock) -> WebhookEvent:
    event_type = text(envelope, "event")
    payload = json_object(envelope.get("payload", {}), "payload")
    payment = _entity(payload, "payment", RazorpayPayment.from_json)
    order = _entity(payload, "order", RazorpayOrder.from_json)
    refund = _entity(payload, "refund", RazorpayRefund.from_json)
    entities = [entity for entity in (payment, order, refund) if entity is not None]
    times = [timestamp(envelope, "created_at")] + [entity.created_at for entity in entities]
    occurred_at = next((time for time in times if time is not None), None) or clock.now()
    order_id = payment.order_id if payment is not None else None
    if order_id is None and order is not None:
        order_id = order.id
    return WebhookEvent(
        provider=RAZORPAY_PROVIDER,
        event_id=event_id,
        type=event_type,
        provider_ref=order_id,
        payment_event=_payment_event(event_type, occurred_at, payment, order, refund),
        payment_id=next(
            (entity.checkout_payment_id for entity in entities if entity.checkout_payment_id),
            None,
        ),
    )


def _payment_event(
    event_type: str,
    at: datetime,
    payment: RazorpayPayment | None,
    order: RazorpayOrder | None,
    refund: RazorpayRefund | None,
) -> PaymentEvent | None:
    match event_type:
        case "payment.authorized":
            _require(payment, event_type, "payment")
            return PaymentEvent.authorized(at)
        case "payment.captured" | "order.paid":
            amount, currency = _captured_amount(event_type, payment, order)
            return PaymentEvent.captured(amount, at, currency)
        case "payment.failed":
            failed = _require(payment, event_type, "payment")
            return PaymentEvent.failed(at, failed.error_code, failed.error_description)
        case "refund.processed":
            processed = _require(refund, event_type, "refund")
            return PaymentEvent.refunded(processed.id, processed.amount, at, processed.currency)
        case _:
            return None


def _captured_amount(
    event_type: str, payment: RazorpayPayment | None, order: RazorpayOrder | None
) -> tuple[int, Currency]:
    # order.paid carries the payment that paid the order; its order's amount_paid says as much.
    if payment is not None:
        return payment.amount, payment.currency
    if event_type == "order.paid" and order is not None:
        return order.amount_paid, order.currency
    raise MalformedEntity(f"a {event_type} event carries a payment entity")


def _entity(payload: JsonObject, name: str, read: Callable[[object], _E]) -> _E | None:
    wrapper = payload.get(name)
    if wrapper is None:
        return None
    return read(json_object(wrapper, name).get("entity"))


def _require(entity: _E | None, event_type: str, name: str) -> _E:
    if entity is None:
        raise MalformedEntity(f"a {event_type} event carries a {name} entity")
    return entity


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Header names are case-insensitive, and a plain dict does not know it.
    return next((value for key, value in headers.items() if key.lower() == name), None)
