"""Stripe webhooks: refused unless signed over the raw body in the window, then read right."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe

from checkout_adapters.memory import FixedClock
from checkout_adapters.stripe import PINNED_API_VERSION, StripeGateway
from checkout_adapters.stripe.webhooks import StripeLookups, read_event
from checkout_core.domain.gateway import WebhookEvent, WebhookSignatureInvalid
from checkout_core.domain.money import Currency
from checkout_core.domain.payment_events import PaymentEvent
from checkout_core.errors import InvalidRequest

SECRET = "whsec_test_secret"
INR = Currency.of("INR")
CREATED = 1_767_225_600  # 2026-01-01T00:00:00Z
CREATED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def unreachable() -> str:
    # Parsing these webhooks calls nobody; should it try, the call is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def make_gateway(**settings: Any) -> StripeGateway:
    return StripeGateway(
        "sk_test_unused",
        SECRET,
        success_url="https://shop.example/paid",
        cancel_url="https://shop.example/cart",
        base_url=unreachable(),
        **settings,
    )


@pytest.fixture
def gateway() -> StripeGateway:
    return make_gateway()


def event_body(event_type: str, obj: dict[str, Any], *, event_id: str = "evt_1") -> bytes:
    event = {
        "id": event_id,
        "object": "event",
        "api_version": PINNED_API_VERSION,
        "created": CREATED,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj},
    }
    # A rupee sign, as a product name may hold: json.dumps would escape it.
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def sign(body: bytes, *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if at is None else at)
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=timestamp
    )
    return {"Stripe-Signature": header}


def checkout_session(**fields: Any) -> dict[str, Any]:
    session: dict[str, Any] = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "amount_total": 59000,
        "currency": "inr",
        "client_reference_id": "ord_tok_1",
        "metadata": {"order_token": "ord_tok_1", "payment_id": "pay_1", "attempt": "1"},
        "mode": "payment",
        "payment_intent": "pi_1",
        "payment_status": "paid",
        "status": "complete",
        "url": None,
        "line_items_note": "Data internship ₹590",
    }
    session.update(fields)
    return session


def payment_intent(**fields: Any) -> dict[str, Any]:
    intent: dict[str, Any] = {
        "id": "pi_1",
        "object": "payment_intent",
        "amount": 59000,
        "amount_received": 59000,
        "currency": "inr",
        "last_payment_error": None,
        "latest_charge": "ch_1",
        "metadata": {"order_token": "ord_tok_1", "payment_id": "pay_1", "attempt": "1"},
        "status": "succeeded",
    }
    intent.update(fields)
    return intent


def refund(refund_id: str, amount: int, created: int) -> dict[str, Any]:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "charge": "ch_1",
        "created": created,
        "currency": "inr",
        "payment_intent": "pi_1",
        "status": "succeeded",
    }


def charge(**fields: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": "ch_1",
        "object": "charge",
        "amount": 59000,
        "amount_captured": 59000,
        "amount_refunded": 30000,
        "currency": "inr",
        "metadata": {},
        "payment_intent": "pi_1",
        "refunded": False,
        "refunds": {
            "object": "list",
            "data": [refund("re_2", 20000, CREATED - 5), refund("re_1", 10000, CREATED - 900)],
            "has_more": False,
        },
    }
    value.update(fields)
    return value


# Signatures


def test_a_delivery_signed_over_its_raw_body_is_accepted(gateway: StripeGateway) -> None:
    body = event_body("checkout.session.completed", checkout_session())

    event = gateway.parse_webhook(sign(body), body)

    assert event.event_id == "evt_1"


def test_a_forged_signature_is_refused(gateway: StripeGateway) -> None:
    body = event_body("checkout.session.completed", checkout_session())
    header = sign(body)["Stripe-Signature"]
    forged = header[:-4] + ("0000" if not header.endswith("0000") else "1111")

    with pytest.raises(WebhookSignatureInvalid):
        gateway.parse_webhook({"Stripe-Signature": forged}, body)


def test_a_body_changed_after_signing_is_refused(gateway: StripeGateway) -> None:
    body = event_body("checkout.session.completed", checkout_session())
    changed = body.replace(b"59000", b"99")

    with pytest.raises(WebhookSignatureInvalid):
        gateway.parse_webhook(sign(body), changed)


def test_a_body_parsed_and_written_again_is_refused(gateway: StripeGateway) -> None:
    body = event_body("checkout.session.completed", checkout_session())
    reserialised = json.dumps(json.loads(body)).encode()
    assert reserialised != body

    with pytest.raises(WebhookSignatureInvalid):
        gateway.parse_webhook(sign(body), reserialised)


def test_a_signature_made_with_another_secret_is_refused(gateway: StripeGateway) -> None:
    body = event_body("checkout.session.completed", checkout_session())

    with pytest.raises(WebhookSignatureInvalid):
        gateway.parse_webhook(sign(body, secret="whsec_someone_else"), body)


def test_one_matching_signature_among_several_is_enough_while_secrets_rotate(
    gateway: StripeGateway,
) -> None:
    body = event_body("checkout.session.completed", checkout_session())
    now = int(time.time())
    old = sign(body, secret="whsec_old", at=now)["Stripe-Signature"]
    new = sign(body, at=now)["Stripe-Signature"]
    both = f"{old},{new.split(',')[1]}"

    assert gateway.parse_webhook({"Stripe-Signature": both}, body).event_id == "evt_1"


@pytest.mark.parametrize(("seconds_ago", "accepted"), [(299, True), (301, False), (3600, False)])
def test_a_signature_older_than_the_tolerance_is_refused(
    gateway: StripeGateway, seconds_ago: int, *, accepted: bool
) -> None:
    body = event_body("checkout.session.completed", checkout_session())
    headers = sign(body, at=time.time() - seconds_ago)

    if accepted:
        assert gateway.parse_webhook(headers, body).event_id == "evt_1"
    else:
        with pytest.raises(WebhookSignatureInvalid):
            gateway.parse_webhook(headers, body)


@pytest.mark.parametrize(
    ("seconds_ahead", "accepted"), [(299, True), (301, False), (86_400 * 365, False)]
)
def test_a_signature_dated_too_far_in_the_future_is_refused(
    gateway: StripeGateway, seconds_ahead: int, *, accepted: bool
) -> None:
    body = event_body("checkout.session.completed", checkout_session())
    headers = sign(body, at=time.time() + seconds_ahead)

    if accepted:
        assert gateway.parse_webhook(headers, body).event_id == "evt_1"
    else:
        with pytest.raises(WebhookSignatureInvalid, match="future"):
            gateway.parse_webhook(headers, body)


def test_the_future_tolerance_is_a_setting_of_its_own() -> None:
    strict = make_gateway(future_tolerance=5)
    body = event_body("checkout.session.completed", checkout_session())

    with pytest.raises(WebhookSignatureInvalid, match="future"):
        strict.parse_webhook(sign(body, at=time.time() + 60), body)


def test_the_window_is_judged_by_the_gateways_clock() -> None:
    clock = FixedClock(datetime.now(UTC) + timedelta(minutes=10))
    gateway = make_gateway(clock=clock)
    body = event_body("checkout.session.completed", checkout_session())
    headers = sign(body)

    with pytest.raises(WebhookSignatureInvalid, match="ago"):
        gateway.parse_webhook(headers, body)

    clock.set(datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(WebhookSignatureInvalid, match="future"):
        gateway.parse_webhook(headers, body)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-header"),
        pytest.param({"Stripe-Signature": ""}, id="empty"),
        pytest.param({"Stripe-Signature": "v1=abc"}, id="no-timestamp"),
        pytest.param({"Stripe-Signature": "t=notanumber,v1=abc"}, id="bad-timestamp"),
        pytest.param({"X-Razorpay-Signature": "abc"}, id="another-providers-header"),
    ],
)
def test_a_missing_or_malformed_signature_header_is_refused(
    gateway: StripeGateway, headers: dict[str, str]
) -> None:
    body = event_body("checkout.session.completed", checkout_session())

    with pytest.raises(WebhookSignatureInvalid):
        gateway.parse_webhook(headers, body)


def test_the_header_is_found_whatever_its_case(gateway: StripeGateway) -> None:
    body = event_body("checkout.session.completed", checkout_session())
    header = sign(body)["Stripe-Signature"]

    for name in ("stripe-signature", "STRIPE-SIGNATURE", "Stripe-Signature"):
        assert gateway.parse_webhook({name: header}, body).event_id == "evt_1"


def test_a_body_that_is_not_utf8_is_refused(gateway: StripeGateway) -> None:
    body = b'{"id": "evt_1", "x": "\xff"}'
    header = f"t={int(time.time())},v1={'0' * 64}"

    with pytest.raises(WebhookSignatureInvalid):
        gateway.parse_webhook({"Stripe-Signature": header}, body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(b'{"id": "evt_1", "object": "event", "type": "x"}', id="no-data"),
        pytest.param(b'{"object": "v2.core.event", "id": "evt_1"}', id="thin-event"),
    ],
)
def test_a_signed_body_that_is_no_event_is_an_invalid_request(
    gateway: StripeGateway, body: bytes
) -> None:
    with pytest.raises(InvalidRequest):
        gateway.parse_webhook(sign(body), body)


# Events


def parse(gateway: StripeGateway, event_type: str, obj: dict[str, Any]) -> WebhookEvent:
    body = event_body(event_type, obj)
    return gateway.parse_webhook(sign(body), body)


def test_a_completed_paid_session_is_a_capture_of_its_total(gateway: StripeGateway) -> None:
    event = parse(gateway, "checkout.session.completed", checkout_session())

    assert event == WebhookEvent(
        provider="stripe",
        event_id="evt_1",
        type="checkout.session.completed",
        provider_ref="cs_test_1",
        payment_event=PaymentEvent.captured(59000, CREATED_AT, INR),
        payment_id="pay_1",
    )


def test_a_completed_session_still_unpaid_waits_for_its_asynchronous_payment(
    gateway: StripeGateway,
) -> None:
    event = parse(gateway, "checkout.session.completed", checkout_session(payment_status="unpaid"))

    assert event.payment_event is None
    assert event.provider_ref == "cs_test_1"
    assert event.payment_id == "pay_1"


def test_an_asynchronous_payment_that_succeeded_is_a_capture(gateway: StripeGateway) -> None:
    event = parse(gateway, "checkout.session.async_payment_succeeded", checkout_session())

    assert event.provider_ref == "cs_test_1"
    assert event.payment_event == PaymentEvent.captured(59000, CREATED_AT, INR)


def test_an_asynchronous_payment_that_failed_is_a_failure(gateway: StripeGateway) -> None:
    event = parse(
        gateway,
        "checkout.session.async_payment_failed",
        checkout_session(payment_status="unpaid"),
    )

    assert event.provider_ref == "cs_test_1"
    assert event.payment_event == PaymentEvent.failed(
        CREATED_AT, failure_reason="the asynchronous payment failed"
    )


def test_a_payment_intent_that_succeeded_is_a_capture_of_what_was_received(
    gateway: StripeGateway,
) -> None:
    event = parse(gateway, "payment_intent.succeeded", payment_intent(amount_received=58000))

    assert event == WebhookEvent(
        provider="stripe",
        event_id="evt_1",
        type="payment_intent.succeeded",
        provider_ref=None,
        payment_event=PaymentEvent.captured(58000, CREATED_AT, INR),
        payment_id="pay_1",
    )


def test_a_failed_payment_intent_is_a_failure_with_stripes_code_and_message(
    gateway: StripeGateway,
) -> None:
    error = {"type": "card_error", "code": "card_declined", "message": "Your card was declined."}
    event = parse(
        gateway,
        "payment_intent.payment_failed",
        payment_intent(
            status="requires_payment_method", amount_received=0, last_payment_error=error
        ),
    )

    assert event.provider_ref is None
    assert event.payment_id == "pay_1"
    assert event.payment_event == PaymentEvent.failed(
        CREATED_AT, "card_declined", "Your card was declined."
    )


def test_a_refunded_charge_is_its_newest_refund_not_the_sum_refunded(
    gateway: StripeGateway,
) -> None:
    event = parse(gateway, "charge.refunded", charge(metadata={"payment_id": "pay_1"}))

    assert event == WebhookEvent(
        provider="stripe",
        event_id="evt_1",
        type="charge.refunded",
        provider_ref=None,
        payment_event=PaymentEvent.refunded("re_2", 20000, CREATED_AT, INR),
        payment_id="pay_1",
    )


@pytest.mark.parametrize(
    ("event_type", "obj"),
    [
        ("checkout.session.expired", checkout_session(status="expired", payment_status="unpaid")),
        ("payment_intent.created", payment_intent(status="requires_payment_method")),
        ("customer.created", {"id": "cus_1", "object": "customer"}),
        ("charge.succeeded", charge(refunds=None)),
    ],
)
def test_other_events_are_recorded_without_a_payment_event(
    gateway: StripeGateway, event_type: str, obj: dict[str, Any]
) -> None:
    event = parse(gateway, event_type, obj)

    assert event.type == event_type
    assert event.event_id == "evt_1"
    assert event.payment_event is None


def test_an_event_without_the_fields_its_type_needs_is_an_invalid_request(
    gateway: StripeGateway,
) -> None:
    with pytest.raises(InvalidRequest, match="amount_total"):
        parse(gateway, "checkout.session.completed", checkout_session(amount_total=None))


# Charges name neither the session nor, always, the payment: the reader asks.


class Lookups:
    def __init__(self, refunds: list[dict[str, Any]] | None = None) -> None:
        self.asked: list[str] = []
        self.refunds = refunds or []

    def payment_intent_metadata(self, intent_id: str) -> dict[str, str]:
        self.asked.append(intent_id)
        return {"payment_id": "pay_from_intent"}

    def charge_refunds(self, charge_id: str) -> list[dict[str, Any]]:
        self.asked.append(charge_id)
        return self.refunds

    def as_lookups(self) -> StripeLookups:
        return StripeLookups(self.payment_intent_metadata, self.charge_refunds)


def charge_event(**fields: Any) -> dict[str, Any]:
    return {
        "id": "evt_1",
        "object": "event",
        "created": CREATED,
        "type": "charge.refunded",
        "data": {"object": charge(**fields)},
    }


def test_a_charge_without_the_payment_id_has_it_read_from_its_payment_intent() -> None:
    lookups = Lookups()

    event = read_event(charge_event(), lookups.as_lookups())

    assert event.payment_id == "pay_from_intent"
    assert lookups.asked == ["pi_1"]


def test_a_charge_whose_payment_intent_is_expanded_needs_no_call() -> None:
    lookups = Lookups()

    event = read_event(charge_event(payment_intent=payment_intent()), lookups.as_lookups())

    assert event.payment_id == "pay_1"
    assert lookups.asked == []


def test_a_charge_without_its_refunds_has_them_listed_and_later_ones_ignored() -> None:
    lookups = Lookups(
        refunds=[
            refund("re_3", 7000, CREATED + 60),
            refund("re_2", 20000, CREATED - 5),
            refund("re_1", 10000, CREATED - 900),
        ]
    )

    event = read_event(
        charge_event(refunds=None, metadata={"payment_id": "pay_1"}), lookups.as_lookups()
    )

    assert event.payment_event == PaymentEvent.refunded("re_2", 20000, CREATED_AT, INR)
    assert lookups.asked == ["ch_1"]


def test_a_charge_refunded_without_any_refund_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="no refund"):
        read_event(
            charge_event(refunds=None, metadata={"payment_id": "pay_1"}), Lookups().as_lookups()
        )
