"""The Stripe gateway against a tiny local stand-in: what it sends, what it reads, how it fails."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import stripe

from checkout_adapters.stripe import PINNED_API_VERSION, STRIPE_PROVIDER, StripeGateway
from checkout_adapters.stripe.errors import translated
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
from checkout_core.domain.payment_events import PaymentEventKind

API_KEY = "sk_test_stand_in"
WEBHOOK_SECRET = "whsec_stand_in"
INR = Currency.of("INR")


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]


@dataclass
class Answer:
    status: int
    body: str
    delay: float = 0.0


@dataclass
class StandIn:
    """A local server answering the SDK's HTTP as the test tells it to."""

    base_url: str = ""
    routes: dict[tuple[str, str], list[Answer]] = field(default_factory=dict)
    received: list[Recorded] = field(default_factory=list)

    def answer(
        self, method: str, path: str, body: object, *, status: int = 200, delay: float = 0.0
    ) -> None:
        """Answer the next call of ``method path`` (the last answer repeats)."""
        text = body if isinstance(body, str) else json.dumps(body)
        self.routes.setdefault((method, path), []).append(Answer(status, text, delay))

    def next_answer(self, method: str, path: str) -> Answer:
        answers = self.routes.get((method, path))
        if not answers:
            return Answer(404, json.dumps(stripe_error("invalid_request_error", "no such route")))
        return answers.pop(0) if len(answers) > 1 else answers[0]


def stripe_error(kind: str, message: str, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code is not None:
        error["code"] = code
    return {"error": error}


def handler_for(stand_in: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode()) if length else {}
            stand_in.received.append(
                Recorded(
                    method,
                    url.path,
                    parse_qs(url.query),
                    {name.lower(): value for name, value in self.headers.items()},
                    form,
                )
            )
            answer = stand_in.next_answer(method, url.path)
            if answer.delay:
                time.sleep(answer.delay)
            payload = answer.body.encode()
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                # The client gave up waiting (the timeout test): nobody to answer.
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            """Keep the test output clean."""

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up is not a failure of the test."""


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    stand_in = StandIn()
    server = QuietServer(("127.0.0.1", 0), handler_for(stand_in))
    stand_in.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield stand_in
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def gateway_at(base_url: str, *, timeout: float = 5.0) -> StripeGateway:
    return StripeGateway(
        API_KEY,
        WEBHOOK_SECRET,
        success_url="https://shop.example/paid?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="https://shop.example/cart",
        base_url=base_url,
        timeout=timeout,
    )


@pytest.fixture
def gateway(stand_in: StandIn) -> StripeGateway:
    return gateway_at(stand_in.base_url)


def refused_address() -> str:
    # A port that was free a moment ago: nothing listens there now.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def session_request(
    *, lines: tuple[SessionLine, ...] | None = None, amount: int = 59000
) -> PaymentSessionRequest:
    return PaymentSessionRequest(
        payment_id="pay_1",
        order_token="ord_tok_1",
        amount=amount,
        currency=INR,
        lines=(
            (SessionLine("Data internship (3 months)", 50000), SessionLine("GST", 9000))
            if lines is None
            else lines
        ),
        user_id="user_1",
        attempt=2,
        idempotency_key="pay_1-session",
    )


def session_json(**fields: Any) -> dict[str, Any]:
    session: dict[str, Any] = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "url": "https://checkout.stripe.com/c/pay/cs_test_1",
        "status": "open",
        "payment_status": "unpaid",
        "payment_intent": None,
        "amount_total": 59000,
        "currency": "inr",
        "metadata": {"payment_id": "pay_1"},
    }
    session.update(fields)
    return session


def intent_json(**fields: Any) -> dict[str, Any]:
    intent: dict[str, Any] = {
        "id": "pi_1",
        "object": "payment_intent",
        "status": "requires_payment_method",
        "amount": 59000,
        "amount_received": 0,
        "currency": "inr",
        "last_payment_error": None,
        "metadata": {"payment_id": "pay_1"},
    }
    intent.update(fields)
    return intent


# Sessions


def test_a_session_is_created_in_payment_mode_with_a_line_item_per_line(
    stand_in: StandIn, gateway: StripeGateway
) -> None:
    stand_in.answer("POST", "/v1/checkout/sessions", session_json())

    session = gateway.create_session(session_request())

    assert session == PaymentSession(
        provider="stripe",
        provider_ref="cs_test_1",
        checkout_url="https://checkout.stripe.com/c/pay/cs_test_1",
    )
    [call] = stand_in.received
    form = call.form
    assert form["mode"] == ["payment"]
    assert form["line_items[0][price_data][currency]"] == ["inr"]
    assert form["line_items[0][price_data][unit_amount]"] == ["50000"]
    assert form["line_items[0][price_data][product_data][name]"] == ["Data internship (3 months)"]
    assert form["line_items[0][quantity]"] == ["1"]
    assert form["line_items[1][price_data][unit_amount]"] == ["9000"]
    assert form["line_items[1][price_data][product_data][name]"] == ["GST"]
    assert form["success_url"] == ["https://shop.example/paid?session_id={CHECKOUT_SESSION_ID}"]
    assert form["cancel_url"] == ["https://shop.example/cart"]
    assert form["client_reference_id"] == ["ord_tok_1"]
    for prefix in ("metadata", "payment_intent_data[metadata]"):
        assert form[f"{prefix}[order_token]"] == ["ord_tok_1"]
        assert form[f"{prefix}[payment_id]"] == ["pay_1"]
        assert form[f"{prefix}[attempt]"] == ["2"]


def test_every_call_carries_the_key_the_pinned_version_and_the_idempotency_key(
    stand_in: StandIn, gateway: StripeGateway
) -> None:
    stand_in.answer("POST", "/v1/checkout/sessions", session_json())

    gateway.create_session(session_request())
    gateway.create_session(session_request())

    first, second = stand_in.received
    assert first.headers["authorization"] == f"Bearer {API_KEY}"
    assert first.headers["stripe-version"] == PINNED_API_VERSION
    assert first.headers["idempotency-key"] == "pay_1-session"
    # A retried call sends the same key, so Stripe answers with the first session.
    assert second.headers["idempotency-key"] == "pay_1-session"


def test_lines_that_do_not_add_up_to_the_amount_become_one_line_of_the_whole_amount(
    stand_in: StandIn, gateway: StripeGateway
) -> None:
    stand_in.answer("POST", "/v1/checkout/sessions", session_json())

    gateway.create_session(session_request(lines=(SessionLine("Course", 100),), amount=59000))

    form = stand_in.received[0].form
    assert form["line_items[0][price_data][unit_amount]"] == ["59000"]
    assert form["line_items[0][price_data][product_data][name]"] == ["Order ord_tok_1"]
    assert "line_items[1][quantity]" not in form


def test_a_session_without_a_url_is_refused(stand_in: StandIn, gateway: StripeGateway) -> None:
    stand_in.answer("POST", "/v1/checkout/sessions", session_json(url=None))

    with pytest.raises(GatewayError) as raised:
        gateway.create_session(session_request())

    assert raised.value.retryable is False


# Status


@pytest.mark.parametrize(
    ("session", "intent", "expected"),
    [
        pytest.param(
            session_json(status="complete", payment_status="paid", payment_intent="pi_1"),
            intent_json(status="succeeded", amount_received=59000),
            ProviderStatus(
                "cs_test_1",
                ProviderPaymentState.CAPTURED,
                amount_captured=59000,
                provider_payment_id="pi_1",
            ),
            id="paid",
        ),
        pytest.param(
            session_json(status="complete", payment_status="unpaid", payment_intent="pi_1"),
            intent_json(status="succeeded", amount_received=59000),
            ProviderStatus(
                "cs_test_1",
                ProviderPaymentState.CAPTURED,
                amount_captured=59000,
                provider_payment_id="pi_1",
            ),
            id="intent-succeeded-before-the-session-knows",
        ),
        pytest.param(
            session_json(payment_intent="pi_1"),
            intent_json(
                last_payment_error={"code": "card_declined", "message": "Your card was declined."}
            ),
            ProviderStatus(
                "cs_test_1",
                ProviderPaymentState.FAILED,
                provider_payment_id="pi_1",
                failure_code="card_declined",
                failure_reason="Your card was declined.",
            ),
            id="failed",
        ),
        pytest.param(
            session_json(payment_intent="pi_1"),
            intent_json(status="requires_capture", amount_capturable=59000),
            ProviderStatus(
                "cs_test_1", ProviderPaymentState.AUTHORIZED, provider_payment_id="pi_1"
            ),
            id="authorized",
        ),
        pytest.param(
            session_json(status="expired"),
            None,
            ProviderStatus("cs_test_1", ProviderPaymentState.EXPIRED),
            id="expired",
        ),
        pytest.param(
            session_json(),
            None,
            ProviderStatus("cs_test_1", ProviderPaymentState.PENDING),
            id="open-without-an-intent-yet",
        ),
        pytest.param(
            session_json(payment_intent="pi_1"),
            intent_json(),
            ProviderStatus("cs_test_1", ProviderPaymentState.PENDING, provider_payment_id="pi_1"),
            id="open-with-an-intent",
        ),
    ],
)
def test_the_status_is_read_from_the_session_and_its_payment_intent(
    stand_in: StandIn,
    gateway: StripeGateway,
    session: dict[str, Any],
    intent: dict[str, Any] | None,
    expected: ProviderStatus,
) -> None:
    if intent is not None:
        session = {**session, "payment_intent": intent}
    stand_in.answer("GET", "/v1/checkout/sessions/cs_test_1", session)

    assert gateway.fetch_status("cs_test_1") == expected
    [call] = stand_in.received
    assert call.query["expand[0]"] == ["payment_intent"]


def test_an_intent_the_answer_did_not_expand_is_retrieved(
    stand_in: StandIn, gateway: StripeGateway
) -> None:
    stand_in.answer("GET", "/v1/checkout/sessions/cs_test_1", session_json(payment_intent="pi_1"))
    stand_in.answer(
        "GET", "/v1/payment_intents/pi_1", intent_json(status="succeeded", amount_received=59000)
    )

    status = gateway.fetch_status("cs_test_1")

    assert status.state is ProviderPaymentState.CAPTURED
    assert status.amount_captured == 59000
    assert [call.path for call in stand_in.received] == [
        "/v1/checkout/sessions/cs_test_1",
        "/v1/payment_intents/pi_1",
    ]


def test_an_unknown_session_is_a_gateway_error_never_retried(
    stand_in: StandIn, gateway: StripeGateway
) -> None:
    stand_in.answer(
        "GET",
        "/v1/checkout/sessions/cs_missing",
        stripe_error("invalid_request_error", "No such checkout.session", "resource_missing"),
        status=404,
    )

    with pytest.raises(GatewayError) as raised:
        gateway.fetch_status("cs_missing")

    assert raised.value.retryable is False
    assert raised.value.provider == STRIPE_PROVIDER
    assert isinstance(raised.value.__cause__, stripe.InvalidRequestError)


# Refunds


def refund_request(amount: int = 20000) -> RefundRequest:
    return RefundRequest(
        payment_id="pay_1",
        provider_ref="cs_test_1",
        amount=amount,
        currency=INR,
        idempotency_key="pay_1-refund-1",
    )


def refund_json(**fields: Any) -> dict[str, Any]:
    refund: dict[str, Any] = {
        "id": "re_1",
        "object": "refund",
        "amount": 20000,
        "currency": "inr",
        "status": "succeeded",
        "payment_intent": "pi_1",
        "created": 1_767_225_600,
    }
    refund.update(fields)
    return refund


def test_a_refund_is_made_on_the_sessions_payment_intent_under_the_idempotency_key(
    stand_in: StandIn, gateway: StripeGateway
) -> None:
    stand_in.answer(
        "GET",
        "/v1/checkout/sessions/cs_test_1",
        session_json(payment_status="paid", payment_intent=intent_json(status="succeeded")),
    )
    stand_in.answer("POST", "/v1/refunds", refund_json())

    receipt = gateway.refund(refund_request())

    assert receipt == RefundReceipt(refund_id="re_1", amount=20000, pending=False)
    refund_call = stand_in.received[-1]
    assert refund_call.form == {"payment_intent": ["pi_1"], "amount": ["20000"]}
    assert refund_call.headers["idempotency-key"] == "pay_1-refund-1"


def test_a_refund_stripe_has_not_finished_is_pending(
    stand_in: StandIn, gateway: StripeGateway
) -> None:
    stand_in.answer("GET", "/v1/checkout/sessions/cs_test_1", session_json(payment_intent="pi_1"))
    stand_in.answer("POST", "/v1/refunds", refund_json(status="pending"))

    assert gateway.refund(refund_request()).pending is True


def test_a_refund_stripe_reports_failed_is_a_gateway_error(
    stand_in: StandIn, gateway: StripeGateway
) -> None:
    stand_in.answer("GET", "/v1/checkout/sessions/cs_test_1", session_json(payment_intent="pi_1"))
    stand_in.answer("POST", "/v1/refunds", refund_json(status="failed"))

    with pytest.raises(GatewayError) as raised:
        gateway.refund(refund_request())

    assert raised.value.retryable is False


def test_a_session_nobody_paid_has_nothing_to_refund(
    stand_in: StandIn, gateway: StripeGateway
) -> None:
    stand_in.answer("GET", "/v1/checkout/sessions/cs_test_1", session_json())

    with pytest.raises(GatewayError, match="no payment to refund") as raised:
        gateway.refund(refund_request())

    assert raised.value.retryable is False
    assert [call.method for call in stand_in.received] == ["GET"]


# Errors at the edge


@pytest.mark.parametrize(
    ("status", "body", "sdk_error", "retryable"),
    [
        (400, stripe_error("invalid_request_error", "No line_items"), "InvalidRequestError", False),
        (400, stripe_error("idempotency_error", "Key reused"), "IdempotencyError", False),
        (401, stripe_error("invalid_request_error", "Bad key"), "AuthenticationError", False),
        (402, stripe_error("card_error", "Declined", "card_declined"), "CardError", False),
        (403, stripe_error("invalid_request_error", "Restricted key"), "PermissionError", False),
        (404, stripe_error("invalid_request_error", "No such"), "InvalidRequestError", False),
        (409, stripe_error("api_error", "Key in use by another request"), "APIError", True),
        (429, stripe_error("rate_limit_error", "Too many requests"), "RateLimitError", True),
        (500, stripe_error("api_error", "Something went wrong"), "APIError", True),
        (502, "<html>Bad gateway</html>", "APIError", True),
        (503, stripe_error("api_error", "Unavailable"), "APIError", True),
    ],
)  # fmt: skip
def test_every_answer_stripe_refuses_with_becomes_a_gateway_error_marked_by_its_kind(
    stand_in: StandIn,
    gateway: StripeGateway,
    status: int,
    body: object,
    sdk_error: str,
    *,
    retryable: bool,
) -> None:
    stand_in.answer("POST", "/v1/checkout/sessions", body, status=status)

    with pytest.raises(GatewayError) as raised:
        gateway.create_session(session_request())

    assert raised.value.retryable is retryable
    assert raised.value.provider == "stripe"
    assert type(raised.value.__cause__).__name__ == sdk_error
    assert isinstance(raised.value.__cause__, stripe.StripeError)


def test_a_refused_connection_is_a_retryable_gateway_error() -> None:
    gateway = gateway_at(refused_address())

    with pytest.raises(GatewayError) as raised:
        gateway.create_session(session_request())

    assert raised.value.retryable is True
    assert isinstance(raised.value.__cause__, stripe.APIConnectionError)


def test_a_provider_slower_than_the_timeout_is_a_retryable_gateway_error_in_time(
    stand_in: StandIn,
) -> None:
    gateway = gateway_at(stand_in.base_url, timeout=0.3)
    stand_in.answer("GET", "/v1/checkout/sessions/cs_test_1", session_json(), delay=1.5)

    started = time.monotonic()
    with pytest.raises(GatewayError) as raised:
        gateway.fetch_status("cs_test_1")
    elapsed = time.monotonic() - started

    assert raised.value.retryable is True
    assert isinstance(raised.value.__cause__, stripe.APIConnectionError)
    assert isinstance(raised.value.__cause__.__cause__, requests.Timeout)
    assert elapsed < 1.2
    assert len(stand_in.received) == 1, "the SDK retried on its own"


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (requests.ConnectionError("reset"), True),
        (requests.ConnectTimeout("connect timed out"), True),
        (requests.ReadTimeout("read timed out"), True),
        (requests.exceptions.ChunkedEncodingError("cut short"), True),
        (requests.exceptions.SSLError("certificate verify failed"), False),
        (requests.exceptions.InvalidURL("no host"), False),
        (requests.exceptions.MissingSchema("no scheme"), False),
    ],
)
def test_a_requests_error_is_translated_by_its_kind(
    error: requests.RequestException, *, retryable: bool
) -> None:
    with pytest.raises(GatewayError) as raised, translated("do a thing"):
        raise error

    assert raised.value.retryable is retryable
    assert raised.value.__cause__ is error


@pytest.mark.parametrize(
    ("cause", "retryable"),
    [
        (requests.ConnectionError("reset"), True),
        (requests.exceptions.SSLError("certificate verify failed"), False),
        (ValueError("bad proxy"), False),
        (None, True),
    ],
)
def test_a_connection_error_of_the_sdk_is_retryable_when_its_cause_is(
    cause: Exception | None, *, retryable: bool
) -> None:
    # The SDK leaves this constructor unannotated.
    error = stripe.APIConnectionError("Unexpected error.")  # type: ignore[no-untyped-call]
    error.__cause__ = cause

    with pytest.raises(GatewayError) as raised, translated("do a thing"):
        raise error

    assert raised.value.retryable is retryable


def test_other_exceptions_are_not_the_edges_to_translate() -> None:
    with pytest.raises(KeyError), translated("do a thing"):
        raise KeyError("a bug")


# Webhooks that need a call


def charge_refunded_body(**charge_fields: Any) -> bytes:
    charge: dict[str, Any] = {
        "id": "ch_1",
        "object": "charge",
        "amount": 59000,
        "amount_refunded": 30000,
        "currency": "inr",
        "payment_intent": "pi_1",
        "metadata": {},
        "refunded": False,
    }
    charge.update(charge_fields)
    event = {
        "id": "evt_charge_1",
        "object": "event",
        "api_version": PINNED_API_VERSION,
        "created": int(time.time()),
        "type": "charge.refunded",
        "data": {"object": charge, "previous_attributes": {"amount_refunded": 10000}},
    }
    return json.dumps(event).encode()


def signed(body: bytes) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), WEBHOOK_SECRET)
    return {"Stripe-Signature": header}


def test_a_refund_event_without_the_payment_id_or_the_refunds_asks_stripe_for_them(
    stand_in: StandIn, gateway: StripeGateway
) -> None:
    now = int(time.time())
    stand_in.answer("GET", "/v1/payment_intents/pi_1", intent_json(status="succeeded"))
    stand_in.answer(
        "GET",
        "/v1/refunds",
        {
            "object": "list",
            "url": "/v1/refunds",
            "has_more": False,
            "data": [
                refund_json(id="re_later", amount=5000, created=now + 3600),
                refund_json(id="re_2", amount=20000, created=now - 10),
                refund_json(id="re_1", amount=10000, created=now - 100),
            ],
        },
    )
    body = charge_refunded_body()

    event = gateway.parse_webhook(signed(body), body)

    assert event.payment_id == "pay_1"
    assert event.provider_ref is None
    assert event.payment_event is not None
    assert event.payment_event.kind is PaymentEventKind.REFUNDED
    assert (event.payment_event.refund_id, event.payment_event.amount) == ("re_2", 20000)
    refunds_call = next(call for call in stand_in.received if call.path == "/v1/refunds")
    assert refunds_call.query["charge"] == ["ch_1"]


def test_a_refund_event_carrying_what_it_needs_makes_no_call(
    stand_in: StandIn, gateway: StripeGateway
) -> None:
    body = charge_refunded_body(
        metadata={"payment_id": "pay_1"},
        refunds={"object": "list", "data": [refund_json(id="re_2", amount=20000)]},
    )

    event = gateway.parse_webhook(signed(body), body)

    assert event.payment_id == "pay_1"
    assert stand_in.received == []


def test_a_call_a_webhook_needs_that_fails_is_a_retryable_gateway_error(
    stand_in: StandIn, gateway: StripeGateway
) -> None:
    stand_in.answer(
        "GET", "/v1/payment_intents/pi_1", stripe_error("api_error", "down"), status=503
    )
    body = charge_refunded_body(
        refunds={"object": "list", "data": [refund_json(id="re_2", amount=20000)]}
    )

    with pytest.raises(GatewayError) as raised:
        gateway.parse_webhook(signed(body), body)

    assert raised.value.retryable is True


# Quiet and discreet


def test_nothing_reaches_stdout_even_when_the_sdk_is_told_to_log(
    stand_in: StandIn,
    gateway: StripeGateway,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stand_in.answer("POST", "/v1/checkout/sessions", session_json())
    stand_in.answer(
        "GET", "/v1/checkout/sessions/cs_test_1", stripe_error("api_error", "x"), status=500
    )

    gateway.create_session(session_request())
    with pytest.raises(GatewayError):
        gateway.fetch_status("cs_test_1")
    with pytest.raises(GatewayError):
        gateway_at(refused_address()).fetch_status("cs_test_1")
    quiet = capsys.readouterr()

    monkeypatch.setattr(stripe, "log", "debug")
    gateway.create_session(session_request())
    with pytest.raises(GatewayError):
        gateway_at(refused_address()).fetch_status("cs_test_1")
    told_to_log = capsys.readouterr()

    assert quiet.out == ""
    assert quiet.err == ""
    assert told_to_log.out == ""
    assert "Request to Stripe api" in told_to_log.err, "the SDK's logging went elsewhere"


def test_the_gateway_keeps_its_secrets_out_of_its_repr(gateway: StripeGateway) -> None:
    text = repr(gateway)

    assert API_KEY not in text
    assert WEBHOOK_SECRET not in text
    assert PINNED_API_VERSION in text


def test_the_gateway_is_stripe_and_always_available(gateway: StripeGateway) -> None:
    assert gateway.provider == "stripe"
    assert gateway.available() is True


@pytest.mark.parametrize(
    "settings",
    [
        {"api_key": ""},
        {"webhook_secret": " "},
        {"timeout": 0},
        {"tolerance": 0},
        {"future_tolerance": -1},
    ],
)
def test_settings_that_cannot_work_are_refused_at_once(settings: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {
        "api_key": API_KEY,
        "webhook_secret": WEBHOOK_SECRET,
        "success_url": "https://shop.example/paid",
        "cancel_url": "https://shop.example/cart",
        **settings,
    }

    with pytest.raises(ValueError, match=r"."):
        StripeGateway(**arguments)
