"""The Razorpay gateway against the gateway sandbox: SDK, API and webhooks end to end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from attrs import define, field
from razorpay import errors as razorpay_errors

from checkout_adapters.razorpay import RazorpayGateway
from checkout_adapters.sandbox import Sandbox
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

KEY_ID = "rzp_test_conformance"
KEY_SECRET = "conformance_key_secret"
WEBHOOK_SECRET = "conformance_webhook_secret"
INR = Currency.of("INR")
AMOUNT = 59000


@define
class Receiver:
    """The host's webhook endpoint: verifies and reads each delivery with the gateway."""

    gateway: RazorpayGateway | None = None
    events: list[WebhookEvent] = field(factory=list)
    refused: list[str] = field(factory=list)
    _lock: threading.Lock = field(factory=threading.Lock)

    def __call__(self, provider: str, headers: dict[str, str], body: bytes) -> int:
        assert self.gateway is not None
        assert provider == "razorpay"
        try:
            event = self.gateway.parse_webhook(headers, body)
        except WebhookSignatureInvalid as exc:
            with self._lock:
                self.refused.append(str(exc))
            return 400
        with self._lock:
            self.events.append(event)
        return 200

    def of_type(self, event_type: str) -> list[WebhookEvent]:
        with self._lock:
            return [event for event in self.events if event.type == event_type]


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def sandbox(receiver: Receiver) -> Iterator[Sandbox]:
    with Sandbox(
        razorpay_key_id=KEY_ID,
        razorpay_key_secret=KEY_SECRET,
        razorpay_webhook_secret=WEBHOOK_SECRET,
        webhook_target=receiver,
    ) as running:
        yield running


@pytest.fixture
def gateway(sandbox: Sandbox, receiver: Receiver) -> Iterator[RazorpayGateway]:
    gw = RazorpayGateway(KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=sandbox.base_url)
    receiver.gateway = gw
    yield gw
    gw.close()


def session_request(
    payment_id: str = "pay_checkout_1", amount: int = AMOUNT
) -> PaymentSessionRequest:
    return PaymentSessionRequest(
        payment_id=payment_id,
        order_token="0f9c2a8e-3b1d-4c5e-8f70-1a2b3c4d5e6f",
        amount=amount,
        currency=INR,
        lines=(SessionLine("Data science internship, 1 month", amount),),
        user_id="user_1",
        attempt=1,
        idempotency_key=f"{payment_id}-session",
    )


def refund_request(order_id: str, amount: int, key: str) -> RefundRequest:
    return RefundRequest(
        payment_id="pay_checkout_1",
        provider_ref=order_id,
        amount=amount,
        currency=INR,
        idempotency_key=key,
    )


def test_a_session_is_an_order_payable_on_the_sandboxs_page(
    sandbox: Sandbox, gateway: RazorpayGateway
) -> None:
    session = gateway.create_session(session_request())

    assert session.provider == "razorpay"
    assert session.provider_ref.startswith("order_")
    assert session.checkout_url == sandbox.checkout_url("razorpay", session.provider_ref)
    status = gateway.fetch_status(session.provider_ref)
    assert status.state is ProviderPaymentState.PENDING


def test_a_completed_payment_is_captured_and_its_webhooks_read_as_such(
    sandbox: Sandbox, gateway: RazorpayGateway, receiver: Receiver
) -> None:
    order_id = gateway.create_session(session_request()).provider_ref

    sandbox.complete_payment("razorpay", order_id)
    sandbox.wait_for_deliveries(5.0)

    status = gateway.fetch_status(order_id)
    assert status.state is ProviderPaymentState.CAPTURED
    assert status.amount_captured == AMOUNT
    assert status.provider_payment_id is not None
    assert status.provider_payment_id.startswith("pay_")
    assert [event.type for event in receiver.events] == [
        "payment.authorized",
        "payment.captured",
        "order.paid",
    ]
    kinds = [event.payment_event.kind for event in receiver.events if event.payment_event]
    assert kinds == [
        PaymentEventKind.AUTHORIZED,
        PaymentEventKind.CAPTURED,
        PaymentEventKind.CAPTURED,
    ]
    for event in receiver.events:
        assert event.provider_ref == order_id
        assert event.payment_id == "pay_checkout_1"
    [captured] = receiver.of_type("payment.captured")
    assert captured.payment_event is not None
    assert captured.payment_event.amount == AMOUNT
    assert captured.payment_event.currency == INR
    assert len({event.event_id for event in receiver.events}) == 3
    assert receiver.refused == []


def test_an_authorized_payment_not_yet_captured_reads_as_authorized(
    sandbox: Sandbox, gateway: RazorpayGateway
) -> None:
    order_id = gateway.create_session(session_request()).provider_ref

    sandbox.complete_payment("razorpay", order_id, capture=False)

    status = gateway.fetch_status(order_id)
    assert status.state is ProviderPaymentState.AUTHORIZED
    assert status.provider_payment_id is not None


def test_a_failed_attempt_reads_as_failed_until_a_later_one_succeeds(
    sandbox: Sandbox, gateway: RazorpayGateway, receiver: Receiver
) -> None:
    order_id = gateway.create_session(session_request()).provider_ref

    sandbox.fail_payment("razorpay", order_id, code="BAD_REQUEST_ERROR", reason="card_declined")
    sandbox.wait_for_deliveries(5.0)

    failed = gateway.fetch_status(order_id)
    assert failed.state is ProviderPaymentState.FAILED
    assert failed.failure_code == "BAD_REQUEST_ERROR"
    assert failed.failure_reason
    [event] = receiver.of_type("payment.failed")
    assert event.payment_event is not None
    assert event.payment_event.kind is PaymentEventKind.FAILED
    assert event.payment_event.failure_code == "BAD_REQUEST_ERROR"
    assert event.provider_ref == order_id

    sandbox.complete_payment("razorpay", order_id)

    assert gateway.fetch_status(order_id).state is ProviderPaymentState.CAPTURED


def test_the_checkout_callback_the_sandbox_hands_the_browser_verifies(
    sandbox: Sandbox, gateway: RazorpayGateway
) -> None:
    order_id = gateway.create_session(session_request()).provider_ref

    answer = sandbox.complete_payment("razorpay", order_id)

    payment_id = answer["razorpay_payment_id"]
    signature = answer["razorpay_signature"]
    assert gateway.verify_checkout_callback(order_id, payment_id, signature) is True
    other_order = gateway.create_session(session_request("pay_checkout_2")).provider_ref
    assert gateway.verify_checkout_callback(other_order, payment_id, signature) is False


def test_a_payment_is_refunded_in_part_then_in_full(
    sandbox: Sandbox, gateway: RazorpayGateway, receiver: Receiver
) -> None:
    order_id = gateway.create_session(session_request()).provider_ref
    sandbox.complete_payment("razorpay", order_id)

    first = gateway.refund(refund_request(order_id, 20000, "pay_checkout_1-refund-1"))
    rest = gateway.refund(refund_request(order_id, AMOUNT - 20000, "pay_checkout_1-refund-2"))
    sandbox.wait_for_deliveries(5.0)

    assert first.amount == 20000
    assert rest.amount == AMOUNT - 20000
    assert first.refund_id != rest.refund_id
    assert first.pending is False
    refunds = receiver.of_type("refund.processed")
    assert [
        (event.payment_event.refund_id, event.payment_event.amount)
        for event in refunds
        if event.payment_event is not None
    ] == [(first.refund_id, 20000), (rest.refund_id, AMOUNT - 20000)]
    assert all(event.provider_ref == order_id for event in refunds)
    assert all(event.payment_id == "pay_checkout_1" for event in refunds)
    # A refunded payment was captured first: the status does not go back.
    assert gateway.fetch_status(order_id).state is ProviderPaymentState.CAPTURED


def test_a_refund_retried_with_its_key_refunds_once(
    sandbox: Sandbox, gateway: RazorpayGateway
) -> None:
    order_id = gateway.create_session(session_request()).provider_ref
    sandbox.complete_payment("razorpay", order_id)

    first = gateway.refund(refund_request(order_id, 20000, "pay_checkout_1-refund-1"))
    retried = gateway.refund(refund_request(order_id, 20000, "pay_checkout_1-refund-1"))
    other = gateway.refund(refund_request(order_id, 20000, "pay_checkout_1-refund-2"))

    assert retried == first
    assert other.refund_id != first.refund_id


def test_refunding_more_than_was_paid_is_a_final_error(
    sandbox: Sandbox, gateway: RazorpayGateway
) -> None:
    order_id = gateway.create_session(session_request()).provider_ref
    sandbox.complete_payment("razorpay", order_id)

    with pytest.raises(GatewayError) as raised:
        gateway.refund(refund_request(order_id, AMOUNT + 1, "pay_checkout_1-refund-1"))

    assert raised.value.retryable is False
    assert isinstance(raised.value.__cause__, razorpay_errors.BadRequestError)


def test_refunding_an_unpaid_order_is_a_final_error(gateway: RazorpayGateway) -> None:
    order_id = gateway.create_session(session_request()).provider_ref

    with pytest.raises(GatewayError, match="no captured payment") as raised:
        gateway.refund(refund_request(order_id, AMOUNT, "pay_checkout_1-refund-1"))

    assert raised.value.retryable is False


@pytest.mark.parametrize(
    ("status", "json_body", "cause"),
    [
        (503, True, razorpay_errors.ServerError),
        (500, True, razorpay_errors.ServerError),
        (502, True, razorpay_errors.GatewayError),
        (503, False, ValueError),
    ],
    ids=["503", "500", "502-gateway-error", "503-html"],
)
def test_a_5xx_from_the_sandbox_is_retryable_and_the_retry_succeeds(
    sandbox: Sandbox,
    gateway: RazorpayGateway,
    status: int,
    cause: type[Exception],
    *,
    json_body: bool,
) -> None:
    sandbox.faults.fail_next_api_calls(1, status=status, json_body=json_body)

    with pytest.raises(GatewayError) as raised:
        gateway.create_session(session_request())

    assert raised.value.retryable is True
    assert isinstance(raised.value.__cause__, cause)
    assert gateway.create_session(session_request()).provider_ref.startswith("order_")


def test_a_sandbox_slower_than_the_timeout_is_a_retryable_error_and_prints_nothing(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = RazorpayGateway(
        KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=sandbox.base_url, timeout=0.2
    )
    sandbox.faults.slow_api(1.0)
    started = time.monotonic()
    try:
        with pytest.raises(GatewayError) as raised:
            gateway.create_session(session_request())
    finally:
        sandbox.faults.slow_api(0)
        gateway.close()

    assert time.monotonic() - started < 1.0
    assert raised.value.retryable is True
    assert capsys.readouterr().out == ""


def test_a_dropped_connection_is_a_retryable_error_and_prints_nothing(
    sandbox: Sandbox, gateway: RazorpayGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox.faults.drop_connection_next()

    with pytest.raises(GatewayError) as raised:
        gateway.create_session(session_request())

    assert raised.value.retryable is True
    assert capsys.readouterr().out == ""


def test_wrong_credentials_are_a_final_error(sandbox: Sandbox) -> None:
    gateway = RazorpayGateway(KEY_ID, "not_the_secret", WEBHOOK_SECRET, base_url=sandbox.base_url)
    try:
        with pytest.raises(GatewayError) as raised:
            gateway.create_session(session_request())
    finally:
        gateway.close()

    assert raised.value.retryable is False


def test_a_duplicated_delivery_carries_the_same_event_id(
    sandbox: Sandbox, gateway: RazorpayGateway, receiver: Receiver
) -> None:
    order_id = gateway.create_session(session_request()).provider_ref
    sandbox.faults.duplicate_webhooks(True)

    sandbox.complete_payment("razorpay", order_id)
    sandbox.wait_for_deliveries(5.0)

    ids = [event.event_id for event in receiver.events]
    assert len(ids) == 6
    assert len(set(ids)) == 3


def test_a_gateway_with_another_webhook_secret_refuses_the_sandboxs_deliveries(
    sandbox: Sandbox, receiver: Receiver
) -> None:
    sandbox.webhook_retry = type(sandbox.webhook_retry)(max_attempts=1)
    receiver.gateway = RazorpayGateway(
        KEY_ID, KEY_SECRET, "another_webhook_secret", base_url=sandbox.base_url
    )
    try:
        order_id = receiver.gateway.create_session(session_request()).provider_ref
        sandbox.complete_payment("razorpay", order_id)
        sandbox.wait_for_deliveries(5.0)
    finally:
        receiver.gateway.close()

    assert receiver.events == []
    assert len(receiver.refused) == 3
    assert [delivery.status for delivery in sandbox.deliveries] == [400, 400, 400]
