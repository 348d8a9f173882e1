"""Webhooks: verified on the raw body; a forgery changes nothing."""

from __future__ import annotations

from typing import Any

from attrs import evolve

from checkout_adapters.bootstrap import Embedded
from checkout_core.services import Checkout
from tests.fastapi_adapter.support import (
    BrokenDatabase,
    RecordingMetrics,
    TestClient,
    app_client,
    bearer,
    new_cart,
)


def paid_deliveries(world: Embedded, client: TestClient) -> tuple[str, list[tuple[Any, bytes]]]:
    """An order paid at the sandbox, and the webhooks it sent (not yet delivered)."""
    token = new_cart(client)
    placed = client.post(
        "/api/v1/order",
        json={"cart_token": token, "idempotency_key": "k"},
        headers=bearer("user_42"),
    )
    order = placed.json()["data"]["order"]
    deliveries: list[tuple[Any, bytes]] = []

    def receive(provider: str, headers: dict[str, str], body: bytes) -> int:
        del provider
        deliveries.append((headers, body))
        return 200

    world.sandbox.webhook_target = receive
    world.sandbox.complete_payment("razorpay", order["provider_order_id"])
    world.sandbox.wait_for_deliveries()
    return order["order_token"], deliveries


def test_a_tampered_webhook_is_rejected_and_changes_nothing(
    world: Embedded, client: TestClient, metrics: RecordingMetrics
) -> None:
    order_token, deliveries = paid_deliveries(world, client)
    for headers, body in deliveries:
        forged = body.replace(b'"captured"', b'"failed"').replace(b"paid", b"unpaid")
        assert forged != body
        response = client.post("/api/v1/webhooks/razorpay", content=forged, headers=headers)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == 4006
    unsigned = client.post("/api/v1/webhooks/razorpay", content=deliveries[0][1])
    assert unsigned.status_code == 400
    status = client.get(f"/api/v1/order/{order_token}", headers=bearer("user_42"))
    assert status.json()["data"]["order"]["status"] == "awaiting_payment"
    assert {outcome for _, outcome in metrics.webhooks} == {"rejected"}
    assert ("webhooks", 4006) in metrics.errors

    # Nothing of the forgeries was recorded: the genuine deliveries still apply.
    for headers, body in deliveries:
        genuine = client.post("/api/v1/webhooks/razorpay", content=body, headers=headers)
        assert genuine.json()["data"]["duplicate"] is False
    status = client.get(f"/api/v1/order/{order_token}", headers=bearer("user_42"))
    assert status.json()["data"]["order"]["status"] == "paid"


def test_the_other_providers_webhook_path_is_not_served(client: TestClient) -> None:
    response = client.post("/api/v1/webhooks/stripe", content=b"{}")
    assert (response.status_code, response.json()["error"]["code"]) == (404, 6001)


def test_a_webhook_that_fails_for_the_database_is_a_500_counted_as_failed(
    world: Embedded, client: TestClient
) -> None:
    _, deliveries = paid_deliveries(world, client)
    broken = Checkout.build(
        evolve(world.checkout.ports, unit_of_work=BrokenDatabase()), world.checkout.settings
    )
    metrics = RecordingMetrics()
    failing = app_client(broken, metrics, raise_server_exceptions=False)
    headers, body = deliveries[0]
    response = failing.post("/api/v1/webhooks/razorpay", content=body, headers=headers)
    assert response.status_code == 500
    assert metrics.webhooks == [("razorpay", "failed")]
    assert metrics.payments == []
