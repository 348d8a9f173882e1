"""The gateway contract, passed by the Razorpay and the Stripe adapters against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from checkout_adapters.memory import FixedClock
from checkout_adapters.razorpay import RazorpayGateway
from checkout_adapters.sandbox import RetryPolicy, Sandbox
from checkout_adapters.stripe import StripeGateway
from checkout_adapters.system import SystemClock
from checkout_core.domain.gateway import WebhookSignatureInvalid
from checkout_core.domain.payment_events import PaymentEventKind
from checkout_core.ports import Clock, PaymentGateway
from tests.contract.gateway import (
    IMPATIENT_TIMEOUT,
    DeliveryLog,
    ExpectedEvents,
    GatewayContract,
    session_request,
)

# Failed deliveries are retried at once, and not for long: no test waits on a backoff.
RETRY = RetryPolicy(first_delay=0.01, factor=1.0, max_attempts=2)

RAZORPAY_KEY_ID = "rzp_test_conformance"
RAZORPAY_KEY_SECRET = "conformance_key_secret"
RAZORPAY_WEBHOOK_SECRET = "conformance_webhook_secret"

STRIPE_API_KEY = "sk_test_conformance"
STRIPE_WEBHOOK_SECRET = "whsec_conformance"


class TestRazorpayConformance(GatewayContract):
    signature_header = "x-razorpay-signature"
    # Razorpay's orders API takes no idempotency key: a retried request may open a second order.
    idempotent_sessions = False

    @pytest.fixture
    def provider(self) -> str:
        return "razorpay"

    @pytest.fixture
    def expected_events(self) -> ExpectedEvents:
        return ExpectedEvents(
            failed={"payment.failed": PaymentEventKind.FAILED},
            paid={
                "payment.authorized": PaymentEventKind.AUTHORIZED,
                "payment.captured": PaymentEventKind.CAPTURED,
                "order.paid": PaymentEventKind.CAPTURED,
            },
            refunded={"refund.processed": PaymentEventKind.REFUNDED},
        )

    @pytest.fixture
    def sandbox(self, inbox: DeliveryLog) -> Iterator[Sandbox]:
        with Sandbox(
            razorpay_key_id=RAZORPAY_KEY_ID,
            razorpay_key_secret=RAZORPAY_KEY_SECRET,
            razorpay_webhook_secret=RAZORPAY_WEBHOOK_SECRET,
            webhook_target=inbox,
            webhook_retry=RETRY,
        ) as running:
            yield running

    @pytest.fixture
    def gateway(self, sandbox: Sandbox) -> Iterator[PaymentGateway]:
        yield from _razorpay(sandbox)

    @pytest.fixture
    def other_secret_gateway(self, sandbox: Sandbox) -> Iterator[PaymentGateway]:
        yield from _razorpay(sandbox, webhook_secret="another_webhook_secret")

    @pytest.fixture
    def impatient_gateway(self, sandbox: Sandbox) -> Iterator[PaymentGateway]:
        yield from _razorpay(sandbox, timeout=IMPATIENT_TIMEOUT)

    @pytest.fixture
    def bad_credential_gateway(self, sandbox: Sandbox) -> Iterator[PaymentGateway]:
        yield from _razorpay(sandbox, key_secret="not_the_key_secret")


def _razorpay(
    sandbox: Sandbox,
    *,
    key_secret: str = RAZORPAY_KEY_SECRET,
    webhook_secret: str = RAZORPAY_WEBHOOK_SECRET,
    timeout: float = 5.0,
) -> Iterator[RazorpayGateway]:
    gateway = RazorpayGateway(
        RAZORPAY_KEY_ID, key_secret, webhook_secret, base_url=sandbox.base_url, timeout=timeout
    )
    yield gateway
    gateway.close()


class TestStripeConformance(GatewayContract):
    signature_header = "stripe-signature"
    idempotent_sessions = True

    @pytest.fixture
    def provider(self) -> str:
        return "stripe"

    @pytest.fixture
    def expected_events(self) -> ExpectedEvents:
        return ExpectedEvents(
            failed={"payment_intent.payment_failed": PaymentEventKind.FAILED},
            paid={
                "checkout.session.completed": PaymentEventKind.CAPTURED,
                "payment_intent.succeeded": PaymentEventKind.CAPTURED,
            },
            refunded={"charge.refunded": PaymentEventKind.REFUNDED},
        )

    @pytest.fixture
    def sandbox(self, inbox: DeliveryLog) -> Iterator[Sandbox]:
        with _stripe_sandbox(inbox) as running:
            yield running

    @pytest.fixture
    def gateway(self, sandbox: Sandbox) -> PaymentGateway:
        return _stripe(sandbox)

    @pytest.fixture
    def other_secret_gateway(self, sandbox: Sandbox) -> PaymentGateway:
        return _stripe(sandbox, webhook_secret="whsec_another_endpoint")

    @pytest.fixture
    def impatient_gateway(self, sandbox: Sandbox) -> PaymentGateway:
        return _stripe(sandbox, timeout=IMPATIENT_TIMEOUT)

    @pytest.fixture
    def bad_credential_gateway(self, sandbox: Sandbox) -> PaymentGateway:
        return _stripe(sandbox, api_key="sk_test_not_the_key")

    # Stripe dates its signatures; Razorpay does not, so only Stripe has a window.

    @pytest.mark.parametrize(
        "skew", [timedelta(hours=-1), timedelta(hours=1)], ids=["stale", "future"]
    )
    def test_a_delivery_signed_outside_the_window_is_refused(
        self, inbox: DeliveryLog, skew: timedelta
    ) -> None:
        with _stripe_sandbox(inbox, clock=FixedClock(datetime.now(UTC) + skew)) as skewed:
            gateway = _stripe(skewed)
            session = gateway.create_session(session_request())
            self.pay(skewed, session)
            deliveries = self.deliveries(skewed, inbox, "stripe")

        assert deliveries
        for headers, body in deliveries:
            with pytest.raises(WebhookSignatureInvalid):
                gateway.parse_webhook(headers, body)


def _stripe_sandbox(inbox: DeliveryLog, *, clock: Clock | None = None) -> Sandbox:
    return Sandbox(
        stripe_api_key=STRIPE_API_KEY,
        stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
        webhook_target=inbox,
        webhook_retry=RETRY,
        clock=clock or SystemClock(),
    )


def _stripe(
    sandbox: Sandbox,
    *,
    api_key: str = STRIPE_API_KEY,
    webhook_secret: str = STRIPE_WEBHOOK_SECRET,
    timeout: float = 5.0,
) -> StripeGateway:
    return StripeGateway(
        api_key,
        webhook_secret,
        success_url="https://shop.example/paid?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="https://shop.example/cart",
        base_url=sandbox.base_url,
        timeout=timeout,
    )
