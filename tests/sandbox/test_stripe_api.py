from __future__ import annotations

import time
from typing import Any

import pytest
import stripe

from checkout_adapters.sandbox import NotPayable, Sandbox
from tests.sandbox.support import STRIPE_VERSION, session_params


def _create(client: stripe.StripeClient, key: str = "order_1:attempt_1", **overrides: Any) -> Any:
    return client.v1.checkout.sessions.create(
        params=session_params(**overrides), options={"idempotency_key": key}
    )


def test_a_session_is_made_with_its_payment_intent_and_retrieved(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    session = _create(stripe_client)
    assert session.id.startswith("cs_test_")
    assert (session.object, session.mode, session.status, session.payment_status) == (
        "checkout.session",
        "payment",
        "open",
        "unpaid",
    )
    assert (session.amount_total, session.currency, session.client_reference_id) == (
        50_000,
        "inr",
        "order_token_1",
    )
    assert session.metadata.to_dict() == {"order_token": "order_token_1"}
    assert session.url == f"{sandbox.base_url}/pay/stripe/{session.id}"
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).to_dict() == session.to_dict()

    intent = stripe_client.v1.payment_intents.retrieve(session.payment_intent)
    assert (intent.object, intent.amount, intent.amount_received, intent.currency) == (
        "payment_intent",
        50_000,
        0,
        "inr",
    )
    assert intent.status == "requires_payment_method"
    assert intent.metadata.to_dict() == {"payment_id": "pay_local_1"}
    assert (intent.latest_charge, intent.last_payment_error) == (None, None)


def test_the_same_idempotency_key_and_params_replay_the_same_session(
    stripe_client: stripe.StripeClient,
) -> None:
    first = _create(stripe_client)
    again = _create(stripe_client)
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert _create(stripe_client, key="order_1:attempt_2").id != first.id


def test_the_same_idempotency_key_with_other_params_is_an_idempotency_error(
    stripe_client: stripe.StripeClient,
) -> None:
    _create(stripe_client)
    with pytest.raises(stripe.IdempotencyError, match="same parameters") as refused:
        _create(stripe_client, client_reference_id="order_token_2")
    assert refused.value.http_status == 400
    with pytest.raises(stripe.IdempotencyError, match="same endpoint"):
        stripe_client.v1.refunds.create(
            params={"payment_intent": "pi_x"}, options={"idempotency_key": "order_1:attempt_1"}
        )


def test_the_stripe_version_sent_is_echoed(stripe_client: stripe.StripeClient) -> None:
    session = _create(stripe_client)
    assert session.last_response.headers["Stripe-Version"] == STRIPE_VERSION
    assert session.last_response.request_id.startswith("req_")


@pytest.mark.parametrize(
    ("overrides", "param", "message"),
    [
        ({"colour": "blue"}, "colour", "Received unknown parameter: colour"),
        (
            {"line_items": [{"price_data": {"currency": "inr", "unit_amount": 1}, "qty": 1}]},
            "line_items[0][qty]",
            "Received unknown parameter",
        ),
        ({"mode": "subscription"}, "mode", "mode=payment"),
        ({"line_items": []}, "line_items", "Missing required param: line_items"),
        (
            {
                "line_items": [
                    {
                        "price_data": {
                            "currency": "inr",
                            "unit_amount": -5,
                            "product_data": {"name": "x"},
                        },
                        "quantity": 1,
                    }
                ]
            },
            "line_items[0][price_data][unit_amount]",
            "Invalid non-negative integer",
        ),
        ({"success_url": "not a url"}, "success_url", "Not a valid URL"),
        ({"metadata": {"k" * 41: "v"}}, f"metadata[{'k' * 41}]", "up to 40 characters"),
    ],
)
def test_parameters_stripe_would_refuse_are_an_invalid_request_naming_the_param(
    stripe_client: stripe.StripeClient, overrides: dict[str, Any], param: str, message: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError, match=message) as refused:
        stripe_client.v1.checkout.sessions.create(params=session_params(**overrides))
    assert (refused.value.http_status, refused.value.param) == (400, param)


def test_an_unknown_object_is_a_404_resource_missing(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError, match=r"No such checkout\.session") as missing:
        stripe_client.v1.checkout.sessions.retrieve("cs_test_missing")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError, match="No such payment_intent"):
        stripe_client.v1.payment_intents.retrieve("pi_missing")


def test_a_wrong_api_key_is_an_authentication_error(sandbox: Sandbox) -> None:
    http_client = stripe.RequestsClient(timeout=5)
    client = stripe.StripeClient(
        "sk_test_wrong_key_0000",
        base_addresses={"api": sandbox.base_url},
        max_network_retries=0,
        http_client=http_client,
    )
    with pytest.raises(stripe.AuthenticationError, match="Invalid API Key") as refused:
        client.v1.checkout.sessions.create(params=session_params())
    assert refused.value.http_status == 401
    http_client.close()  # type: ignore[no-untyped-call]  # stripe leaves close() unannotated


def test_a_paid_session_has_a_succeeded_intent_with_a_charge(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    session = _create(stripe_client)
    answer = sandbox.complete_payment("stripe", session.id)
    assert answer["redirect_url"] == f"http://shop.test/paid?session_id={session.id}"

    paid = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    intent = stripe_client.v1.payment_intents.retrieve(session.payment_intent)
    assert (intent.status, intent.amount_received) == ("succeeded", 50_000)
    assert isinstance(intent.latest_charge, str)
    assert intent.latest_charge.startswith("ch_")
    with pytest.raises(NotPayable):
        sandbox.complete_payment("stripe", session.id)


def test_a_declined_attempt_leaves_the_session_open_for_another(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    session = _create(stripe_client)
    sandbox.fail_payment("stripe", session.id, code="card_declined", reason="insufficient_funds")
    intent = stripe_client.v1.payment_intents.retrieve(session.payment_intent)
    assert intent.status == "requires_payment_method"
    error = intent.last_payment_error
    assert error is not None
    assert (error.code, error.decline_code, error.type) == (
        "card_declined",
        "insufficient_funds",
        "card_error",
    )
    assert stripe_client.v1.checkout.sessions.retrieve(session.id).status == "open"

    sandbox.complete_payment("stripe", session.id)
    assert stripe_client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_expand_puts_the_objects_in_place_of_their_ids(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    session = _create(stripe_client)
    sandbox.complete_payment("stripe", session.id)
    expanded = stripe_client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent.latest_charge"]}
    )
    intent = expanded.payment_intent
    assert isinstance(intent, stripe.PaymentIntent)
    charge = intent.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert (charge.object, charge.amount, charge.paid) == ("charge", 50_000, True)


def _paid_intent(sandbox: Sandbox, client: stripe.StripeClient) -> str:
    session = _create(client)
    sandbox.complete_payment("stripe", session.id)
    return str(session.payment_intent)


def test_a_refund_without_an_amount_refunds_the_charge_in_full(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    intent_id = _paid_intent(sandbox, stripe_client)
    refund = stripe_client.v1.refunds.create(params={"payment_intent": intent_id})
    assert refund.id.startswith("re_")
    assert (refund.object, refund.amount, refund.currency, refund.status) == (
        "refund",
        50_000,
        "inr",
        "succeeded",
    )
    assert refund.payment_intent == intent_id
    assert isinstance(refund.charge, str)
    charge = stripe_client.v1.charges.retrieve(refund.charge)
    assert (charge.amount_refunded, charge.refunded) == (50_000, True)
    assert stripe_client.v1.refunds.retrieve(refund.id).amount == 50_000
    with pytest.raises(stripe.InvalidRequestError) as again:
        stripe_client.v1.refunds.create(params={"payment_intent": intent_id})
    assert again.value.code == "charge_already_refunded"


def test_partial_refunds_add_up_and_one_too_large_is_refused(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    intent_id = _paid_intent(sandbox, stripe_client)
    stripe_client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 20_000})
    with pytest.raises(stripe.InvalidRequestError, match="greater than unrefunded") as refused:
        stripe_client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 30_001})
    assert (refused.value.code, refused.value.param) == ("amount_too_large", "amount")
    last = stripe_client.v1.refunds.create(params={"payment_intent": intent_id, "amount": 30_000})
    assert isinstance(last.charge, str)
    assert stripe_client.v1.charges.retrieve(last.charge).refunded is True


def test_an_unpaid_intent_has_nothing_to_refund(stripe_client: stripe.StripeClient) -> None:
    session = _create(stripe_client)
    with pytest.raises(stripe.InvalidRequestError, match="does not have a successful charge"):
        stripe_client.v1.refunds.create(params={"payment_intent": session.payment_intent})


def test_an_expired_session_cannot_be_paid(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    session = _create(stripe_client)
    expired = stripe_client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    assert stripe_client.v1.payment_intents.retrieve(session.payment_intent).status == "canceled"
    with pytest.raises(NotPayable, match="expired"):
        sandbox.complete_payment("stripe", session.id)
    with pytest.raises(stripe.InvalidRequestError, match="can be expired"):
        stripe_client.v1.checkout.sessions.expire(session.id)


def test_a_path_that_leads_to_no_id_cannot_be_expanded(stripe_client: stripe.StripeClient) -> None:
    session = _create(stripe_client)
    with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded") as refused:
        stripe_client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["mode"]})
    assert refused.value.param == "expand[0]"


def test_a_session_expires_within_the_window_stripe_allows(
    stripe_client: stripe.StripeClient,
) -> None:
    now = int(time.time())
    session = _create(stripe_client, expires_at=now + 3600)
    assert session.expires_at == now + 3600
    with pytest.raises(stripe.InvalidRequestError, match="30 minutes and 24 hours"):
        _create(stripe_client, key="other", expires_at=now + 60)
