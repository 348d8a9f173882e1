"""The Stripe gateway against the sandbox: the SDK end to end, webhooks as Stripe signs them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from checkout_adapters.sandbox import Sandbox
from checkout_adapters.stripe import StripeGateway
from checkout_core.domain.gateway import (
    GatewayError,
    PaymentSessionRequest,
    ProviderPaymentState,
    RefundRequest,
    SessionLine,
    WebhookEvent,
    WebhookSignatureInvalid,
)
from checkout_core.domain.money import Currency
from checkout_core.domain.payment_events import PaymentEventKind

API_KEY = "sk_test_conformance"
WEBHOOK_SECRET = "whsec_conformance"
INR = Currency.of("INR")


class Inbox:
    """Takes the sandbox's deliveries as a web endpoint would: raw headers and bytes."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []

    def __call__(self, provider: str, headers: dict[str, str], body: bytes) -> int:
        if provider == "stripe":
            self.received.append((headers, body))
        return 200


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def sandbox(inbox: Inbox) -> Iterator[Sandbox]:
    with Sandbox(
        stripe_api_key=API_KEY, stripe_webhook_secret=WEBHOOK_SECRET, webhook_target=inbox
    ) as sandbox:
        yield sandbox


def gateway_for(sandbox: Sandbox, *, timeout: float = 5.0, api_key: str = API_KEY) -> StripeGateway:
    return StripeGateway(
        api_key,
        WEBHOOK_SECRET,
        success_url="https://shop.example/paid?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="https://shop.example/cart",
        base_url=sandbox.base_url,
        timeout=timeout,
    )


@pytest.fixture
def gateway(sandbox: Sandbox) -> StripeGateway:
    return gateway_for(sandbox)


def session_request(payment_id: str = "pay_1", *, amount: int = 59000) -> PaymentSessionRequest:
    return PaymentSessionRequest(
        payment_id=payment_id,
        order_token=f"ord_{payment_id}",
        amount=amount,
        currency=INR,
        lines=(SessionLine("Data internship · ₹500", amount - 9000), SessionLine("GST", 9000)),
        user_id="user_1",
        attempt=1,
        idempotency_key=f"{payment_id}-session",
    )


def refund_request(provider_ref: str, amount: int, key: str) -> RefundRequest:
    return RefundRequest(
        payment_id="pay_1",
        provider_ref=provider_ref,
        amount=amount,
        currency=INR,
        idempotency_key=key,
    )


def delivered(sandbox: Sandbox, inbox: Inbox, gateway: StripeGateway) -> list[WebhookEvent]:
    sandbox.wait_for_deliveries(5.0)
    return [gateway.parse_webhook(headers, body) for headers, body in inbox.received]


# Sessions


def test_a_session_is_opened_through_the_sdk_with_the_buyers_pay_page(
    sandbox: Sandbox, gateway: StripeGateway
) -> None:
    session = gateway.create_session(session_request())

    assert session.provider == "stripe"
    assert session.provider_ref.startswith("cs_test_")
    assert session.checkout_url == sandbox.checkout_url("stripe", session.provider_ref)
    assert gateway.fetch_status(session.provider_ref).state is ProviderPaymentState.PENDING


def test_a_repeated_request_under_the_same_key_returns_the_same_session(
    gateway: StripeGateway,
) -> None:
    first = gateway.create_session(session_request())
    again = gateway.create_session(session_request())
    other = gateway.create_session(session_request("pay_2"))

    assert again == first
    assert other.provider_ref != first.provider_ref


def test_the_same_key_with_another_request_is_refused_for_good(gateway: StripeGateway) -> None:
    gateway.create_session(session_request())

    with pytest.raises(GatewayError) as raised:
        gateway.create_session(session_request(amount=60000))

    assert raised.value.retryable is False
    assert "IdempotencyError" in str(raised.value)


# Status


def test_the_status_follows_a_declined_attempt_then_a_payment(
    sandbox: Sandbox, gateway: StripeGateway
) -> None:
    ref = gateway.create_session(session_request()).provider_ref

    sandbox.fail_payment("stripe", ref, code="card_declined", reason="insufficient_funds")
    failed = gateway.fetch_status(ref)
    sandbox.complete_payment("stripe", ref)
    paid = gateway.fetch_status(ref)

    assert failed.state is ProviderPaymentState.FAILED
    assert failed.failure_code == "card_declined"
    assert paid.state is ProviderPaymentState.CAPTURED
    assert paid.amount_captured == 59000
    assert paid.provider_payment_id == failed.provider_payment_id
    assert paid.provider_payment_id is not None
    assert paid.provider_payment_id.startswith("pi_")


def test_an_unknown_session_is_never_retried(gateway: StripeGateway) -> None:
    with pytest.raises(GatewayError) as raised:
        gateway.fetch_status("cs_test_nobody")

    assert raised.value.retryable is False


# Refunds


def test_a_full_refund_takes_back_everything_once(sandbox: Sandbox, gateway: StripeGateway) -> None:
    ref = gateway.create_session(session_request()).provider_ref
    sandbox.complete_payment("stripe", ref)

    receipt = gateway.refund(refund_request(ref, 59000, "pay_1-refund-1"))
    replayed = gateway.refund(refund_request(ref, 59000, "pay_1-refund-1"))
    with pytest.raises(GatewayError) as raised:
        gateway.refund(refund_request(ref, 100, "pay_1-refund-2"))

    assert receipt.amount == 59000
    assert receipt.pending is False
    assert replayed == receipt
    assert raised.value.retryable is False


def test_partial_refunds_add_up_to_the_payment_and_no_further(
    sandbox: Sandbox, gateway: StripeGateway
) -> None:
    ref = gateway.create_session(session_request()).provider_ref
    sandbox.complete_payment("stripe", ref)

    first = gateway.refund(refund_request(ref, 20000, "pay_1-refund-1"))
    second = gateway.refund(refund_request(ref, 39000, "pay_1-refund-2"))
    with pytest.raises(GatewayError) as raised:
        gateway.refund(refund_request(ref, 1, "pay_1-refund-3"))

    assert (first.amount, second.amount) == (20000, 39000)
    assert first.refund_id != second.refund_id
    assert raised.value.retryable is False


def test_a_session_not_paid_cannot_be_refunded(gateway: StripeGateway) -> None:
    ref = gateway.create_session(session_request()).provider_ref

    with pytest.raises(GatewayError) as raised:
        gateway.refund(refund_request(ref, 100, "pay_1-refund-1"))

    assert raised.value.retryable is False


# Webhooks as the sandbox signs and delivers them


def test_a_payment_delivers_a_capture_of_the_session_and_of_its_intent(
    sandbox: Sandbox, inbox: Inbox, gateway: StripeGateway
) -> None:
    ref = gateway.create_session(session_request()).provider_ref

    sandbox.complete_payment("stripe", ref)
    events = delivered(sandbox, inbox, gateway)

    assert [event.type for event in events] == [
        "checkout.session.completed",
        "payment_intent.succeeded",
    ]
    completed, succeeded = events
    assert completed.provider_ref == ref
    assert succeeded.provider_ref is None
    for event in events:
        assert event.payment_id == "pay_1"
        assert event.payment_event is not None
        assert event.payment_event.kind is PaymentEventKind.CAPTURED
        assert event.payment_event.amount == 59000
        assert event.payment_event.currency == INR
    assert len({event.event_id for event in events}) == 2


def test_a_declined_attempt_delivers_a_failure_with_stripes_code(
    sandbox: Sandbox, inbox: Inbox, gateway: StripeGateway
) -> None:
    ref = gateway.create_session(session_request()).provider_ref

    sandbox.fail_payment("stripe", ref, code="expired_card")
    [event] = delivered(sandbox, inbox, gateway)

    assert event.type == "payment_intent.payment_failed"
    assert event.payment_id == "pay_1"
    assert event.payment_event is not None
    assert event.payment_event.kind is PaymentEventKind.FAILED
    assert event.payment_event.failure_code == "expired_card"


def test_a_delayed_payment_that_succeeds_is_captured_only_when_it_settles(
    sandbox: Sandbox, inbox: Inbox, gateway: StripeGateway
) -> None:
    ref = gateway.create_session(session_request()).provider_ref

    sandbox.emit_async_stripe(ref, True)
    events = delivered(sandbox, inbox, gateway)

    assert [(event.type, event.payment_event is None) for event in events] == [
        ("checkout.session.completed", True),
        ("checkout.session.async_payment_succeeded", False),
        ("payment_intent.succeeded", False),
    ]
    settled = events[1]
    assert settled.provider_ref == ref
    assert settled.payment_event is not None
    assert settled.payment_event.kind is PaymentEventKind.CAPTURED
    assert gateway.fetch_status(ref).state is ProviderPaymentState.CAPTURED


def test_a_delayed_payment_that_fails_delivers_failures(
    sandbox: Sandbox, inbox: Inbox, gateway: StripeGateway
) -> None:
    ref = gateway.create_session(session_request()).provider_ref

    sandbox.emit_async_stripe(ref, False)
    events = delivered(sandbox, inbox, gateway)

    kinds = [(event.type, event.payment_event and event.payment_event.kind) for event in events]
    assert kinds == [
        ("checkout.session.completed", None),
        ("checkout.session.async_payment_failed", PaymentEventKind.FAILED),
        ("payment_intent.payment_failed", PaymentEventKind.FAILED),
    ]
    assert gateway.fetch_status(ref).state is ProviderPaymentState.FAILED


def test_each_refund_delivers_its_own_amount_not_the_sum_refunded(
    sandbox: Sandbox, inbox: Inbox, gateway: StripeGateway
) -> None:
    ref = gateway.create_session(session_request()).provider_ref
    sandbox.complete_payment("stripe", ref)
    sandbox.wait_for_deliveries(5.0)
    inbox.received.clear()

    first = gateway.refund(refund_request(ref, 20000, "pay_1-refund-1"))
    second = gateway.refund(refund_request(ref, 39000, "pay_1-refund-2"))
    events = delivered(sandbox, inbox, gateway)

    assert [event.type for event in events] == ["charge.refunded", "charge.refunded"]
    refunds = [
        (event.payment_event.kind, event.payment_event.refund_id, event.payment_event.amount)
        for event in events
        if event.payment_event is not None
    ]
    assert refunds == [
        (PaymentEventKind.REFUNDED, first.refund_id, 20000),
        (PaymentEventKind.REFUNDED, second.refund_id, 39000),
    ]
    assert all(event.payment_id == "pay_1" for event in events)


def test_a_delivery_is_refused_by_a_gateway_holding_another_secret(
    sandbox: Sandbox, inbox: Inbox, gateway: StripeGateway
) -> None:
    ref = gateway.create_session(session_request()).provider_ref
    sandbox.complete_payment("stripe", ref)
    sandbox.wait_for_deliveries(5.0)
    stranger = StripeGateway(
        API_KEY,
        "whsec_another_endpoint",
        success_url="https://shop.example/paid",
        cancel_url="https://shop.example/cart",
        base_url=sandbox.base_url,
    )

    for headers, body in inbox.received:
        with pytest.raises(WebhookSignatureInvalid):
            stranger.parse_webhook(headers, body)


# Faults


@pytest.mark.parametrize("json_body", [True, False])
def test_a_5xx_is_a_retryable_gateway_error_and_the_retry_succeeds(
    sandbox: Sandbox, gateway: StripeGateway, *, json_body: bool
) -> None:
    sandbox.faults.fail_next_api_calls(1, status=503, provider="stripe", json_body=json_body)

    with pytest.raises(GatewayError) as raised:
        gateway.create_session(session_request())
    session = gateway.create_session(session_request())

    assert raised.value.retryable is True
    assert session.provider_ref.startswith("cs_test_")


def test_a_slow_provider_is_a_retryable_gateway_error_within_the_timeout(
    sandbox: Sandbox,
) -> None:
    gateway = gateway_for(sandbox, timeout=0.3)
    sandbox.faults.slow_api(1.0)

    started = time.monotonic()
    with pytest.raises(GatewayError) as raised:
        gateway.create_session(session_request())
    elapsed = time.monotonic() - started
    sandbox.faults.slow_api(0)

    assert raised.value.retryable is True
    assert elapsed < 0.9


def test_a_dropped_connection_is_a_retryable_gateway_error(
    sandbox: Sandbox, gateway: StripeGateway
) -> None:
    sandbox.faults.drop_connection_next(1)

    with pytest.raises(GatewayError) as raised:
        gateway.fetch_status("cs_test_anything")

    assert raised.value.retryable is True


def test_a_wrong_api_key_is_refused_for_good(sandbox: Sandbox) -> None:
    gateway = gateway_for(sandbox, api_key="sk_test_wrong")

    with pytest.raises(GatewayError) as raised:
        gateway.create_session(session_request())

    assert raised.value.retryable is False
    assert "AuthenticationError" in str(raised.value)
    assert "sk_test_wrong" not in str(raised.value)
