"""Fixtures of the sandbox's tests: a running sandbox, a receiver, and the official SDKs on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import razorpay
import stripe

from checkout_adapters.sandbox import RetryPolicy, Sandbox
from tests.sandbox.support import STRIPE_VERSION, Receiver


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def sandbox(receiver: Receiver) -> Iterator[Sandbox]:
    with Sandbox(
        webhook_target=receiver, webhook_retry=RetryPolicy(first_delay=0.01, max_attempts=4)
    ) as running:
        yield running


@pytest.fixture
def rzp(sandbox: Sandbox) -> Iterator[Any]:
    """The razorpay SDK's client on the sandbox, as the Razorpay adapter makes it."""
    client = razorpay.Client(
        auth=(sandbox.razorpay_key_id, sandbox.razorpay_key_secret), base_url=sandbox.base_url
    )
    yield client
    client.session.close()


@pytest.fixture
def stripe_client(sandbox: Sandbox) -> Iterator[stripe.StripeClient]:
    """The stripe SDK's client on the sandbox, as the Stripe adapter makes it."""
    http_client = stripe.RequestsClient(timeout=5)
    yield stripe.StripeClient(
        sandbox.stripe_api_key,
        base_addresses={"api": sandbox.base_url},
        max_network_retries=0,
        stripe_version=STRIPE_VERSION,
        http_client=http_client,
    )
    http_client.close()  # type: ignore[no-untyped-call]  # stripe leaves close() unannotated
