"""A cart or an order is its owner's: others are refused, and cannot probe order tokens."""

from __future__ import annotations

from tests.fastapi_adapter.support import FREE_CART_BODY, TestClient, bearer, new_cart


def test_another_users_cart_is_forbidden_everywhere(client: TestClient) -> None:
    token = new_cart(client)
    owner, other = bearer("user_42"), bearer("user_7")
    client.post(f"/api/v1/cart/{token}/auth/check", headers=owner)
    attempts = [
        client.post(f"/api/v1/cart/{token}/auth/check", headers=other),
        client.post("/api/v1/cart/estimate", json={"cart_token": token}, headers=other),
        client.post(f"/api/v1/cart/{token}/coupon", json={"coupon": "SAVE20"}, headers=other),
        client.post(
            "/api/v1/order", json={"cart_token": token, "idempotency_key": "k"}, headers=other
        ),
        client.post("/api/v1/cart/estimate", json={"cart_token": token}),
    ]
    assert [response.status_code for response in attempts] == [403] * 5
    assert {response.json()["error"]["code"] for response in attempts} == {1104}
    mine = client.post("/api/v1/cart/estimate", json={"cart_token": token}, headers=owner)
    assert mine.status_code == 200


def test_another_users_order_is_not_found_like_a_token_that_names_nothing(
    client: TestClient,
) -> None:
    token = new_cart(client, FREE_CART_BODY)
    placed = client.post(
        "/api/v1/order",
        json={"cart_token": token, "idempotency_key": "k"},
        headers=bearer("user_42"),
    )
    order_token = placed.json()["data"]["order"]["order_token"]
    theirs = client.get(f"/api/v1/order/{order_token}", headers=bearer("user_7"))
    nothing = client.get("/api/v1/order/no-such-order", headers=bearer("user_7"))
    assert (theirs.status_code, nothing.status_code) == (404, 404)
    assert theirs.json()["error"] == nothing.json()["error"]
    assert theirs.json()["error"]["code"] == 3001
    anonymous = client.get(f"/api/v1/order/{order_token}")
    assert anonymous.status_code == 401
    mine = client.get(f"/api/v1/order/{order_token}", headers=bearer("user_42"))
    assert mine.json()["data"]["order"]["status"] == "completed"
    assert mine.json()["data"]["order"]["payment"] is None


def test_an_unknown_cart_is_not_found(client: TestClient) -> None:
    response = client.post("/api/v1/cart/estimate", json={"cart_token": "no-such-cart"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == 1101
