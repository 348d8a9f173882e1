from __future__ import annotations

import json
from typing import Any

import pytest
import stripe

from checkout_adapters.sandbox import Sandbox, UnknownReference
from tests.sandbox.support import Receiver, http, order_params, session_params


def test_the_pay_page_shows_the_amount_and_both_buttons(sandbox: Sandbox, rzp: Any) -> None:
    order = rzp.order.create(order_params(receipt="<b>r1</b>"))
    status, content_type, page = http("GET", sandbox.checkout_url("razorpay", order["id"]))
    text = page.decode()
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert "₹500.00" in text
    assert ">Pay</button>" in text
    assert ">Fail</button>" in text
    assert "&lt;b&gt;r1&lt;/b&gt;" in text
    assert "<b>r1</b>" not in text


def test_posting_complete_pays_the_order_and_answers_json(
    sandbox: Sandbox, rzp: Any, receiver: Receiver
) -> None:
    order = rzp.order.create(order_params())
    status, _, body = http("POST", f"{sandbox.checkout_url('razorpay', order['id'])}/complete")
    answer = json.loads(body)
    assert (status, answer["status"], answer["razorpay_order_id"]) == (200, "paid", order["id"])
    assert rzp.order.fetch(order["id"])["status"] == "paid"
    sandbox.wait_for_deliveries()
    assert receiver.types() == ["payment.authorized", "payment.captured", "order.paid"]

    status, _, page = http("GET", sandbox.checkout_url("razorpay", order["id"]))
    assert status == 200
    assert b"disabled" in page
    status, _, _ = http("POST", f"{sandbox.checkout_url('razorpay', order['id'])}/complete")
    assert status == 409


def test_posting_fail_declines_the_stripe_attempt_with_the_given_code(
    stripe_client: stripe.StripeClient,
) -> None:
    session = stripe_client.v1.checkout.sessions.create(params=session_params())
    assert session.url is not None
    status, _, body = http(
        "POST",
        f"{session.url}/fail",
        json.dumps({"code": "expired_card", "reason": "expired_card"}).encode(),
        {"Content-Type": "application/json"},
    )
    answer = json.loads(body)
    assert (status, answer["status"], answer["error"]["code"]) == (200, "open", "expired_card")
    status, _, page = http("GET", session.url)
    assert status == 200
    assert "Data internship, 1 month" in page.decode()


def test_an_unknown_reference_is_a_404_on_the_page_and_an_error_in_python(
    sandbox: Sandbox,
) -> None:
    assert http("GET", f"{sandbox.base_url}/pay/razorpay/order_missing")[0] == 404
    assert http("POST", f"{sandbox.base_url}/pay/stripe/cs_test_missing/complete")[0] == 404
    assert http("GET", f"{sandbox.base_url}/pay/paypal/x")[0] == 404
    with pytest.raises(UnknownReference):
        sandbox.complete_payment("razorpay", "order_missing")
    with pytest.raises(UnknownReference):
        sandbox.fail_payment("paypal", "x")
