from __future__ import annotations

import base64
import json
import subprocess
import sys
import urllib.error
from typing import Any

import pytest
import razorpay
import requests

import checkout_adapters.sandbox
from checkout_adapters.sandbox import Sandbox
from tests.sandbox.support import http, order_params

PUBLIC_API = {
    "PROVIDERS", "RAZORPAY", "RAZORPAY_ACCOUNT_ID", "STRIPE", "STRIPE_API_VERSION", "Delivery",
    "Faults", "NotPayable", "RetryPolicy", "Sandbox", "SandboxError", "UnknownReference",
    "Webhook", "WebhookReceiver", "WebhookTarget",
}  # fmt: skip


def test_the_public_api_is_exactly_what_is_promised() -> None:
    assert set(checkout_adapters.sandbox.__all__) == PUBLIC_API


def test_a_sandbox_has_an_address_only_while_it_runs() -> None:
    sandbox = Sandbox()
    with pytest.raises(RuntimeError, match="not running"):
        _ = sandbox.base_url
    with sandbox:
        base_url = sandbox.base_url
        assert base_url.startswith("http://127.0.0.1:")
        assert http("GET", base_url + "/")[0] == 404
    with pytest.raises(urllib.error.URLError):
        http("GET", base_url + "/")


def test_two_sandboxes_run_side_by_side_on_their_own_ports() -> None:
    with Sandbox() as first, Sandbox() as second:
        assert first.base_url != second.base_url


def test_a_razorpay_call_without_credentials_is_refused_in_razorpays_shape(
    sandbox: Sandbox,
) -> None:
    status, _, body = http("POST", f"{sandbox.base_url}/v1/orders", b"{}")
    error = json.loads(body)["error"]
    assert status == 401
    assert set(error) == {"code", "description", "source", "step", "reason", "metadata", "field"}
    assert error["code"] == "BAD_REQUEST_ERROR"


def test_a_stripe_call_without_a_key_is_refused_in_stripes_shape(sandbox: Sandbox) -> None:
    status, _, body = http("POST", f"{sandbox.base_url}/v1/checkout/sessions", b"")
    assert status == 401
    assert json.loads(body)["error"]["type"] == "invalid_request_error"


def test_many_calls_at_once_are_answered(sandbox: Sandbox) -> None:
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415 - only this test needs it

    def create(_: int) -> str:
        client: Any = razorpay.Client(
            auth=(sandbox.razorpay_key_id, sandbox.razorpay_key_secret),
            base_url=sandbox.base_url,
        )
        try:
            return str(client.order.create(order_params())["id"])
        finally:
            client.session.close()

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(create, range(32)))
    assert len(set(ids)) == 32


def test_python_m_starts_a_sandbox_and_prints_its_address_and_secrets() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "checkout_adapters.sandbox"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] != "}\n":
            lines.append(process.stdout.readline())
        facts = json.loads("".join(lines))
        assert facts["razorpay"]["key_id"] == "rzp_test_sandbox"
        assert facts["stripe"]["webhook_secret"].startswith("whsec_")
        answer = requests.get(f"{facts['base_url']}/v1/orders/x", timeout=5)
        assert answer.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == 0


def test_a_path_both_providers_have_goes_by_the_kind_of_credentials(
    sandbox: Sandbox, rzp: Any
) -> None:
    razorpay_answer = http(
        "GET",
        f"{sandbox.base_url}/v1/refunds/rfnd_missing",
        headers={"Authorization": "Basic " + _basic(sandbox)},
    )
    stripe_answer = http(
        "GET",
        f"{sandbox.base_url}/v1/refunds/re_missing",
        headers={"Authorization": f"Bearer {sandbox.stripe_api_key}"},
    )
    assert (razorpay_answer[0], json.loads(razorpay_answer[2])["error"]["code"]) == (
        400,
        "BAD_REQUEST_ERROR",
    )
    assert (stripe_answer[0], json.loads(stripe_answer[2])["error"]["code"]) == (
        404,
        "resource_missing",
    )
    assert rzp.order.create(order_params())["entity"] == "order"


def test_an_unknown_api_path_is_a_404_in_the_providers_shape(sandbox: Sandbox) -> None:
    status, _, body = http(
        "GET",
        f"{sandbox.base_url}/v1/customers",
        headers={"Authorization": f"Bearer {sandbox.stripe_api_key}"},
    )
    assert status == 404
    assert "Unrecognized request URL" in json.loads(body)["error"]["message"]


def _basic(sandbox: Sandbox) -> str:
    credentials = f"{sandbox.razorpay_key_id}:{sandbox.razorpay_key_secret}"
    return base64.b64encode(credentials.encode()).decode()


def test_a_stopped_sandbox_answers_no_kept_alive_client() -> None:
    sandbox = Sandbox()
    with sandbox:
        client = razorpay.Client(
            auth=(sandbox.razorpay_key_id, sandbox.razorpay_key_secret), base_url=sandbox.base_url
        )
        client.order.create(order_params())
    with pytest.raises(requests.exceptions.ConnectionError):
        client.order.create(order_params())
    client.session.close()
