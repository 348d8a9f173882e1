"""The Razorpay gateway through the real SDK, against a tiny local HTTP server.

The server answers what each test tells it to (JSON errors, HTML from a
proxy, slowness), so every path through the SDK and ``requests`` is driven
for real: nothing is patched.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import razorpay
import requests
from attrs import define, field
from razorpay import errors as razorpay_errors

from checkout_adapters.razorpay import RazorpayGateway
from checkout_adapters.razorpay.api import gateway_error
from checkout_core.domain.gateway import (
    GatewayError,
    PaymentSession,
    PaymentSessionRequest,
    ProviderPaymentState,
    ProviderStatus,
    RefundReceipt,
    RefundRequest,
    SessionLine,
)
from checkout_core.domain.money import Currency

KEY_ID = "rzp_test_key"
KEY_SECRET = "rzp_test_secret"
WEBHOOK_SECRET = "whsec_test"
ORDER_TOKEN = "0f9c2a8e-3b1d-4c5e-8f70-1a2b3c4d5e6f"
ORDER_ID = "order_Xyz789"
INR = Currency.of("INR")


@define
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: object


@define
class Answer:
    status: int = 200
    body: object = field(factory=dict)
    delay: float = 0.0


class StubRazorpay:
    """Answers Razorpay's paths as told; records what it was asked."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], Answer] = {}
        self.requests: list[Recorded] = []
        self.released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        # A short poll keeps shutdown() from waiting half a second per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(
        self, method: str, path: str, status: int = 200, body: object = None, delay: float = 0.0
    ) -> None:
        self.answers[method, path] = Answer(status, {} if body is None else body, delay)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()


def _handler(stub: StubRazorpay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            stub.requests.append(
                Recorded(
                    self.command,
                    path,
                    {name.lower(): value for name, value in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
            )
            answer = stub.answers.get(
                (self.command, path),
                Answer(
                    400,
                    {"error": {"code": "BAD_REQUEST_ERROR", "description": "no such path"}},
                ),
            )
            if answer.delay:
                stub.released.wait(answer.delay)
            payload = (
                answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
            )
            content_type = "text/html" if isinstance(answer.body, bytes) else "application/json"
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up waiting: that is what a slow test is about

    return Handler


@pytest.fixture
def stub() -> Iterator[StubRazorpay]:
    server = StubRazorpay()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def gateway(stub: StubRazorpay) -> Iterator[RazorpayGateway]:
    gw = RazorpayGateway(KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=stub.base_url, timeout=2.0)
    yield gw
    gw.close()


def session_request(**overrides: object) -> PaymentSessionRequest:
    values: dict[str, object] = {
        "payment_id": "pay_checkout_1",
        "order_token": ORDER_TOKEN,
        "amount": 59000,
        "currency": INR,
        "lines": (SessionLine("Data science internship, 1 month", 59000),),
        "user_id": "user_1",
        "attempt": 1,
        "idempotency_key": "pay_checkout_1-session",
    }
    values.update(overrides)
    return PaymentSessionRequest(**values)  # type: ignore[arg-type]


def refund_request(amount: int = 59000, key: str = "pay_checkout_1-refund-1") -> RefundRequest:
    return RefundRequest(
        payment_id="pay_checkout_1",
        provider_ref=ORDER_ID,
        amount=amount,
        currency=INR,
        idempotency_key=key,
    )


def order(**overrides: object) -> dict[str, object]:
    entity: dict[str, object] = {
        "id": ORDER_ID,
        "entity": "order",
        "amount": 59000,
        "amount_paid": 0,
        "amount_due": 59000,
        "currency": "INR",
        "receipt": ORDER_TOKEN,
        "status": "created",
        "attempts": 0,
        "notes": {"order_token": ORDER_TOKEN, "payment_id": "pay_checkout_1", "attempt": "1"},
        "created_at": 1_735_000_000,
    }
    entity.update(overrides)
    return entity


def payment(
    payment_id: str, status: str, created_at: int, **overrides: object
) -> dict[str, object]:
    entity: dict[str, object] = {
        "id": payment_id,
        "entity": "payment",
        "amount": 59000,
        "currency": "INR",
        "status": status,
        "order_id": ORDER_ID,
        "method": "card",
        "captured": status in {"captured", "refunded"},
        "notes": [],
        "error_code": "BAD_REQUEST_ERROR" if status == "failed" else None,
        "error_description": "Card declined" if status == "failed" else None,
        "created_at": created_at,
    }
    entity.update(overrides)
    return entity


def collection(*items: dict[str, object]) -> dict[str, object]:
    return {"entity": "collection", "count": len(items), "items": list(items)}


def refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# Sessions ---------------------------------------------------------------------------------


def test_a_session_is_a_razorpay_order_for_the_amount_in_paise(
    stub: StubRazorpay, gateway: RazorpayGateway
) -> None:
    stub.answer("POST", "/v1/orders", body=order())

    session = gateway.create_session(session_request())

    assert session == PaymentSession(
        provider="razorpay",
        provider_ref=ORDER_ID,
        checkout_url=f"{stub.base_url}/pay/razorpay/{ORDER_ID}",
    )
    [sent] = stub.requests
    assert sent.body == {
        "amount": 59000,
        "currency": "INR",
        "receipt": ORDER_TOKEN,
        "notes": {"order_token": ORDER_TOKEN, "payment_id": "pay_checkout_1", "attempt": "1"},
        "partial_payment": False,
    }
    basic = base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
    assert sent.headers["authorization"] == f"Basic {basic}"


def test_a_receipt_is_cut_to_the_forty_characters_razorpay_allows(
    stub: StubRazorpay, gateway: RazorpayGateway
) -> None:
    stub.answer("POST", "/v1/orders", body=order())
    long_token = "t" * 50

    gateway.create_session(session_request(order_token=long_token))

    [sent] = stub.requests
    assert isinstance(sent.body, dict)
    assert sent.body["receipt"] == "t" * 40
    assert sent.body["notes"]["order_token"] == long_token


def test_the_checkout_url_follows_the_hosts_template(stub: StubRazorpay) -> None:
    stub.answer("POST", "/v1/orders", body=order())
    gateway = RazorpayGateway(
        KEY_ID,
        KEY_SECRET,
        WEBHOOK_SECRET,
        base_url=stub.base_url,
        checkout_url_template="https://shop.example/pay?order={order_id}",
    )
    try:
        session = gateway.create_session(session_request())
    finally:
        gateway.close()

    assert session.checkout_url == f"https://shop.example/pay?order={ORDER_ID}"


def test_a_checkout_url_template_with_unknown_fields_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="template"):
        RazorpayGateway(KEY_ID, KEY_SECRET, WEBHOOK_SECRET, checkout_url_template="{order}")


@pytest.mark.parametrize("missing", ["key_id", "key_secret", "webhook_secret"])
def test_every_credential_is_required(missing: str) -> None:
    credentials = {"key_id": KEY_ID, "key_secret": KEY_SECRET, "webhook_secret": WEBHOOK_SECRET}
    credentials[missing] = ""

    with pytest.raises(ValueError, match=missing):
        RazorpayGateway(
            credentials["key_id"], credentials["key_secret"], credentials["webhook_secret"]
        )


def test_an_order_opened_for_another_amount_is_refused(
    stub: StubRazorpay, gateway: RazorpayGateway
) -> None:
    stub.answer("POST", "/v1/orders", body=order(amount=100))

    with pytest.raises(GatewayError, match="100") as raised:
        gateway.create_session(session_request())

    assert raised.value.retryable is False


def test_the_gateway_names_itself_and_keeps_its_secrets(gateway: RazorpayGateway) -> None:
    assert gateway.provider == "razorpay"
    assert gateway.available() is True
    assert KEY_SECRET not in repr(gateway)
    assert WEBHOOK_SECRET not in repr(gateway)


# Status -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_status", "payments", "expected"),
    [
        pytest.param(
            "created",
            [],
            ProviderStatus(ORDER_ID, ProviderPaymentState.PENDING),
            id="no-attempt-yet",
        ),
        pytest.param(
            "paid",
            [payment("pay_B", "captured", 20), payment("pay_A", "failed", 10)],
            ProviderStatus(
                ORDER_ID,
                ProviderPaymentState.CAPTURED,
                amount_captured=59000,
                provider_payment_id="pay_B",
            ),
            id="captured-after-a-failure",
        ),
        pytest.param(
            "paid",
            [payment("pay_A", "refunded", 10)],
            ProviderStatus(
                ORDER_ID,
                ProviderPaymentState.CAPTURED,
                amount_captured=59000,
                provider_payment_id="pay_A",
            ),
            id="captured-then-refunded",
        ),
        pytest.param(
            "attempted",
            [payment("pay_A", "authorized", 10)],
            ProviderStatus(ORDER_ID, ProviderPaymentState.AUTHORIZED, provider_payment_id="pay_A"),
            id="authorized-not-captured",
        ),
        pytest.param(
            "attempted",
            [payment("pay_A", "failed", 10), payment("pay_B", "failed", 20)],
            ProviderStatus(
                ORDER_ID,
                ProviderPaymentState.FAILED,
                provider_payment_id="pay_B",
                failure_code="BAD_REQUEST_ERROR",
                failure_reason="Card declined",
            ),
            id="latest-attempt-failed",
        ),
        pytest.param(
            "attempted",
            [payment("pay_B", "created", 20), payment("pay_A", "failed", 10)],
            ProviderStatus(ORDER_ID, ProviderPaymentState.PENDING),
            id="retrying-after-a-failure",
        ),
        pytest.param(
            "attempted",
            [payment("pay_B", "created", 10), payment("pay_A", "failed", 10)],
            ProviderStatus(ORDER_ID, ProviderPaymentState.PENDING),
            id="attempts-within-one-second-keep-razorpays-newest-first-order",
        ),
        pytest.param(
            "paid",
            [],
            ProviderStatus(ORDER_ID, ProviderPaymentState.CAPTURED, amount_captured=59000),
            id="paid-order-without-listed-payment",
        ),
    ],
)
def test_the_status_is_read_from_the_order_and_its_payments(
    stub: StubRazorpay,
    gateway: RazorpayGateway,
    order_status: str,
    payments: list[dict[str, object]],
    expected: ProviderStatus,
) -> None:
    amount_paid = 59000 if order_status == "paid" else 0
    stub.answer(
        "GET", f"/v1/orders/{ORDER_ID}", body=order(status=order_status, amount_paid=amount_paid)
    )
    stub.answer("GET", f"/v1/orders/{ORDER_ID}/payments", body=collection(*payments))

    assert gateway.fetch_status(ORDER_ID) == expected


def test_an_unknown_order_is_a_final_error(gateway: RazorpayGateway) -> None:
    with pytest.raises(GatewayError) as raised:
        gateway.fetch_status("order_missing")

    assert raised.value.retryable is False
    assert isinstance(raised.value.__cause__, razorpay_errors.BadRequestError)


def test_a_malformed_answer_is_a_final_error(stub: StubRazorpay, gateway: RazorpayGateway) -> None:
    stub.answer("GET", f"/v1/orders/{ORDER_ID}", body=order(amount="590.00"))

    with pytest.raises(GatewayError, match="malformed") as raised:
        gateway.fetch_status(ORDER_ID)

    assert raised.value.retryable is False


# Refunds ----------------------------------------------------------------------------------


def refundable(stub: StubRazorpay, *, status: str = "processed", amount: int = 59000) -> None:
    stub.answer(
        "GET",
        f"/v1/orders/{ORDER_ID}/payments",
        body=collection(payment("pay_B", "captured", 20), payment("pay_A", "failed", 10)),
    )
    stub.answer(
        "POST",
        "/v1/payments/pay_B/refund",
        body={
            "id": "rfnd_1",
            "entity": "refund",
            "amount": amount,
            "currency": "INR",
            "payment_id": "pay_B",
            "notes": {"payment_id": "pay_checkout_1"},
            "status": status,
            "speed_requested": "normal",
            "created_at": 1_735_000_100,
        },
    )


@pytest.mark.parametrize("amount", [59000, 20000], ids=["full", "partial"])
def test_a_refund_goes_to_the_captured_payment_of_the_order(
    stub: StubRazorpay, gateway: RazorpayGateway, amount: int
) -> None:
    refundable(stub, amount=amount)

    receipt = gateway.refund(refund_request(amount))

    assert receipt == RefundReceipt(refund_id="rfnd_1", amount=amount, pending=False)
    sent = stub.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/v1/payments/pay_B/refund")
    assert sent.body == {
        "amount": amount,
        "speed": "normal",
        "notes": {"payment_id": "pay_checkout_1", "idempotency_key": "pay_checkout_1-refund-1"},
    }
    assert sent.headers["x-refund-idempotency"] == "pay_checkout_1-refund-1"


def test_an_idempotency_key_razorpay_would_refuse_is_sent_as_its_hash(
    stub: StubRazorpay, gateway: RazorpayGateway
) -> None:
    refundable(stub)

    gateway.refund(refund_request(key="refund:1"))

    header = stub.requests[-1].headers["x-refund-idempotency"]
    assert header == hashlib.sha256(b"refund:1").hexdigest()


def test_a_refund_razorpay_has_not_processed_yet_is_pending(
    stub: StubRazorpay, gateway: RazorpayGateway
) -> None:
    refundable(stub, status="pending")

    assert gateway.refund(refund_request()).pending is True


def test_a_refund_razorpay_failed_is_a_final_error(
    stub: StubRazorpay, gateway: RazorpayGateway
) -> None:
    refundable(stub, status="failed")

    with pytest.raises(GatewayError, match="failed refund") as raised:
        gateway.refund(refund_request())

    assert raised.value.retryable is False


def test_an_order_without_a_captured_payment_cannot_be_refunded(
    stub: StubRazorpay, gateway: RazorpayGateway
) -> None:
    stub.answer(
        "GET",
        f"/v1/orders/{ORDER_ID}/payments",
        body=collection(payment("pay_A", "authorized", 10)),
    )

    with pytest.raises(GatewayError, match="no captured payment") as raised:
        gateway.refund(refund_request())

    assert raised.value.retryable is False
    assert all(sent.method == "GET" for sent in stub.requests)


# The checkout callback --------------------------------------------------------------------


def callback_signature(order_id: str, payment_id: str, secret: str = KEY_SECRET) -> str:
    message = f"{order_id}|{payment_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_a_genuine_checkout_callback_verifies(gateway: RazorpayGateway) -> None:
    signature = callback_signature(ORDER_ID, "pay_A")

    assert gateway.verify_checkout_callback(ORDER_ID, "pay_A", signature) is True


def test_the_checkout_callback_agrees_with_the_sdk(gateway: RazorpayGateway) -> None:
    signature = callback_signature(ORDER_ID, "pay_A")
    client = razorpay.Client(auth=(KEY_ID, KEY_SECRET))

    assert client.utility.verify_payment_signature(
        {
            "razorpay_order_id": ORDER_ID,
            "razorpay_payment_id": "pay_A",
            "razorpay_signature": signature,
        }
    )
    assert gateway.verify_checkout_callback(ORDER_ID, "pay_A", signature)


@pytest.mark.parametrize(
    ("order_id", "payment_id", "signature"),
    [
        pytest.param(ORDER_ID, "pay_B", callback_signature(ORDER_ID, "pay_A"), id="other-payment"),
        pytest.param(
            ORDER_ID, "pay_A", callback_signature("order_cheap", "pay_A"), id="other-order"
        ),
        pytest.param(
            ORDER_ID,
            "pay_A",
            callback_signature(ORDER_ID, "pay_A", WEBHOOK_SECRET),
            id="webhook-secret",
        ),
        pytest.param(ORDER_ID, "pay_A", "", id="empty"),
        pytest.param(ORDER_ID, "pay_A", "₹" * 64, id="not-ascii"),
    ],
)
def test_a_forged_checkout_callback_does_not_verify(
    gateway: RazorpayGateway, order_id: str, payment_id: str, signature: str
) -> None:
    assert gateway.verify_checkout_callback(order_id, payment_id, signature) is False


# Errors at the edge -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "retryable", "cause"),
    [
        pytest.param(
            400,
            {"error": {"code": "BAD_REQUEST_ERROR", "description": "The amount is invalid"}},
            False,
            razorpay_errors.BadRequestError,
            id="400-bad-request",
        ),
        pytest.param(
            401,
            {"error": {"code": "BAD_REQUEST_ERROR", "description": "Authentication failed"}},
            False,
            razorpay_errors.BadRequestError,
            id="401-authentication",
        ),
        pytest.param(
            500,
            {"error": {"code": "SERVER_ERROR", "description": "Something went wrong"}},
            True,
            razorpay_errors.ServerError,
            id="500-server-error",
        ),
        pytest.param(
            502,
            {"error": {"code": "GATEWAY_ERROR", "description": "The bank is down"}},
            True,
            razorpay_errors.GatewayError,
            id="502-gateway-error",
        ),
        pytest.param(
            503,
            b"<html><body>503 Service Unavailable</body></html>",
            True,
            requests.JSONDecodeError,
            id="503-not-json",
        ),
        pytest.param(
            404,
            b"<html><body>Not Found</body></html>",
            False,
            requests.JSONDecodeError,
            id="404-not-json",
        ),
        pytest.param(
            429,
            {"error": {"code": "BAD_REQUEST_ERROR", "description": "Too many requests"}},
            True,
            None,
            id="429-rate-limited",
        ),
        pytest.param(
            409,
            {"error": {"code": "BAD_REQUEST_ERROR", "description": "Request in progress"}},
            True,
            None,
            id="409-in-progress",
        ),
    ],
)
def test_an_error_answer_becomes_a_gateway_error_marked_retryable_or_not(
    stub: StubRazorpay,
    gateway: RazorpayGateway,
    status: int,
    body: object,
    *,
    retryable: bool,
    cause: type[Exception] | None,
) -> None:
    stub.answer("POST", "/v1/orders", status=status, body=body)

    with pytest.raises(GatewayError) as raised:
        gateway.create_session(session_request())

    assert raised.value.retryable is retryable
    assert raised.value.provider == "razorpay"
    if cause is not None:
        assert isinstance(raised.value.__cause__, cause)


def test_a_refused_connection_is_retryable_and_prints_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    gateway = RazorpayGateway(
        KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=f"http://127.0.0.1:{refused_port()}"
    )
    try:
        with pytest.raises(GatewayError) as raised:
            gateway.fetch_status(ORDER_ID)
    finally:
        gateway.close()

    assert raised.value.retryable is True
    assert isinstance(raised.value.__cause__, requests.ConnectionError)
    assert capsys.readouterr().out == ""


def test_the_sdk_left_alone_would_print_on_a_refused_connection(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The trap the gateway avoids: proof that the test above would notice a print.
    client = razorpay.Client(
        auth=(KEY_ID, KEY_SECRET), base_url=f"http://127.0.0.1:{refused_port()}"
    )
    with pytest.raises(requests.ConnectionError):
        client.order.fetch(ORDER_ID, timeout=1)
    client.session.close()

    assert "Connection failed." in capsys.readouterr().out


def test_a_call_slower_than_the_timeout_is_retryable_and_prints_nothing(
    stub: StubRazorpay, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.answer("GET", f"/v1/orders/{ORDER_ID}", body=order(), delay=5.0)
    gateway = RazorpayGateway(
        KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=stub.base_url, timeout=0.2
    )
    started = time.monotonic()
    try:
        with pytest.raises(GatewayError) as raised:
            gateway.fetch_status(ORDER_ID)
    finally:
        gateway.close()

    assert time.monotonic() - started < 2.0
    assert raised.value.retryable is True
    assert isinstance(raised.value.__cause__, requests.Timeout)
    assert capsys.readouterr().out == ""


def test_an_answer_that_is_not_json_prints_nothing(
    stub: StubRazorpay, gateway: RazorpayGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    stub.answer("POST", "/v1/orders", status=502, body=b"<html>Bad Gateway</html>")

    with pytest.raises(GatewayError):
        gateway.create_session(session_request())

    assert capsys.readouterr().out == ""


def test_a_hosts_own_session_is_used_and_left_open(stub: StubRazorpay) -> None:
    stub.answer("GET", f"/v1/orders/{ORDER_ID}", body=order())
    stub.answer("GET", f"/v1/orders/{ORDER_ID}/payments", body=collection())

    class HostSession(requests.Session):
        closed = False

        def close(self) -> None:
            self.closed = True
            super().close()

    with HostSession() as session:
        session.headers["X-Host-Session"] = "yes"
        gateway = RazorpayGateway(
            KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=stub.base_url, session=session
        )
        gateway.fetch_status(ORDER_ID)
        gateway.close()

        assert [sent.headers.get("x-host-session") for sent in stub.requests] == ["yes", "yes"]
        assert session.closed is False


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (razorpay_errors.BadRequestError("bad"), False),
        (razorpay_errors.ServerError("down"), True),
        (razorpay_errors.GatewayError("bank down"), True),
        (requests.Timeout("slow"), True),
        (requests.ConnectTimeout("slow to connect"), True),
        (requests.ConnectionError("refused"), True),
        (requests.JSONDecodeError("Expecting value", "<html>", 0), True),
        (requests.TooManyRedirects("loop"), False),
        (KeyError("error"), False),
        (razorpay_errors.SignatureVerificationError("bad signature"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_every_sdk_and_requests_error_translates_to_a_gateway_error(
    error: Exception, *, retryable: bool
) -> None:
    translated = gateway_error(error, "fetch order order_1")

    assert translated.retryable is retryable
    assert translated.provider == "razorpay"
    assert "fetch order order_1" in str(translated)


def test_a_gateway_error_is_not_translated_twice() -> None:
    original = GatewayError("already ours", retryable=True, provider="razorpay")

    assert gateway_error(original, "anything") is original
