"""Razorpay webhooks: verified on the raw bytes with the webhook secret, read into events."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from checkout_adapters.memory import FixedClock
from checkout_adapters.razorpay import RazorpayGateway, webhook_signature
from checkout_core.domain.gateway import WebhookEvent, WebhookSignatureInvalid
from checkout_core.domain.money import Currency
from checkout_core.domain.payment_events import PaymentEvent
from checkout_core.errors import InvalidRequest

KEY_SECRET = "key-secret-not-for-webhooks"
WEBHOOK_SECRET = "whsec-razorpay-test"
CLOCK_TIME = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
EVENT_TIME = 1_735_000_000
PAYMENT_TIME = 1_734_999_000
REFUND_TIME = 1_734_999_500
INR = Currency.of("INR")


@pytest.fixture
def gateway() -> Iterator[RazorpayGateway]:
    # No call leaves the machine: webhooks are parsed, never fetched.
    gw = RazorpayGateway(
        "rzp_test_key",
        KEY_SECRET,
        WEBHOOK_SECRET,
        base_url="http://127.0.0.1:9",
        clock=FixedClock(CLOCK_TIME),
    )
    yield gw
    gw.close()


def payment_entity(**overrides: object) -> dict[str, object]:
    entity: dict[str, object] = {
        "id": "pay_Abc123",
        "entity": "payment",
        "amount": 59000,
        "currency": "INR",
        "status": "captured",
        "order_id": "order_Xyz789",
        "method": "upi",
        "captured": True,
        "description": "Internship: ₹590 for 1 month",
        "notes": [],
        "error_code": None,
        "error_description": None,
        "created_at": PAYMENT_TIME,
    }
    entity.update(overrides)
    return entity


def order_entity(**overrides: object) -> dict[str, object]:
    entity: dict[str, object] = {
        "id": "order_Xyz789",
        "entity": "order",
        "amount": 59000,
        "amount_paid": 59000,
        "amount_due": 0,
        "currency": "INR",
        "receipt": "0f9c2a8e-3b1d-4c5e-8f70-1a2b3c4d5e6f",
        "status": "paid",
        "notes": {
            "order_token": "0f9c2a8e-3b1d-4c5e-8f70-1a2b3c4d5e6f",
            "payment_id": "pay_checkout_1",
            "attempt": "1",
        },
        "created_at": PAYMENT_TIME - 60,
    }
    entity.update(overrides)
    return entity


def refund_entity(**overrides: object) -> dict[str, object]:
    entity: dict[str, object] = {
        "id": "rfnd_Def456",
        "entity": "refund",
        "amount": 20000,
        "currency": "INR",
        "payment_id": "pay_Abc123",
        "notes": {"payment_id": "pay_checkout_1", "idempotency_key": "pay_checkout_1-refund-1"},
        "status": "processed",
        "speed_processed": "normal",
        "created_at": REFUND_TIME,
    }
    entity.update(overrides)
    return entity


def envelope(event: str, created_at: int | None = EVENT_TIME, **entities: object) -> bytes:
    body: dict[str, object] = {
        "entity": "event",
        "account_id": "acc_Test123",
        "event": event,
        "contains": list(entities),
        "payload": {name: {"entity": entity} for name, entity in entities.items()},
    }
    if created_at is not None:
        body["created_at"] = created_at
    # As Razorpay sends it: UTF-8, the rupee sign unescaped, its own spacing.
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers_for(body: bytes, event_id: str = "evt_Q1w2e3") -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Razorpay-Signature": sign(body),
        "X-Razorpay-Event-Id": event_id,
    }


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


# Verification -----------------------------------------------------------------------------


def test_a_delivery_signed_with_the_webhook_secret_verifies(gateway: RazorpayGateway) -> None:
    body = envelope("payment.captured", payment=payment_entity())

    event = gateway.parse_webhook(headers_for(body, "evt_1"), body)

    assert event.provider == "razorpay"
    assert event.event_id == "evt_1"
    assert event.type == "payment.captured"


def test_the_signature_helper_is_the_hmac_of_the_raw_body() -> None:
    body = envelope("payment.captured", payment=payment_entity())

    assert webhook_signature(body, WEBHOOK_SECRET) == sign(body)


def test_a_body_changed_after_signing_is_refused(gateway: RazorpayGateway) -> None:
    body = envelope("payment.captured", payment=payment_entity())
    headers = headers_for(body)
    forged = body.replace(b"59000", b"59001", 1)

    with pytest.raises(WebhookSignatureInvalid):
        gateway.parse_webhook(headers, forged)


def test_a_forged_signature_is_refused(gateway: RazorpayGateway) -> None:
    body = envelope("payment.captured", payment=payment_entity())
    headers = headers_for(body) | {"X-Razorpay-Signature": "0" * 64}

    with pytest.raises(WebhookSignatureInvalid, match="does not verify"):
        gateway.parse_webhook(headers, body)


def test_the_same_json_written_again_no_longer_verifies(gateway: RazorpayGateway) -> None:
    body = envelope("payment.captured", payment=payment_entity())
    assert "₹".encode() in body
    headers = headers_for(body)
    # What a framework hands over when it parses and re-dumps: "₹" becomes "\u20b9".
    reserialised = json.dumps(json.loads(body)).encode()
    assert reserialised != body

    with pytest.raises(WebhookSignatureInvalid):
        gateway.parse_webhook(headers, reserialised)


def test_a_delivery_signed_with_the_api_key_secret_is_refused(gateway: RazorpayGateway) -> None:
    body = envelope("payment.captured", payment=payment_entity())
    headers = headers_for(body) | {"X-Razorpay-Signature": sign(body, KEY_SECRET)}

    with pytest.raises(WebhookSignatureInvalid):
        gateway.parse_webhook(headers, body)


def test_a_delivery_without_a_signature_is_refused(gateway: RazorpayGateway) -> None:
    body = envelope("payment.captured", payment=payment_entity())
    headers = headers_for(body)
    del headers["X-Razorpay-Signature"]

    with pytest.raises(WebhookSignatureInvalid, match="x-razorpay-signature"):
        gateway.parse_webhook(headers, body)


def test_a_delivery_without_an_event_id_is_refused_as_it_cannot_be_deduplicated(
    gateway: RazorpayGateway,
) -> None:
    body = envelope("payment.captured", payment=payment_entity())
    headers = headers_for(body)
    del headers["X-Razorpay-Event-Id"]

    with pytest.raises(WebhookSignatureInvalid, match="x-razorpay-event-id"):
        gateway.parse_webhook(headers, body)


def test_header_names_are_matched_whatever_their_case(gateway: RazorpayGateway) -> None:
    body = envelope("payment.captured", payment=payment_entity())
    headers = {"X-RAZORPAY-SIGNATURE": sign(body), "x-razorpay-event-id": "evt_case"}

    assert gateway.parse_webhook(headers, body).event_id == "evt_case"


def test_a_signature_that_is_not_ascii_is_refused_not_crashed_on(
    gateway: RazorpayGateway,
) -> None:
    body = envelope("payment.captured", payment=payment_entity())
    headers = headers_for(body) | {"X-Razorpay-Signature": "₹" * 64}

    with pytest.raises(WebhookSignatureInvalid):
        gateway.parse_webhook(headers, body)


def test_a_body_that_is_not_utf8_is_checked_as_bytes(gateway: RazorpayGateway) -> None:
    body = b"\xff\xfe not json"

    with pytest.raises(InvalidRequest, match="not JSON"):
        gateway.parse_webhook(headers_for(body), body)


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'{"event": "payment.captured", "payload": {}}',
        b'{"event": "payment.captured", "payload": {"payment": {"entity": {"id": "pay_1"}}}}',
        b'{"payload": {}}',
    ],
)
def test_a_verified_body_that_is_no_razorpay_event_is_an_invalid_request(
    gateway: RazorpayGateway, body: bytes
) -> None:
    with pytest.raises(InvalidRequest):
        gateway.parse_webhook(headers_for(body), body)


# Events -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            envelope(
                "payment.authorized",
                payment=payment_entity(status="authorized", captured=False),
            ),
            PaymentEvent.authorized(at(EVENT_TIME)),
            id="payment.authorized",
        ),
        pytest.param(
            envelope("payment.captured", payment=payment_entity()),
            PaymentEvent.captured(59000, at(EVENT_TIME), INR),
            id="payment.captured",
        ),
        pytest.param(
            envelope(
                "payment.failed",
                payment=payment_entity(
                    status="failed",
                    captured=False,
                    error_code="BAD_REQUEST_ERROR",
                    error_description="Payment failed because the card was declined",
                ),
            ),
            PaymentEvent.failed(
                at(EVENT_TIME),
                "BAD_REQUEST_ERROR",
                "Payment failed because the card was declined",
            ),
            id="payment.failed",
        ),
        pytest.param(
            envelope("order.paid", payment=payment_entity(), order=order_entity()),
            PaymentEvent.captured(59000, at(EVENT_TIME), INR),
            id="order.paid",
        ),
        pytest.param(
            envelope("order.paid", order=order_entity(amount_paid=58000)),
            PaymentEvent.captured(58000, at(EVENT_TIME), INR),
            id="order.paid-without-payment",
        ),
        pytest.param(
            envelope("refund.processed", refund=refund_entity(), payment=payment_entity()),
            PaymentEvent.refunded("rfnd_Def456", 20000, at(EVENT_TIME), INR),
            id="refund.processed",
        ),
    ],
)
def test_payment_events_are_read_from_their_entities(
    gateway: RazorpayGateway, body: bytes, expected: PaymentEvent
) -> None:
    event = gateway.parse_webhook(headers_for(body), body)

    assert event.payment_event == expected
    assert event.provider_ref == "order_Xyz789"


@pytest.mark.parametrize(
    ("body", "payment_id"),
    [
        pytest.param(
            envelope(
                "refund.created",
                refund=refund_entity(status="pending"),
                payment=payment_entity(),
            ),
            "pay_checkout_1",
            id="refund.created",
        ),
        pytest.param(
            envelope(
                "refund.failed",
                refund=refund_entity(status="failed"),
                payment=payment_entity(),
            ),
            "pay_checkout_1",
            id="refund.failed",
        ),
        pytest.param(
            envelope("payment.dispute.created", payment=payment_entity()),
            None,
            id="payment.dispute.created",
        ),
    ],
)
def test_other_events_are_recorded_without_a_payment_event(
    gateway: RazorpayGateway, body: bytes, payment_id: str | None
) -> None:
    event = gateway.parse_webhook(headers_for(body, "evt_other"), body)

    assert event == WebhookEvent(
        provider="razorpay",
        event_id="evt_other",
        type=json.loads(body)["event"],
        provider_ref="order_Xyz789",
        payment_event=None,
        payment_id=payment_id,
    )


def test_the_checkouts_payment_id_comes_from_the_notes(gateway: RazorpayGateway) -> None:
    notes = {"payment_id": "pay_checkout_7", "order_token": "tok"}
    body = envelope("payment.captured", payment=payment_entity(notes=notes))

    assert gateway.parse_webhook(headers_for(body), body).payment_id == "pay_checkout_7"


def test_order_paid_finds_the_checkouts_payment_id_in_the_orders_notes(
    gateway: RazorpayGateway,
) -> None:
    body = envelope("order.paid", payment=payment_entity(), order=order_entity())

    event = gateway.parse_webhook(headers_for(body), body)

    assert event.payment_id == "pay_checkout_1"
    assert event.provider_ref == "order_Xyz789"


def test_a_payment_without_notes_names_no_checkout_payment(gateway: RazorpayGateway) -> None:
    body = envelope("payment.captured", payment=payment_entity(notes=[]))

    assert gateway.parse_webhook(headers_for(body), body).payment_id is None


def test_an_events_time_falls_back_to_its_entity_then_to_the_clock(
    gateway: RazorpayGateway,
) -> None:
    from_entity = envelope("payment.captured", created_at=None, payment=payment_entity())
    from_clock = envelope(
        "payment.captured", created_at=None, payment=payment_entity(created_at=None)
    )

    first = gateway.parse_webhook(headers_for(from_entity), from_entity).payment_event
    second = gateway.parse_webhook(headers_for(from_clock), from_clock).payment_event

    assert first is not None
    assert first.occurred_at == at(PAYMENT_TIME)
    assert second is not None
    assert second.occurred_at == CLOCK_TIME


def test_event_times_are_aware_and_in_utc(gateway: RazorpayGateway) -> None:
    body = envelope("payment.captured", payment=payment_entity())

    payment_event = gateway.parse_webhook(headers_for(body), body).payment_event

    assert payment_event is not None
    assert payment_event.occurred_at.tzinfo is UTC


def test_a_currency_the_checkout_does_not_know_is_an_invalid_request(
    gateway: RazorpayGateway,
) -> None:
    body = envelope("payment.captured", payment=payment_entity(currency="XXX"))

    with pytest.raises(InvalidRequest, match="XXX"):
        gateway.parse_webhook(headers_for(body), body)
