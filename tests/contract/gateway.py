"""The contract of ``ports.PaymentGateway``: what every gateway adapter does against the sandbox.

Every test goes through the adapter's real SDK to the gateway sandbox
(:class:`~checkout_adapters.sandbox.Sandbox`), which answers as the provider
does, signs its webhooks as the provider signs them and injects faults.

An adapter's test module subclasses :class:`GatewayContract` (under a name
starting with ``Test``), sets :attr:`GatewayContract.signature_header` and
:attr:`GatewayContract.idempotent_sessions`, and provides the fixtures:

- ``provider``: the provider's name (``"razorpay"``);
- ``expected_events``: the webhooks a failed attempt, a payment and a refund
  deliver, in order, each with the :class:`PaymentEventKind` it must read as;
- ``sandbox(inbox)``: a started sandbox with this adapter's credentials,
  delivering webhooks to ``inbox`` (this contract's fixture), with a small
  retry policy;
- ``gateway(sandbox)``: the adapter on the sandbox's ``base_url`` with the
  sandbox's credentials;
- ``other_secret_gateway(sandbox)``: the same, with another webhook secret;
- ``impatient_gateway(sandbox)``: the same, with a timeout of
  :data:`IMPATIENT_TIMEOUT` seconds;
- ``bad_credential_gateway(sandbox)``: the same, with an API credential the
  sandbox refuses.

:meth:`GatewayContract.pay`, :meth:`GatewayContract.fail` and
:meth:`GatewayContract.deliveries` act as the buyer and as the host's webhook
endpoint through the sandbox; a subclass may override them.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import ClassVar, Final, TypeAlias

import pytest
import requests
from attrs import frozen

from checkout_adapters.memory import InMemoryStore, InMemoryUnitOfWorkFactory
from checkout_adapters.sandbox import Sandbox
from checkout_adapters.sandbox.amounts import format_amount
from checkout_core.domain.gateway import (
    GatewayError,
    PaymentSession,
    PaymentSessionRequest,
    ProviderPaymentState,
    RefundReceipt,
    RefundRequest,
    SessionLine,
    WebhookEvent,
    WebhookSignatureInvalid,
)
from checkout_core.domain.money import Currency
from checkout_core.domain.payment_events import PaymentEventKind
from checkout_core.domain.payments import Payment
from checkout_core.ports import PaymentGateway

__all__ = [
    "AMOUNT",
    "IMPATIENT_TIMEOUT",
    "INR",
    "DeliveryLog",
    "ExpectedEvents",
    "GatewayContract",
    "Received",
    "session_request",
]

INR: Final = Currency.of("INR")
USD: Final = Currency.of("USD")
AMOUNT: Final = 59000
"""What every session asks for, in minor units: ₹590.00."""
PARTIAL: Final = 20000
"""The first of two refunds that add up to :data:`AMOUNT`."""
IMPATIENT_TIMEOUT: Final = 0.25
"""The timeout, in seconds, of the ``impatient_gateway``."""
SLOW_ANSWER: Final = 1.0
"""How long the sandbox takes to answer in the slow-answer tests: well beyond the timeout."""
DELIVERY_WAIT: Final = 5.0
"""How long to wait for the sandbox to deliver what is queued."""

Received: TypeAlias = tuple[dict[str, str], bytes]
"""One webhook delivery as the host's endpoint receives it: headers and the raw body."""

_OPERATIONS: Final = ("create_session", "fetch_status", "refund")


@frozen
class ExpectedEvents:
    """The webhooks each action delivers, in order, with what each must read as."""

    failed: Mapping[str, PaymentEventKind]
    """A failed payment attempt."""
    paid: Mapping[str, PaymentEventKind]
    """A payment in full."""
    refunded: Mapping[str, PaymentEventKind]
    """One refund."""


class DeliveryLog:
    """The host's webhook endpoint: keeps each delivery's headers and raw body, answers 200."""

    def __init__(self) -> None:
        self._received: list[tuple[str, Received]] = []
        self._lock = threading.Lock()

    def __call__(self, provider: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self._received.append((provider, (dict(headers), body)))
        return 200

    def received(self, provider: str) -> list[Received]:
        """Every delivery of ``provider``'s webhooks so far, in the order received."""
        with self._lock:
            return [delivery for name, delivery in self._received if name == provider]


def session_request(
    payment_id: str = "pay_conformance_1", *, amount: int = AMOUNT, currency: Currency = INR
) -> PaymentSessionRequest:
    """A request for one payment of ``amount``, in two lines that add up to it."""
    return PaymentSessionRequest(
        payment_id=payment_id,
        order_token=f"ord_{payment_id}",
        amount=amount,
        currency=currency,
        lines=(
            SessionLine("Data science internship · 1 month", amount - 9000),
            SessionLine("GST", 9000),
        ),
        user_id="usr_1",
        attempt=1,
        idempotency_key=f"{payment_id}-session",
    )


def _refund_request(
    request: PaymentSessionRequest, session: PaymentSession, amount: int, number: int
) -> RefundRequest:
    return RefundRequest(
        payment_id=request.payment_id,
        provider_ref=session.provider_ref,
        amount=amount,
        currency=request.currency,
        idempotency_key=f"{request.payment_id}-refund-{number}",
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _replace_header(headers: Mapping[str, str], name: str, value: str | None) -> dict[str, str]:
    kept = {key: old for key, old in headers.items() if key.lower() != name}
    if value is not None:
        kept[name] = value
    return kept


def _flip_last(signature: str) -> str:
    # Both providers end the header with the hex signature: change its last digit.
    return signature[:-1] + ("0" if signature[-1] != "0" else "1")


@frozen
class _Cycle:
    """What a failed attempt, a payment and two refunds of one session left behind."""

    request: PaymentSessionRequest
    session: PaymentSession
    refunds: tuple[RefundReceipt, RefundReceipt]
    deliveries: list[Received]


class GatewayContract:
    """What every ``PaymentGateway`` adapter does, through its SDK, against the sandbox."""

    signature_header: ClassVar[str]
    """The header carrying the webhook's signature, in lower case."""
    idempotent_sessions: ClassVar[bool]
    """Whether the provider returns the first session when a request is repeated under its key."""

    # The fixtures each adapter provides.

    @pytest.fixture
    def provider(self) -> str:
        """The provider's name, as stored on payments."""
        raise NotImplementedError

    @pytest.fixture
    def expected_events(self) -> ExpectedEvents:
        """The webhooks each action delivers and what each must read as."""
        raise NotImplementedError

    @pytest.fixture
    def sandbox(self, inbox: DeliveryLog) -> Iterator[Sandbox]:
        """A started sandbox with this adapter's credentials, delivering to ``inbox``."""
        raise NotImplementedError

    @pytest.fixture
    def gateway(self, sandbox: Sandbox) -> PaymentGateway:
        """The adapter, on the sandbox, with the sandbox's credentials."""
        raise NotImplementedError

    @pytest.fixture
    def other_secret_gateway(self, sandbox: Sandbox) -> PaymentGateway:
        """The adapter, on the sandbox, with a webhook secret the sandbox does not sign with."""
        raise NotImplementedError

    @pytest.fixture
    def impatient_gateway(self, sandbox: Sandbox) -> PaymentGateway:
        """The adapter, on the sandbox, with a timeout of ``IMPATIENT_TIMEOUT`` seconds."""
        raise NotImplementedError

    @pytest.fixture
    def bad_credential_gateway(self, sandbox: Sandbox) -> PaymentGateway:
        """The adapter, on the sandbox, with an API credential the sandbox refuses."""
        raise NotImplementedError

    # This contract's own fixture, and the hooks a subclass may override.

    @pytest.fixture
    def inbox(self) -> DeliveryLog:
        """Where the sandbox delivers webhooks."""
        return DeliveryLog()

    def pay(self, sandbox: Sandbox, session: PaymentSession) -> None:
        """Pay ``session`` in full, as the buyer does on the pay page."""
        sandbox.complete_payment(session.provider, session.provider_ref)

    def fail(self, sandbox: Sandbox, session: PaymentSession) -> None:
        """Fail one attempt to pay ``session``, as a declined card does."""
        sandbox.fail_payment(session.provider, session.provider_ref)

    def deliveries(self, sandbox: Sandbox, inbox: DeliveryLog, provider: str) -> list[Received]:
        """Every webhook delivered so far, once the sandbox has nothing left to send."""
        sandbox.wait_for_deliveries(DELIVERY_WAIT)
        return inbox.received(provider)

    # Helpers.

    def _paid_session(
        self, sandbox: Sandbox, gateway: PaymentGateway, payment_id: str = "pay_conformance_1"
    ) -> tuple[PaymentSessionRequest, PaymentSession]:
        request = session_request(payment_id)
        session = gateway.create_session(request)
        self.pay(sandbox, session)
        return request, session

    def _cycle(
        self, sandbox: Sandbox, gateway: PaymentGateway, inbox: DeliveryLog, provider: str
    ) -> _Cycle:
        """A failed attempt, a payment in full, then a partial refund and a refund of the rest."""
        request = session_request()
        session = gateway.create_session(request)
        self.fail(sandbox, session)
        self.pay(sandbox, session)
        first = gateway.refund(_refund_request(request, session, PARTIAL, 1))
        rest = gateway.refund(_refund_request(request, session, AMOUNT - PARTIAL, 2))
        return _Cycle(request, session, (first, rest), self.deliveries(sandbox, inbox, provider))

    def _operation(
        self, operation: str, gateway: PaymentGateway, paid: PaymentSession, number: int
    ) -> Callable[[], object]:
        """One call of the port on a paid session; calling it again repeats it."""
        request = session_request("pay_conformance_1")
        if operation == "create_session":
            fresh = session_request(f"pay_conformance_{number}")
            return lambda: gateway.create_session(fresh)
        if operation == "fetch_status":
            return lambda: gateway.fetch_status(paid.provider_ref)
        refund = _refund_request(request, paid, 1000, number)
        return lambda: gateway.refund(refund)

    # Sessions.

    @pytest.mark.parametrize("currency", [INR, USD], ids=lambda currency: currency.code)
    def test_a_session_asks_the_buyer_for_the_requests_amount_and_currency(
        self, gateway: PaymentGateway, provider: str, currency: Currency
    ) -> None:
        request = session_request(currency=currency)

        session = gateway.create_session(request)

        assert gateway.provider == provider
        assert session.provider == provider
        assert session.provider_ref
        page = requests.get(session.checkout_url, timeout=DELIVERY_WAIT)
        assert page.status_code == 200
        assert format_amount(request.amount, currency.code) in page.text
        assert session.provider_ref in page.text

    def test_a_repeated_session_request_opens_no_second_recorded_session(
        self, gateway: PaymentGateway, provider: str
    ) -> None:
        request = session_request()

        first = gateway.create_session(request)
        again = gateway.create_session(request)

        if self.idempotent_sessions:
            # The provider honours the key: the retry gets the first session back.
            assert again == first
        else:
            # The provider takes no key (Razorpay's orders): the retry may open a
            # duplicate. The port promises only a session for the request; the
            # duplicate is one, and nobody is sent to pay it, because the payment
            # records the first session it is given and keeps it.
            assert again.provider == provider
            assert gateway.fetch_status(again.provider_ref).state is ProviderPaymentState.PENDING
        recorded = _record_both(provider, request, first, again)
        assert recorded.provider_ref == first.provider_ref
        assert recorded.checkout_url == first.checkout_url
        assert gateway.fetch_status(first.provider_ref).state is ProviderPaymentState.PENDING

    # Status.

    def test_a_session_is_pending_until_paid_then_captured_for_its_amount(
        self, sandbox: Sandbox, gateway: PaymentGateway
    ) -> None:
        session = gateway.create_session(session_request())

        before = gateway.fetch_status(session.provider_ref)
        self.pay(sandbox, session)
        after = gateway.fetch_status(session.provider_ref)

        assert before.provider_ref == session.provider_ref
        assert before.state is ProviderPaymentState.PENDING
        assert before.amount_captured == 0
        assert after.provider_ref == session.provider_ref
        assert after.state is ProviderPaymentState.CAPTURED
        assert after.amount_captured == AMOUNT
        assert after.provider_payment_id

    def test_a_failed_attempt_reads_as_failed_with_the_providers_code(
        self, sandbox: Sandbox, gateway: PaymentGateway
    ) -> None:
        session = gateway.create_session(session_request())

        self.fail(sandbox, session)
        status = gateway.fetch_status(session.provider_ref)

        assert status.provider_ref == session.provider_ref
        assert status.state is ProviderPaymentState.FAILED
        assert status.amount_captured == 0
        assert status.failure_code

    # Refunds.

    def test_a_full_refund_gives_a_receipt_for_the_whole_amount(
        self, sandbox: Sandbox, gateway: PaymentGateway
    ) -> None:
        request, session = self._paid_session(sandbox, gateway)

        receipt = gateway.refund(_refund_request(request, session, AMOUNT, 1))

        assert receipt.refund_id
        assert receipt.amount == AMOUNT

    def test_partial_refunds_give_a_receipt_each_for_its_own_amount(
        self, sandbox: Sandbox, gateway: PaymentGateway
    ) -> None:
        request, session = self._paid_session(sandbox, gateway)

        first = gateway.refund(_refund_request(request, session, PARTIAL, 1))
        rest = gateway.refund(_refund_request(request, session, AMOUNT - PARTIAL, 2))

        assert first.amount == PARTIAL
        assert rest.amount == AMOUNT - PARTIAL
        assert first.refund_id
        assert rest.refund_id
        assert first.refund_id != rest.refund_id
        # A refunded payment was captured: its status does not go back.
        status = gateway.fetch_status(session.provider_ref)
        assert status.state is ProviderPaymentState.CAPTURED

    # Webhooks.

    def test_every_webhook_of_a_payment_cycle_verifies_and_reads_as_its_payment_event(
        self,
        sandbox: Sandbox,
        gateway: PaymentGateway,
        inbox: DeliveryLog,
        provider: str,
        expected_events: ExpectedEvents,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        cycle = self._cycle(sandbox, gateway, inbox, provider)

        events = [gateway.parse_webhook(headers, body) for headers, body in cycle.deliveries]

        first, rest = cycle.refunds
        expected: list[tuple[str, PaymentEventKind, int | None, str | None]] = [
            *((name, kind, None, None) for name, kind in expected_events.failed.items()),
            *((name, kind, AMOUNT, None) for name, kind in expected_events.paid.items()),
            *(
                (name, kind, first.amount, first.refund_id)
                for name, kind in expected_events.refunded.items()
            ),
            *(
                (name, kind, rest.amount, rest.refund_id)
                for name, kind in expected_events.refunded.items()
            ),
        ]
        assert [event.type for event in events] == [name for name, *_ in expected]
        for event, (_, kind, amount, refund_id) in zip(events, expected, strict=True):
            _assert_reads_as(event, provider, cycle, kind, amount, refund_id)
        assert len({event.event_id for event in events}) == len(events)
        assert capsys.readouterr().out == ""

    @pytest.mark.parametrize(
        "tampering",
        ["forged-signature", "no-signature", "re-serialised-body", "another-deliverys-body"],
    )
    def test_a_tampered_delivery_is_refused(
        self,
        sandbox: Sandbox,
        gateway: PaymentGateway,
        inbox: DeliveryLog,
        provider: str,
        tampering: str,
    ) -> None:
        deliveries = self._cycle(sandbox, gateway, inbox, provider).deliveries
        assert len(deliveries) >= 2

        for position, (sent_headers, sent_body) in enumerate(deliveries):
            signature = _header(sent_headers, self.signature_header)
            assert signature, f"the sandbox sent no {self.signature_header} header"
            headers, body = sent_headers, sent_body
            match tampering:
                case "forged-signature":
                    headers = _replace_header(headers, self.signature_header, _flip_last(signature))
                case "no-signature":
                    headers = _replace_header(headers, self.signature_header, None)
                case "re-serialised-body":
                    body = json.dumps(json.loads(sent_body)).encode()
                    assert body != sent_body, "re-serialising left the body as it was"
                case _:
                    body = deliveries[(position + 1) % len(deliveries)][1]
            with pytest.raises(WebhookSignatureInvalid):
                gateway.parse_webhook(headers, body)

    def test_a_delivery_signed_with_another_secret_is_refused(
        self,
        sandbox: Sandbox,
        gateway: PaymentGateway,
        other_secret_gateway: PaymentGateway,
        inbox: DeliveryLog,
        provider: str,
    ) -> None:
        deliveries = self._cycle(sandbox, gateway, inbox, provider).deliveries
        assert deliveries

        for headers, body in deliveries:
            with pytest.raises(WebhookSignatureInvalid):
                other_secret_gateway.parse_webhook(headers, body)

    def test_a_duplicated_delivery_reads_as_the_same_event_twice(
        self,
        sandbox: Sandbox,
        gateway: PaymentGateway,
        inbox: DeliveryLog,
        provider: str,
        expected_events: ExpectedEvents,
    ) -> None:
        sandbox.faults.duplicate_webhooks(True)
        self._paid_session(sandbox, gateway)

        events = [
            gateway.parse_webhook(headers, body)
            for headers, body in self.deliveries(sandbox, inbox, provider)
        ]

        assert len(events) == 2 * len(expected_events.paid)
        assert set(Counter(event.event_id for event in events).values()) == {2}
        by_id: defaultdict[str, list[WebhookEvent]] = defaultdict(list)
        for event in events:
            by_id[event.event_id].append(event)
        assert [copies[0].type for copies in by_id.values()] == list(expected_events.paid)
        for first, second in by_id.values():
            assert first == second

    # Faults, each a GatewayError saying whether to try again; none printed.

    @pytest.mark.parametrize("json_body", [True, False], ids=["json-5xx", "html-5xx"])
    @pytest.mark.parametrize("operation", _OPERATIONS)
    def test_a_5xx_is_a_retryable_error_and_the_retry_succeeds(
        self,
        sandbox: Sandbox,
        gateway: PaymentGateway,
        provider: str,
        operation: str,
        capsys: pytest.CaptureFixture[str],
        *,
        json_body: bool,
    ) -> None:
        _, paid = self._paid_session(sandbox, gateway)
        call = self._operation(operation, gateway, paid, 2)
        sandbox.faults.fail_next_api_calls(1, status=503, provider=provider, json_body=json_body)

        with pytest.raises(GatewayError) as raised:
            call()
        call()

        assert raised.value.retryable is True
        assert raised.value.provider == provider
        assert capsys.readouterr().out == ""

    @pytest.mark.parametrize("operation", _OPERATIONS)
    def test_an_answer_slower_than_the_timeout_is_a_retryable_error(
        self,
        sandbox: Sandbox,
        gateway: PaymentGateway,
        impatient_gateway: PaymentGateway,
        provider: str,
        operation: str,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        _, paid = self._paid_session(sandbox, gateway)
        call = self._operation(operation, impatient_gateway, paid, 2)
        sandbox.faults.slow_api(SLOW_ANSWER)
        started = time.monotonic()
        try:
            with pytest.raises(GatewayError) as raised:
                call()
            elapsed = time.monotonic() - started
        finally:
            sandbox.faults.slow_api(0)
        call()

        assert elapsed < SLOW_ANSWER
        assert raised.value.retryable is True
        assert raised.value.provider == provider
        assert capsys.readouterr().out == ""

    @pytest.mark.parametrize("operation", _OPERATIONS)
    def test_a_dropped_connection_is_a_retryable_error_and_the_retry_succeeds(
        self,
        sandbox: Sandbox,
        gateway: PaymentGateway,
        provider: str,
        operation: str,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        _, paid = self._paid_session(sandbox, gateway)
        call = self._operation(operation, gateway, paid, 2)
        sandbox.faults.drop_connection_next()

        with pytest.raises(GatewayError) as raised:
            call()
        call()

        assert raised.value.retryable is True
        assert raised.value.provider == provider
        assert capsys.readouterr().out == ""

    @pytest.mark.parametrize("operation", _OPERATIONS)
    def test_a_bad_credential_is_a_final_error(
        self,
        sandbox: Sandbox,
        gateway: PaymentGateway,
        bad_credential_gateway: PaymentGateway,
        provider: str,
        operation: str,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        _, paid = self._paid_session(sandbox, gateway)
        call = self._operation(operation, bad_credential_gateway, paid, 2)

        with pytest.raises(GatewayError) as raised:
            call()

        assert raised.value.retryable is False
        assert raised.value.provider == provider
        assert capsys.readouterr().out == ""

    @pytest.mark.parametrize(
        "refusal", ["unknown-session", "refund-beyond-the-payment", "refund-of-an-unpaid-session"]
    )
    def test_a_call_the_provider_refuses_is_a_final_error(
        self, sandbox: Sandbox, gateway: PaymentGateway, provider: str, refusal: str
    ) -> None:
        request, paid = self._paid_session(sandbox, gateway)
        unpaid_request = session_request("pay_conformance_2")
        unpaid = gateway.create_session(unpaid_request)

        calls: dict[str, Callable[[], object]] = {
            "unknown-session": lambda: gateway.fetch_status(f"{paid.provider_ref}x"),
            "refund-beyond-the-payment": lambda: gateway.refund(
                _refund_request(request, paid, AMOUNT + 1, 1)
            ),
            "refund-of-an-unpaid-session": lambda: gateway.refund(
                _refund_request(unpaid_request, unpaid, AMOUNT, 1)
            ),
        }

        with pytest.raises(GatewayError) as raised:
            calls[refusal]()

        assert raised.value.retryable is False
        assert raised.value.provider == provider


def _assert_reads_as(
    event: WebhookEvent,
    provider: str,
    cycle: _Cycle,
    kind: PaymentEventKind,
    amount: int | None,
    refund_id: str | None,
) -> None:
    assert event.provider == provider
    assert event.event_id
    # Either reference finds the payment; one it gives must be this payment's.
    assert event.provider_ref in {None, cycle.session.provider_ref}, event
    assert event.payment_id in {None, cycle.request.payment_id}, event
    assert event.provider_ref is not None or event.payment_id is not None, event
    payment_event = event.payment_event
    assert payment_event is not None, f"{event.type} read as no payment event"
    assert payment_event.kind is kind, event
    match kind:
        case PaymentEventKind.CAPTURED | PaymentEventKind.REFUNDED:
            assert payment_event.amount == amount, event
            assert payment_event.currency == cycle.request.currency, event
            assert payment_event.refund_id == refund_id, event
        case PaymentEventKind.FAILED:
            assert payment_event.failure_code, event
        case _:
            pass


def _record_both(
    provider: str,
    request: PaymentSessionRequest,
    first: PaymentSession,
    second: PaymentSession,
) -> Payment:
    """Record ``first`` then ``second`` on the request's payment, as two racing requests would."""
    uow_factory = InMemoryUnitOfWorkFactory(InMemoryStore())
    now = datetime.now(UTC)
    payment = Payment.create(
        request.payment_id,
        order_token=request.order_token,
        provider=provider,
        amount=request.amount,
        currency=request.currency,
        now=now,
    )
    with uow_factory() as uow:
        uow.payments.add(payment)
        uow.commit()
    stored = payment
    for session in (first, second):
        with uow_factory() as uow:
            stored = uow.payments.record_session(
                payment.attach_session(session.provider_ref, now, session.checkout_url)
            )
            uow.commit()
    return stored
