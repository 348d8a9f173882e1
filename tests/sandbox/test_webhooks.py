from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import razorpay
import stripe

from checkout_adapters.sandbox import RetryPolicy, Sandbox
from tests.sandbox.support import Receiver, order_params, session_params


def _razorpay_order(rzp: Any) -> str:
    return str(rzp.order.create(order_params())["id"])


def _stripe_session(client: stripe.StripeClient) -> Any:
    return client.v1.checkout.sessions.create(params=session_params())


def test_razorpay_webhooks_verify_with_the_sdk_and_carry_the_envelope(
    sandbox: Sandbox, receiver: Receiver, rzp: Any
) -> None:
    order_id = _razorpay_order(rzp)
    sandbox.complete_payment("razorpay", order_id)
    sandbox.wait_for_deliveries()
    assert receiver.types() == ["payment.authorized", "payment.captured", "order.paid"]
    for delivery in receiver.received:
        assert delivery.provider == "razorpay"
        assert delivery.headers["Content-Type"] == "application/json"
        assert rzp.utility.verify_webhook_signature(
            delivery.body.decode(),
            delivery.headers["X-Razorpay-Signature"],
            sandbox.razorpay_webhook_secret,
        )
    assert len({delivery.event_id for delivery in receiver.received}) == 3
    envelope = receiver.received[2].event
    assert (envelope["entity"], envelope["account_id"], envelope["event"]) == (
        "event",
        "acc_sandbox",
        "order.paid",
    )
    assert envelope["contains"] == ["payment", "order"]
    assert envelope["payload"]["order"]["entity"]["status"] == "paid"
    payment = envelope["payload"]["payment"]["entity"]
    assert (payment["order_id"], payment["status"], payment["notes"]) == (
        order_id,
        "captured",
        {"payment_id": "pay_local_1"},
    )
    authorized = receiver.received[0].event["payload"]
    assert authorized["payment"]["entity"]["status"] == "authorized"
    assert "order" not in authorized


def test_a_razorpay_webhook_signed_with_another_secret_does_not_verify(
    sandbox: Sandbox, receiver: Receiver, rzp: Any
) -> None:
    sandbox.fail_payment("razorpay", _razorpay_order(rzp))
    sandbox.wait_for_deliveries()
    (delivery,) = receiver.received
    assert delivery.type == "payment.failed"
    with pytest.raises(razorpay.errors.SignatureVerificationError):
        rzp.utility.verify_webhook_signature(
            delivery.body.decode(),
            delivery.headers["X-Razorpay-Signature"],
            sandbox.razorpay_key_secret,
        )


def test_a_re_serialised_body_no_longer_verifies_because_of_its_rupee_sign(
    sandbox: Sandbox, receiver: Receiver, rzp: Any, stripe_client: stripe.StripeClient
) -> None:
    sandbox.complete_payment("razorpay", _razorpay_order(rzp))
    sandbox.complete_payment("stripe", _stripe_session(stripe_client).id)
    sandbox.wait_for_deliveries()
    razorpay_delivery = receiver.received[0]
    assert "₹" in razorpay_delivery.body.decode()
    reserialised = json.dumps(json.loads(razorpay_delivery.body))
    with pytest.raises(razorpay.errors.SignatureVerificationError):
        rzp.utility.verify_webhook_signature(
            reserialised,
            razorpay_delivery.headers["X-Razorpay-Signature"],
            sandbox.razorpay_webhook_secret,
        )
    stripe_delivery = next(item for item in receiver.received if item.provider == "stripe")
    assert not stripe_delivery.body.isascii()
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            json.dumps(json.loads(stripe_delivery.body)),
            stripe_delivery.headers["Stripe-Signature"],
            sandbox.stripe_webhook_secret,
        )


def test_stripe_webhooks_verify_with_construct_event(
    sandbox: Sandbox, receiver: Receiver, stripe_client: stripe.StripeClient
) -> None:
    session = _stripe_session(stripe_client)
    sandbox.complete_payment("stripe", session.id)
    sandbox.wait_for_deliveries()
    assert receiver.types() == ["checkout.session.completed", "payment_intent.succeeded"]
    events = [
        stripe.Webhook.construct_event(
            delivery.body, delivery.headers["Stripe-Signature"], sandbox.stripe_webhook_secret
        )
        for delivery in receiver.received
    ]
    completed, succeeded = events
    assert completed.id.startswith("evt_")
    assert (completed.object, completed.livemode, completed.api_version) == (
        "event",
        False,
        "2024-06-20",
    )
    paid_session = completed["data"]["object"]
    assert (paid_session["id"], paid_session["payment_status"]) == (session.id, "paid")
    assert paid_session["client_reference_id"] == "order_token_1"
    intent = succeeded["data"]["object"]
    assert (intent["id"], intent["status"]) == (session.payment_intent, "succeeded")
    assert intent["metadata"].to_dict() == {"payment_id": "pay_local_1"}
    header = receiver.received[0].headers["Stripe-Signature"]
    assert header.startswith("t=")
    assert ",v1=" in header
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(receiver.received[0].body, header, "whsec_other")


def test_a_stripe_event_can_be_fetched_back_through_the_api(
    sandbox: Sandbox, receiver: Receiver, stripe_client: stripe.StripeClient
) -> None:
    sandbox.fail_payment("stripe", _stripe_session(stripe_client).id)
    sandbox.wait_for_deliveries()
    (delivery,) = receiver.received
    event = stripe_client.v1.events.retrieve(delivery.event_id)
    assert event.type == "payment_intent.payment_failed"
    assert event.to_dict() == json.loads(delivery.body)


def test_refunds_raise_refund_processed_and_charge_refunded(
    sandbox: Sandbox, receiver: Receiver, rzp: Any, stripe_client: stripe.StripeClient
) -> None:
    order_id = _razorpay_order(rzp)
    payment_id = sandbox.complete_payment("razorpay", order_id)["razorpay_payment_id"]
    session = _stripe_session(stripe_client)
    sandbox.complete_payment("stripe", session.id)
    rzp.payment.refund(payment_id, {"amount": 10_000})
    stripe_client.v1.refunds.create(
        params={"payment_intent": session.payment_intent, "amount": 10_000},
        options={"idempotency_key": "refund-1"},
    )
    sandbox.wait_for_deliveries()
    processed = next(item for item in receiver.received if item.type == "refund.processed")
    assert processed.event["contains"] == ["refund", "payment"]
    refund = processed.event["payload"]["refund"]["entity"]
    assert (refund["amount"], refund["payment_id"], refund["status"]) == (
        10_000,
        payment_id,
        "processed",
    )
    assert processed.event["payload"]["payment"]["entity"]["amount_refunded"] == 10_000

    refunded = next(item for item in receiver.received if item.type == "charge.refunded")
    event = refunded.event
    charge = event["data"]["object"]
    assert (charge["object"], charge["amount_refunded"], charge["refunded"]) == (
        "charge",
        10_000,
        False,
    )
    assert [item["amount"] for item in charge["refunds"]["data"]] == [10_000]
    assert event["data"]["previous_attributes"] == {"amount_refunded": 0}
    assert event["request"]["idempotency_key"] == "refund-1"


def test_async_stripe_payments_complete_unpaid_then_settle(
    sandbox: Sandbox, receiver: Receiver, stripe_client: stripe.StripeClient
) -> None:
    good, bad = _stripe_session(stripe_client), _stripe_session(stripe_client)
    sandbox.emit_async_stripe(good.id, True)
    sandbox.emit_async_stripe(bad.id, False)
    sandbox.wait_for_deliveries()
    assert receiver.types() == [
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
        "checkout.session.async_payment_failed",
        "payment_intent.payment_failed",
    ]
    completed = receiver.received[0].event["data"]["object"]
    assert (completed["status"], completed["payment_status"]) == ("complete", "unpaid")
    assert receiver.received[1].event["data"]["object"]["payment_status"] == "paid"
    assert stripe_client.v1.checkout.sessions.retrieve(bad.id).payment_status == "unpaid"


def test_a_failed_delivery_is_retried_with_the_same_event_id_until_taken(
    sandbox: Sandbox, receiver: Receiver, rzp: Any
) -> None:
    receiver.statuses = [500, 503]
    sandbox.fail_payment("razorpay", _razorpay_order(rzp))
    sandbox.wait_for_deliveries()
    assert [(d.attempt, d.status) for d in sandbox.deliveries] == [(1, 500), (2, 503), (3, 200)]
    assert len({item.event_id for item in receiver.received}) == 1
    assert len({item.body for item in receiver.received}) == 1
    assert sandbox.abandoned == []


def test_a_delivery_failing_every_attempt_is_given_up_and_recorded(
    sandbox: Sandbox, receiver: Receiver, stripe_client: stripe.StripeClient
) -> None:
    receiver.statuses = [500] * 10
    sandbox.fail_payment("stripe", _stripe_session(stripe_client).id)
    sandbox.wait_for_deliveries()
    assert [d.attempt for d in sandbox.deliveries] == [1, 2, 3, 4]
    assert not any(d.ok for d in sandbox.deliveries)
    (given_up,) = sandbox.abandoned
    assert given_up.type == "payment_intent.payment_failed"


def test_a_receiver_that_raises_counts_as_a_failed_delivery(sandbox: Sandbox, rzp: Any) -> None:
    calls: list[str] = []

    def flaky(provider: str, _headers: dict[str, str], _body: bytes) -> int:
        calls.append(provider)
        if len(calls) == 1:
            raise RuntimeError("database is down")
        return 204

    sandbox.webhook_target = flaky
    sandbox.fail_payment("razorpay", _razorpay_order(rzp))
    sandbox.wait_for_deliveries()
    first, second = sandbox.deliveries
    assert (first.status, second.status) == (None, 204)
    assert "database is down" in (first.error or "")


def test_the_duplicate_fault_delivers_each_event_twice_with_the_same_id(
    sandbox: Sandbox, receiver: Receiver, rzp: Any
) -> None:
    sandbox.faults.duplicate_webhooks(True)
    sandbox.complete_payment("razorpay", _razorpay_order(rzp))
    sandbox.wait_for_deliveries()
    assert receiver.types() == [
        "payment.authorized",
        "payment.authorized",
        "payment.captured",
        "payment.captured",
        "order.paid",
        "order.paid",
    ]
    ids = [item.event_id for item in receiver.received]
    assert ids[0::2] == ids[1::2]
    assert len(set(ids)) == 3
    assert [d.copy for d in sandbox.deliveries] == [1, 2, 1, 2, 1, 2]


def test_the_reorder_fault_delivers_one_payments_events_in_reverse(
    sandbox: Sandbox, receiver: Receiver, rzp: Any, stripe_client: stripe.StripeClient
) -> None:
    sandbox.faults.reorder_webhooks(True)
    sandbox.complete_payment("razorpay", _razorpay_order(rzp))
    sandbox.complete_payment("stripe", _stripe_session(stripe_client).id)
    sandbox.wait_for_deliveries()
    assert receiver.types() == [
        "order.paid",
        "payment.captured",
        "payment.authorized",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    assert [event.type for event in sandbox.events][:3] == [
        "payment.authorized",
        "payment.captured",
        "order.paid",
    ]


def test_without_a_target_events_are_recorded_and_not_sent(rzp: Any, sandbox: Sandbox) -> None:
    sandbox.webhook_target = None
    sandbox.fail_payment("razorpay", _razorpay_order(rzp))
    sandbox.wait_for_deliveries()
    assert [event.type for event in sandbox.events] == ["payment.failed"]
    assert sandbox.deliveries == []


class _Collector(BaseHTTPRequestHandler):
    """Answers 500 to the first POST and 200 after, recording each."""

    received: list[tuple[str, dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, dict(self.headers.items()), body))
        self.send_response(500 if len(self.received) == 1 else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, dict[str, str], bytes]]]]:
    received: list[tuple[str, dict[str, str], bytes]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/{{provider}}", received
    server.shutdown()
    server.server_close()
    thread.join()


def test_webhooks_are_posted_to_a_url_with_the_providers_headers(
    collector: tuple[str, list[tuple[str, dict[str, str], bytes]]],
) -> None:
    url, received = collector
    with Sandbox(webhook_target=url, webhook_retry=RetryPolicy(first_delay=0.01)) as sandbox:
        client = razorpay.Client(
            auth=(sandbox.razorpay_key_id, sandbox.razorpay_key_secret), base_url=sandbox.base_url
        )
        sandbox.fail_payment("razorpay", _razorpay_order(client))
        sandbox.wait_for_deliveries()
        client.session.close()
        assert [(d.attempt, d.status) for d in sandbox.deliveries] == [(1, 500), (2, 200)]
    (path, headers, body), (_, again, same) = received
    assert path == "/webhooks/razorpay"
    assert same == body
    assert headers["X-Razorpay-Signature"] == again["X-Razorpay-Signature"]
    assert headers["X-Razorpay-Event-Id"] == again["X-Razorpay-Event-Id"]
    assert client.utility.verify_webhook_signature(
        body.decode(), headers["X-Razorpay-Signature"], sandbox.razorpay_webhook_secret
    )


def test_a_receiver_slower_than_the_timeout_counts_as_a_failed_delivery(
    sandbox: Sandbox, rzp: Any
) -> None:
    calls: list[str] = []

    def slow_once(provider: str, _headers: dict[str, str], _body: bytes) -> int:
        calls.append(provider)
        if len(calls) == 1:
            time.sleep(0.1)
        return 200

    sandbox.webhook_timeout = 0.05
    sandbox.webhook_target = slow_once
    sandbox.fail_payment("razorpay", _razorpay_order(rzp))
    sandbox.wait_for_deliveries()
    first, second = sandbox.deliveries
    assert first.status is None
    assert "after" in (first.error or "")
    assert second.ok


def test_an_unreachable_url_is_retried_then_given_up() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with Sandbox(
        webhook_target=f"http://127.0.0.1:{closed_port}/webhooks",
        webhook_retry=RetryPolicy(first_delay=0.01, max_attempts=2),
    ) as sandbox:
        client = razorpay.Client(
            auth=(sandbox.razorpay_key_id, sandbox.razorpay_key_secret), base_url=sandbox.base_url
        )
        sandbox.fail_payment("razorpay", _razorpay_order(client))
        sandbox.wait_for_deliveries()
        client.session.close()
        assert [(d.attempt, d.status) for d in sandbox.deliveries] == [(1, None), (2, None)]
        assert all("no answer" in (d.error or "") for d in sandbox.deliveries)
        assert [event.type for event in sandbox.abandoned] == ["payment.failed"]
