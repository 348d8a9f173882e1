from __future__ import annotations

from typing import Any

import pytest
import razorpay

from checkout_adapters.sandbox import Sandbox
from tests.sandbox.support import order_params


def test_an_order_is_created_and_fetched_through_the_sdk(rzp: Any) -> None:
    order = rzp.order.create(order_params())
    assert order["id"].startswith("order_")
    assert {key: order[key] for key in ("entity", "amount", "amount_paid", "amount_due")} == {
        "entity": "order",
        "amount": 50_000,
        "amount_paid": 0,
        "amount_due": 50_000,
    }
    assert (order["currency"], order["receipt"], order["status"], order["attempts"]) == (
        "INR",
        "order_token_1",
        "created",
        0,
    )
    assert order["notes"] == {"payment_id": "pay_local_1"}
    assert isinstance(order["created_at"], int)
    assert rzp.order.fetch(order["id"]) == order


def test_empty_notes_come_back_as_an_empty_list_as_razorpay_writes_them(rzp: Any) -> None:
    order = rzp.order.create(order_params(notes={}))
    assert order["notes"] == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"receipt": "r" * 41}, "receipt may not be greater than 40 characters"),
        ({"notes": {f"k{i}": "v" for i in range(16)}}, "notes may not have more than 15"),
        ({"amount": 99}, "amount must be atleast ₹1.00"),
        ({"amount": 500.0}, "amount must be an integer"),
        ({"currency": "inr"}, "currency provided is not supported"),
        ({"speed": "normal"}, "speed is/are not required and should not be sent"),
    ],
)
def test_an_order_razorpay_would_refuse_is_a_bad_request(
    rzp: Any, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(razorpay.errors.BadRequestError, match=message):
        rzp.order.create(order_params(**overrides))


def test_an_unknown_order_or_payment_is_a_bad_request(rzp: Any) -> None:
    with pytest.raises(razorpay.errors.BadRequestError, match="does not exist"):
        rzp.order.fetch("order_missing0000")
    with pytest.raises(razorpay.errors.BadRequestError, match="does not exist"):
        rzp.payment.fetch("pay_missing00000")


def test_wrong_credentials_are_refused_with_razorpays_error(sandbox: Sandbox) -> None:
    client = razorpay.Client(auth=(sandbox.razorpay_key_id, "wrong"), base_url=sandbox.base_url)
    with pytest.raises(razorpay.errors.BadRequestError, match="api key provided is invalid"):
        client.order.create(order_params())
    client.session.close()


def test_a_completed_order_is_paid_by_one_captured_payment(sandbox: Sandbox, rzp: Any) -> None:
    order = rzp.order.create(order_params())
    sandbox.complete_payment("razorpay", order["id"])
    paid = rzp.order.fetch(order["id"])
    assert (paid["status"], paid["amount_paid"], paid["amount_due"], paid["attempts"]) == (
        "paid",
        50_000,
        0,
        1,
    )
    payments = rzp.order.payments(order["id"])
    assert (payments["entity"], payments["count"]) == ("collection", 1)
    payment = rzp.payment.fetch(payments["items"][0]["id"])
    assert payment == payments["items"][0]
    assert payment["id"].startswith("pay_")
    assert {
        key: payment[key]
        for key in ("entity", "amount", "currency", "status", "order_id", "method", "captured")
    } == {
        "entity": "payment",
        "amount": 50_000,
        "currency": "INR",
        "status": "captured",
        "order_id": order["id"],
        "method": "card",
        "captured": True,
    }
    assert (payment["amount_refunded"], payment["refund_status"], payment["error_code"]) == (
        0,
        None,
        None,
    )
    assert payment["notes"] == {"payment_id": "pay_local_1"}


def test_a_paid_order_cannot_be_paid_again(sandbox: Sandbox, rzp: Any) -> None:
    order = rzp.order.create(order_params())
    sandbox.complete_payment("razorpay", order["id"])
    with pytest.raises(Exception, match="paid already"):
        sandbox.complete_payment("razorpay", order["id"])


def test_the_checkout_callback_is_signed_with_the_key_secret(sandbox: Sandbox, rzp: Any) -> None:
    order = rzp.order.create(order_params())
    callback = sandbox.complete_payment("razorpay", order["id"])
    assert rzp.utility.verify_payment_signature(
        {
            "razorpay_order_id": order["id"],
            "razorpay_payment_id": callback["razorpay_payment_id"],
            "razorpay_signature": callback["razorpay_signature"],
        }
    )


def test_a_failed_attempt_leaves_the_order_attempted_and_payable(
    sandbox: Sandbox, rzp: Any
) -> None:
    order = rzp.order.create(order_params())
    sandbox.fail_payment("razorpay", order["id"], code="BAD_REQUEST_ERROR", reason="card_declined")
    attempted = rzp.order.fetch(order["id"])
    assert (attempted["status"], attempted["attempts"]) == ("attempted", 1)
    (failed,) = rzp.order.payments(order["id"])["items"]
    assert (failed["status"], failed["captured"]) == ("failed", False)
    assert (failed["error_code"], failed["error_reason"]) == ("BAD_REQUEST_ERROR", "card_declined")
    assert failed["error_description"]

    sandbox.complete_payment("razorpay", order["id"])
    payments = rzp.order.payments(order["id"])["items"]
    assert [payment["status"] for payment in payments] == ["captured", "failed"]
    assert rzp.order.fetch(order["id"])["attempts"] == 2


def test_an_authorized_payment_is_captured_through_the_api(sandbox: Sandbox, rzp: Any) -> None:
    order = rzp.order.create(order_params())
    callback = sandbox.complete_payment("razorpay", order["id"], capture=False)
    payment_id = callback["razorpay_payment_id"]
    assert rzp.payment.fetch(payment_id)["status"] == "authorized"
    assert rzp.order.fetch(order["id"])["status"] == "attempted"

    captured = rzp.payment.capture(payment_id, 50_000, {"currency": "INR"})
    assert (captured["status"], captured["captured"]) == ("captured", True)
    assert rzp.order.fetch(order["id"])["status"] == "paid"
    with pytest.raises(razorpay.errors.BadRequestError, match="already been captured"):
        rzp.payment.capture(payment_id, 50_000, {"currency": "INR"})


def _paid(sandbox: Sandbox, rzp: Any) -> str:
    order = rzp.order.create(order_params())
    return str(sandbox.complete_payment("razorpay", order["id"])["razorpay_payment_id"])


def test_a_refund_without_an_amount_refunds_in_full(sandbox: Sandbox, rzp: Any) -> None:
    payment_id = _paid(sandbox, rzp)
    refund = rzp.payment.refund(payment_id, {})
    assert refund["id"].startswith("rfnd_")
    assert {
        key: refund[key]
        for key in ("entity", "amount", "currency", "payment_id", "status", "speed_processed")
    } == {
        "entity": "refund",
        "amount": 50_000,
        "currency": "INR",
        "payment_id": payment_id,
        "status": "processed",
        "speed_processed": "normal",
    }
    payment = rzp.payment.fetch(payment_id)
    assert (payment["status"], payment["amount_refunded"], payment["refund_status"]) == (
        "refunded",
        50_000,
        "full",
    )
    assert rzp.refund.fetch(refund["id"]) == refund
    with pytest.raises(razorpay.errors.BadRequestError, match="fully refunded"):
        rzp.payment.refund(payment_id, {"amount": 100})


def test_partial_refunds_add_up_and_one_beyond_what_remains_is_refused(
    sandbox: Sandbox, rzp: Any
) -> None:
    payment_id = _paid(sandbox, rzp)
    rzp.payment.refund(payment_id, {"amount": 20_000, "speed": "normal"})
    payment = rzp.payment.fetch(payment_id)
    assert (payment["status"], payment["amount_refunded"], payment["refund_status"]) == (
        "captured",
        20_000,
        "partial",
    )
    with pytest.raises(razorpay.errors.BadRequestError, match="greater than"):
        rzp.payment.refund(payment_id, {"amount": 30_001})
    rzp.payment.refund(payment_id, {"amount": 30_000})
    assert rzp.payment.fetch(payment_id)["refund_status"] == "full"


def test_a_failed_payment_cannot_be_refunded(sandbox: Sandbox, rzp: Any) -> None:
    order = rzp.order.create(order_params())
    sandbox.fail_payment("razorpay", order["id"])
    (failed,) = rzp.order.payments(order["id"])["items"]
    with pytest.raises(razorpay.errors.BadRequestError, match="captured"):
        rzp.payment.refund(failed["id"], {})
