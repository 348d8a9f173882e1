"""Stripe webhooks: the signature and its time window, then the event in the checkout's terms.

The signature is checked by ``stripe.Webhook.construct_event`` over the raw
body, exactly as received: a body parsed and written again is not the body
Stripe signed. The SDK refuses a timestamp older than ``tolerance`` seconds
by the machine's clock; a timestamp more than ``future_tolerance`` seconds
ahead of the adapter's clock is refused here, and so is one older than
``tolerance`` by that clock, so that a replayed delivery is refused by both.

Events read (everything else is recorded and not acted on):

==========================================  ==========================================
``checkout.session.completed``              captured (``amount_total``) when
                                            ``payment_status`` is ``paid``; nothing
                                            yet when ``unpaid`` (an asynchronous
                                            payment method is still settling)
``checkout.session.async_payment_succeeded`` captured (``amount_total``)
``checkout.session.async_payment_failed``   failed
``payment_intent.succeeded``                captured (``amount_received``)
``payment_intent.payment_failed``           failed (``last_payment_error``)
``charge.refunded``                         refunded: the newest refund, its own amount
==========================================  ==========================================

A session event carries the session id as ``provider_ref``. Payment intent
and charge events do not name the session: their ``provider_ref`` is
``None`` and the payment is found by the ``payment_id`` the checkout put in
the metadata of the session and of its payment intent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias

import stripe
from attrs import frozen

from checkout_core.domain.gateway import WebhookEvent, WebhookSignatureInvalid
from checkout_core.domain.money import Currency
from checkout_core.domain.payment_events import PaymentEvent
from checkout_core.errors import InvalidRequest

__all__ = ["SIGNATURE_HEADER", "StripeLookups", "read_event", "verify"]

SIGNATURE_HEADER: Final = "stripe-signature"
"""The header that carries a Stripe webhook's signature (matched case-insensitively)."""

_PROVIDER: Final = "stripe"

_Object: TypeAlias = Mapping[str, Any]


@frozen
class StripeLookups:
    """What the reader of a webhook may need to ask Stripe, when the event alone does not say.

    A charge does not carry its payment intent's metadata, and with API
    versions since 2022-11-15 a charge's refunds are not in its payload.
    ``payment_intent_metadata`` answers a payment intent's metadata by its
    id; ``charge_refunds`` a charge's refunds, as plain data, by its id.
    """

    payment_intent_metadata: Callable[[str], Mapping[str, str]]
    charge_refunds: Callable[[str], list[dict[str, Any]]]


def verify(  # noqa: PLR0913 - the delivery, the secret and the window, each needed once
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    tolerance: int,
    future_tolerance: int,
    now: datetime,
) -> dict[str, Any]:
    """The verified event of a delivery, as plain data.

    Raises:
        WebhookSignatureInvalid: the header is missing or malformed, the
            signature does not match the raw ``body``, or its timestamp is
            outside the window.
        InvalidRequest: the body is signed but is not a Stripe event.
    """
    # Header names are case-insensitive, and a plain dict does not know it.
    header = next(
        (value for name, value in headers.items() if name.lower() == SIGNATURE_HEADER), None
    )
    if not header:
        raise WebhookSignatureInvalid("the stripe webhook has no Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(body, header, secret, tolerance)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise WebhookSignatureInvalid(f"the stripe webhook does not verify: {exc}") from exc
    except (ValueError, AttributeError, TypeError) as exc:
        # The signature held (it is checked first), but the body is no event.
        raise InvalidRequest(f"the stripe webhook's body is not an event: {exc}") from exc
    signed_at = _signed_at(header)
    age = now.timestamp() - signed_at
    if age > tolerance:
        raise WebhookSignatureInvalid(f"the stripe webhook was signed {age:.0f} s ago")
    if -age > future_tolerance:
        raise WebhookSignatureInvalid(f"the stripe webhook is signed {-age:.0f} s in the future")
    data: dict[str, Any] = event.to_dict()
    return data


def _signed_at(header: str) -> int:
    # Read the timestamp as the SDK does: the first ``t=`` item of the header.
    for item in header.split(","):
        name, _, value = item.partition("=")
        if name.strip() == "t":
            try:
                return int(value)
            except ValueError:
                break
    raise WebhookSignatureInvalid("the stripe webhook's signature header has no timestamp")


def read_event(event: _Object, lookups: StripeLookups) -> WebhookEvent:
    """Read a verified Stripe event into a :class:`WebhookEvent`.

    ``lookups`` is called for a ``charge.refunded`` event whose charge lacks
    the checkout's ``payment_id`` in its metadata (the charge's payment
    intent is retrieved to read it) or lacks its refunds (they are listed).

    Raises:
        InvalidRequest: the event lacks a field its type must have.
    """
    event_id = _text(event, "id")
    event_type = _text(event, "type")
    created = _integer(event, "created")
    occurred_at = datetime.fromtimestamp(created, UTC)
    obj = _mapping(_mapping(event, "data"), "object")
    if event_type.startswith("checkout.session."):
        return WebhookEvent(
            provider=_PROVIDER,
            event_id=event_id,
            type=event_type,
            provider_ref=_text(obj, "id"),
            payment_event=_session_event(event_type, obj, occurred_at),
            payment_id=_metadata_payment_id(obj),
        )
    if event_type.startswith("payment_intent."):
        return WebhookEvent(
            provider=_PROVIDER,
            event_id=event_id,
            type=event_type,
            provider_ref=None,
            payment_event=_payment_intent_event(event_type, obj, occurred_at),
            payment_id=_metadata_payment_id(obj),
        )
    if event_type == "charge.refunded":
        return WebhookEvent(
            provider=_PROVIDER,
            event_id=event_id,
            type=event_type,
            provider_ref=None,
            payment_event=_refund_event(obj, created, occurred_at, lookups),
            payment_id=_charge_payment_id(obj, lookups),
        )
    return WebhookEvent(
        provider=_PROVIDER,
        event_id=event_id,
        type=event_type,
        provider_ref=None,
        payment_event=None,
        payment_id=None,
    )


def _session_event(event_type: str, session: _Object, occurred_at: datetime) -> PaymentEvent | None:
    paid = event_type == "checkout.session.async_payment_succeeded" or (
        event_type == "checkout.session.completed" and session.get("payment_status") == "paid"
    )
    if paid:
        return PaymentEvent.captured(
            _integer(session, "amount_total"), occurred_at, _currency(session)
        )
    if event_type == "checkout.session.async_payment_failed":
        return PaymentEvent.failed(occurred_at, failure_reason="the asynchronous payment failed")
    return None


def _payment_intent_event(
    event_type: str, intent: _Object, occurred_at: datetime
) -> PaymentEvent | None:
    if event_type == "payment_intent.succeeded":
        return PaymentEvent.captured(
            _integer(intent, "amount_received"), occurred_at, _currency(intent)
        )
    if event_type == "payment_intent.payment_failed":
        error = intent.get("last_payment_error")
        if not isinstance(error, Mapping):
            return PaymentEvent.failed(occurred_at)
        return PaymentEvent.failed(
            occurred_at, _optional_text(error, "code"), _optional_text(error, "message")
        )
    return None


def _refund_event(
    charge: _Object, created: int, occurred_at: datetime, lookups: StripeLookups
) -> PaymentEvent:
    listed = charge.get("refunds")
    data = listed.get("data") if isinstance(listed, Mapping) else None
    if isinstance(data, list) and data:
        refunds: list[Any] = data
    else:
        # Refunds made after the event are not its refund: a later one has its own event.
        refunds = [
            refund
            for refund in lookups.charge_refunds(_text(charge, "id"))
            if _integer(refund, "created") <= created
        ]
    if not refunds:
        raise InvalidRequest("the stripe charge.refunded event names no refund")
    # Stripe lists the newest first; max() keeps the first of equal times.
    newest: _Object = max(refunds, key=lambda refund: _integer(refund, "created"))
    return PaymentEvent.refunded(
        _text(newest, "id"),
        _integer(newest, "amount"),
        occurred_at,
        _currency(newest) if newest.get("currency") else _currency(charge),
    )


def _charge_payment_id(charge: _Object, lookups: StripeLookups) -> str | None:
    payment_id = _metadata_payment_id(charge)
    if payment_id is not None:
        return payment_id
    intent = charge.get("payment_intent")
    if isinstance(intent, Mapping):
        return _metadata_payment_id(intent)
    if isinstance(intent, str) and intent:
        return lookups.payment_intent_metadata(intent).get("payment_id") or None
    return None


def _metadata_payment_id(obj: _Object) -> str | None:
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping):
        return None
    return _optional_text(metadata, "payment_id")


def _currency(obj: _Object) -> Currency:
    return Currency.of(_text(obj, "currency"))


def _mapping(obj: _Object, name: str) -> _Object:
    value = obj.get(name)
    if not isinstance(value, Mapping):
        raise InvalidRequest(f"the stripe event's {name} is an object, not {value!r}")
    return value


def _text(obj: _Object, name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"the stripe event's {name} is a non-empty string, not {value!r}")
    return value


def _optional_text(obj: _Object, name: str) -> str | None:
    value = obj.get(name)
    return value if isinstance(value, str) and value else None


def _integer(obj: _Object, name: str) -> int:
    value = obj.get(name)
    # type() rather than isinstance(): True is an int to isinstance.
    if type(value) is not int:
        raise InvalidRequest(f"the stripe event's {name} is an integer, not {value!r}")
    return value
