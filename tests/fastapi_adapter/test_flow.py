"""The seed's whole flow over HTTP, on the embedded checkout and the gateway sandbox."""

from __future__ import annotations

from datetime import timedelta

from checkout_adapters.bootstrap import Embedded
from tests.fastapi_adapter.support import (
    CART_URL_BASE,
    FREE_CART_BODY,
    RecordingMetrics,
    TestClient,
    bearer,
    new_cart,
)


def test_browsing_lists_the_internships_with_their_plans_in_minor_units(
    client: TestClient,
) -> None:
    response = client.get("/api/v1/internships")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["success"]) == (200, True)
    internships = {item["internship_id"]: item for item in body["data"]["internships"]}
    assert set(internships) == {"int_123", "int_456"}
    assert internships["int_123"]["plans"][0]["unit_price"] == 1_439_200
    assert internships["int_456"]["free"] is True


def test_a_cart_is_created_with_its_url_and_expiry(
    client: TestClient, metrics: RecordingMetrics
) -> None:
    token = new_cart(client)
    response = client.post("/api-proxy/api/cart", json=FREE_CART_BODY)
    cart = response.json()["data"]["cart"]
    assert cart["cart_url"] == CART_URL_BASE + cart["cart_token"]
    assert cart["expires_at"] == "2024-06-16T10:00:00+00:00"
    assert cart["cart_token"] != token
    assert metrics.carts == 2


def test_the_seeds_estimate_and_coupon_figures(client: TestClient) -> None:
    token = new_cart(client)
    estimate = client.post("/api/v1/cart/estimate", json={"cart_token": token}).json()["data"]
    assert (estimate["currency_code"], estimate["tax_rate"], estimate["total"]) == (
        "INR",
        18,
        1_979_600,
    )
    assert [item["internship_id"] for item in estimate["items"]] == ["int_123"]

    invalid = client.post(f"/api/v1/cart/{token}/coupon", json={"coupon": "NOPE10"})
    assert invalid.status_code == 422
    assert invalid.json()["error"] == {
        "code": 2004,
        "message": "Coupon is invalid.",
        "validation_messages": ["Coupon is invalid."],
    }

    applied = client.post(f"/api/v1/cart/{token}/coupon", json={"coupon": "SAVE20"})
    assert applied.status_code == 200
    assert applied.json()["data"] == {
        "coupon_applied": True,
        "coupon_code": "SAVE20",
        "currency_code": "INR",
        "discount_amount": 395_900,
        "new_total": 1_583_700,
    }
    again = client.post("/api/v1/cart/estimate", json={"cart_token": token}).json()["data"]
    assert (again["total"], again["coupon_code"]) == (1_583_700, "SAVE20")

    removed = client.delete(f"/api/v1/cart/{token}/coupon")
    assert removed.status_code == 200
    assert (removed.json()["data"]["total"], removed.json()["data"]["coupon_code"]) == (
        1_979_600,
        None,
    )


def test_the_auth_check_says_who_is_signed_in_and_binds_the_cart(client: TestClient) -> None:
    token = new_cart(client)
    anonymous = client.post(f"/api/v1/cart/{token}/auth/check", json={"cart_token": token})
    assert anonymous.status_code == 200
    assert anonymous.json()["data"] == {"authenticated": False}
    signed_in = client.post(f"/api/v1/cart/{token}/auth/check", headers=bearer("user_42"))
    assert signed_in.json()["data"] == {"authenticated": True, "user_id": "user_42"}


def test_a_free_order_completes_with_its_enrollment(
    client: TestClient, metrics: RecordingMetrics
) -> None:
    token = new_cart(client, FREE_CART_BODY)
    response = client.post(
        "/api/v1/order",
        json={"cart_token": token, "idempotency_key": "idem_free_1"},
        headers=bearer("user_42"),
    )
    assert response.status_code == 200, response.text
    order = response.json()["data"]["order"]
    assert (order["status"], order["total"]) == ("completed", 0)
    assert order["enrollment_id"].startswith("enr_")
    assert "idempotent-replayed" not in response.headers
    assert metrics.orders == [("free", "completed")]


def test_a_paid_order_is_paid_through_the_sandbox_and_enrolled_by_the_worker(
    world: Embedded, client: TestClient, metrics: RecordingMetrics
) -> None:
    user = bearer("user_42")
    token = new_cart(client)
    client.post(f"/api/v1/cart/{token}/coupon", json={"coupon": "SAVE20"}, headers=user)
    placed = client.post(
        "/api/v1/order",
        json={"cart_token": token},
        headers=user | {"Idempotency-Key": "idem_123456789"},
    )
    assert placed.status_code == 200, placed.text
    order = placed.json()["data"]["order"]
    assert (order["status"], order["total"], order["provider"]) == (
        "awaiting_payment",
        1_583_700,
        "razorpay",
    )
    assert order["checkout_url"].startswith(world.sandbox.base_url)
    assert metrics.orders == [("paid", "awaiting_payment")]

    replay = client.post(
        "/api/v1/order",
        json={"cart_token": token, "idempotency_key": "idem_123456789"},
        headers=user,
    )
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["data"] == placed.json()["data"]
    assert metrics.orders == [("paid", "awaiting_payment")]

    status = client.get(f"/api/v1/order/{order['order_token']}", headers=user)
    assert status.json()["data"]["order"]["payment"] == {
        "provider": "razorpay",
        "provider_order_id": order["provider_order_id"],
        "status": "created",
        "checkout_url": order["checkout_url"],
    }

    deliveries: list[tuple[dict[str, str], bytes]] = []

    def receive(provider: str, headers: dict[str, str], body: bytes) -> int:
        assert provider == "razorpay"
        deliveries.append((headers, body))
        return 200

    world.sandbox.webhook_target = receive
    world.sandbox.complete_payment("razorpay", order["provider_order_id"])
    world.sandbox.wait_for_deliveries()
    assert deliveries
    outcomes = []
    for headers, body in deliveries:
        answer = client.post("/api/v1/webhooks/razorpay", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        outcomes.append(answer.json()["data"]["outcome"])
    assert "applied" in outcomes
    repeat = client.post(
        "/api/v1/webhooks/razorpay", content=deliveries[0][1], headers=deliveries[0][0]
    )
    assert repeat.json()["data"]["duplicate"] is True
    assert [outcome for _, outcome in metrics.webhooks] == [*outcomes, "duplicate"]
    assert metrics.payments == [("razorpay", "succeeded")]

    paid = client.get(f"/api/v1/order/{order['order_token']}", headers=user).json()["data"]
    assert (paid["order"]["status"], paid["order"]["payment"]["status"]) == ("paid", "captured")
    assert world.worker.run_once(wait=timedelta(0)) >= 1
    done = client.get(f"/api/v1/order/{order['order_token']}", headers=user).json()["data"]
    assert done["order"]["status"] == "completed"
    assert len(done["order"]["enrollment_ids"]) == 1


def test_every_answer_is_timed_under_its_route_template(
    client: TestClient, metrics: RecordingMetrics
) -> None:
    token = new_cart(client)
    client.post(f"/api/v1/cart/{token}/coupon", json={"coupon": "NOPE10"})
    client.get(f"/no/such/{token}")
    assert metrics.requests == [
        ("POST", "/api-proxy/api/cart", 200),
        ("POST", "/api/v1/cart/{token}/coupon", 422),
        ("GET", "unmatched", 404),
    ]
    assert metrics.errors == [("discounts", 2004), ("http", 6001)]
