from __future__ import annotations

import json
from typing import Any

import pytest
import razorpay
import requests
import stripe

from checkout_adapters.sandbox import Faults, Sandbox
from tests.sandbox.support import order_params, session_params


def test_injected_5xx_reach_the_razorpay_sdk_as_its_server_error(
    rzp: Any, sandbox: Sandbox
) -> None:
    sandbox.faults.fail_next_api_calls(1, status=503)
    with pytest.raises(razorpay.errors.ServerError, match="server encountered an error"):
        rzp.order.create(order_params())
    assert rzp.order.create(order_params())["status"] == "created"


def test_an_injected_502_is_razorpays_gateway_error(rzp: Any, sandbox: Sandbox) -> None:
    sandbox.faults.fail_next_api_calls(1, status=502)
    with pytest.raises(razorpay.errors.GatewayError):
        rzp.order.create(order_params())


def test_injected_5xx_reach_the_stripe_sdk_as_its_api_error(
    stripe_client: stripe.StripeClient, sandbox: Sandbox
) -> None:
    sandbox.faults.fail_next_api_calls(2, status=500)
    for _ in range(2):
        with pytest.raises(stripe.APIError) as failed:
            stripe_client.v1.checkout.sessions.create(
                params=session_params(), options={"idempotency_key": "k"}
            )
        assert failed.value.http_status == 500
    created = stripe_client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "k"}
    )
    assert created.status == "open"


def test_a_failure_aimed_at_one_provider_spares_the_other(
    rzp: Any, stripe_client: stripe.StripeClient, sandbox: Sandbox
) -> None:
    sandbox.faults.fail_next_api_calls(1, provider="stripe")
    assert rzp.order.create(order_params())["status"] == "created"
    with pytest.raises(stripe.APIError):
        stripe_client.v1.checkout.sessions.create(params=session_params())


def test_a_5xx_that_is_not_json_breaks_the_razorpay_sdks_decoding(
    rzp: Any, sandbox: Sandbox
) -> None:
    sandbox.faults.fail_next_api_calls(1, status=503, json_body=False)
    with pytest.raises(json.JSONDecodeError):
        rzp.order.create(order_params())


def test_a_slow_api_trips_the_clients_timeout(rzp: Any, sandbox: Sandbox) -> None:
    sandbox.faults.slow_api(0.3)
    with pytest.raises(requests.exceptions.Timeout):
        rzp.order.create(order_params(), timeout=0.1)
    sandbox.faults.slow_api(0)
    assert rzp.order.create(order_params(), timeout=1)["status"] == "created"


def test_a_dropped_connection_is_a_connection_error_for_both_sdks(
    rzp: Any,
    stripe_client: stripe.StripeClient,
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox.faults.drop_connection_next(2)
    with pytest.raises(requests.exceptions.ConnectionError):
        rzp.order.create(order_params())
    assert "Connection failed." in capsys.readouterr().out
    with pytest.raises(stripe.APIConnectionError):
        stripe_client.v1.checkout.sessions.create(params=session_params())
    assert stripe_client.v1.checkout.sessions.create(params=session_params()).status == "open"


def test_faults_refuse_nonsense_and_reset_to_none() -> None:
    faults = Faults()
    with pytest.raises(ValueError, match="5xx"):
        faults.fail_next_api_calls(1, status=404)
    with pytest.raises(ValueError, match="cannot"):
        faults.slow_api(-1)
    faults.fail_next_api_calls(3)
    faults.slow_api(1)
    faults.duplicate_webhooks(True)
    faults.reorder_webhooks(True)
    faults.drop_connection_next()
    faults.reset()
    assert faults.take_failure("razorpay") is None
    assert not faults.take_drop()
    assert (faults.api_delay, faults.duplicating, faults.reordering) == (0.0, False, False)
