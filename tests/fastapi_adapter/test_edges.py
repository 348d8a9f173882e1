"""The app around the router: limits, CORS, correlation ids, faults, and the envelope for all."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from attrs import evolve
from fastapi import FastAPI

from checkout_adapters.bootstrap import Embedded
from checkout_adapters.fastapi import RouterSettings, install_checkout
from checkout_core.services import Checkout
from tests.fastapi_adapter.support import (
    CART_BODY,
    SHOP,
    BrokenDatabase,
    RecordingMetrics,
    TestClient,
    app_client,
    bearer,
    new_cart,
    rate_limited,
    settings,
)


def test_coupon_attempts_past_the_limit_are_429_with_retry_after(world: Embedded) -> None:
    client = app_client(rate_limited(world.checkout, coupon_attempts_per_client=3))
    token = new_cart(client)
    codes = [
        client.post(f"/api/v1/cart/{token}/coupon", json={"coupon": "NOPE10"}).status_code
        for _ in range(3)
    ]
    refused = client.post(f"/api/v1/cart/{token}/coupon", json={"coupon": "SAVE20"})
    assert codes == [422, 422, 422]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == 9002
    # Three attempts a minute: the next one is allowed 20 s later.
    assert refused.headers["retry-after"] == "20"


def test_a_forwarded_address_counts_only_behind_a_trusted_proxy(world: Embedded) -> None:
    checkout = rate_limited(world.checkout, coupon_attempts_per_client=1)

    def attempts(client: TestClient) -> list[int]:
        token = new_cart(client)
        return [
            client.post(
                f"/api/v1/cart/{token}/coupon",
                json={"coupon": "NOPE10"},
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            ).status_code
            for n in range(2)
        ]

    assert attempts(app_client(checkout)) == [422, 429]
    assert attempts(app_client(checkout, trust_forwarded_for=True)) == [422, 422]


def test_a_body_declared_too_large_is_refused_before_it_is_read(world: Embedded) -> None:
    metrics = RecordingMetrics()
    client = app_client(world.checkout, metrics, max_body_bytes=1024)
    padding = [{"key": f"k{n}", "value": "x" * 200} for n in range(10)]
    response = client.post("/api-proxy/api/cart", json=CART_BODY | {"analytics_data": padding})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == 6003
    assert response.json()["correlation_id"] == response.headers["x-correlation-id"]
    assert metrics.carts == 0
    assert metrics.requests == [("POST", "/api-proxy/api/cart", 413)]


def test_a_chunked_body_is_refused_once_it_grows_too_large(world: Embedded) -> None:
    metrics = RecordingMetrics()
    client = app_client(world.checkout, metrics, max_body_bytes=1024)

    def chunks() -> Iterator[bytes]:
        yield b'{"products": ['
        for _ in range(100):
            yield b'{"internship_id": "int_123", "period": {"value": 3, "unit": "month"}},'
        yield b"]}"

    response = client.post(
        "/api-proxy/api/cart", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["code"] == 6003
    assert metrics.carts == 0


def test_a_body_within_the_limit_is_served(world: Embedded) -> None:
    client = app_client(world.checkout, max_body_bytes=1024)
    padding = [{"key": f"k{n}", "value": "x" * 250} for n in range(3)]
    body = CART_BODY | {"analytics_data": padding}
    response = client.post("/api-proxy/api/cart", json=body)
    assert 768 < int(response.request.headers["content-length"]) <= 1024
    assert response.status_code == 200


def test_prices_and_totals_sent_by_the_client_are_ignored(client: TestClient) -> None:
    tampered: dict[str, Any] = CART_BODY | {
        "price": 1,
        "total": 0,
        "status": "paid",
        "products": [
            {
                "internship_id": "int_123",
                "period": {"value": 3, "unit": "month"},
                "price": 1,
                "base_price": 1,
            }
        ],
    }
    token = new_cart(client, tampered)
    estimate = client.post("/api/v1/cart/estimate", json={"cart_token": token, "total": 0})
    assert estimate.json()["data"]["total"] == 1_979_600
    placed = client.post(
        "/api/v1/order",
        json={"cart_token": token, "idempotency_key": "k", "total": 0, "status": "completed"},
        headers=bearer("user_42"),
    )
    order = placed.json()["data"]["order"]
    assert (order["status"], order["total"]) == ("awaiting_payment", 1_979_600)


def test_cors_preflight_is_allowed_for_a_listed_origin_only(client: TestClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
    }
    allowed = client.options("/api/v1/order", headers=preflight | {"Origin": SHOP})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == SHOP
    assert "access-control-allow-credentials" not in allowed.headers
    refused = client.options(
        "/api/v1/order", headers=preflight | {"Origin": "https://evil.example.com"}
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    simple = client.get("/api/v1/internships", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in simple.headers


def test_a_wildcard_origin_is_refused() -> None:
    with pytest.raises(ValueError, match="'\\*'"):
        RouterSettings(cors_origins=("*",))


def test_a_sane_correlation_id_is_echoed_and_any_other_replaced(client: TestClient) -> None:
    given = client.get("/api/v1/internships", headers={"X-Correlation-ID": "req-42.a_b"})
    assert given.headers["x-correlation-id"] == "req-42.a_b"
    assert given.json()["correlation_id"] == "req-42.a_b"
    for insane in ("has space", "x" * 129, "semi;colon"):
        replaced = client.get("/nowhere", headers={"X-Correlation-ID": insane})
        generated = replaced.headers["x-correlation-id"]
        assert generated != insane
        assert len(generated) == 36
        assert replaced.json()["correlation_id"] == generated
    first = client.get("/api/v1/internships").headers["x-correlation-id"]
    second = client.get("/api/v1/internships").headers["x-correlation-id"]
    assert first != second


def test_a_fault_is_a_bare_500_that_hides_what_went_wrong(
    world: Embedded, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Checkout.build(
        evolve(world.checkout.ports, unit_of_work=BrokenDatabase()), world.checkout.settings
    )
    metrics = RecordingMetrics()
    client = app_client(broken, metrics, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/internships")
    assert response.status_code == 500
    assert response.json()["error"] == {
        "code": 1000,
        "message": "Checkout failed.",
        "validation_messages": ["Checkout failed."],
    }
    assert response.json()["correlation_id"] == response.headers["x-correlation-id"]
    assert "hunter2" not in response.text
    assert "postgres" not in response.text
    assert "hunter2" not in caplog.text
    assert response.headers["x-correlation-id"] in caplog.text
    assert metrics.errors == [("http", 1000)]
    assert metrics.requests == [("GET", "/api/v1/internships", 500)]


def test_an_invalid_body_is_a_422_naming_each_field(client: TestClient) -> None:
    response = client.post(
        "/api-proxy/api/cart",
        json={"products": [{"internship_id": "", "period": {"value": 0, "unit": "fortnight"}}]},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == 1001
    fields = sorted(message.split(":")[0] for message in error["validation_messages"])
    assert fields == [
        "body.products.0.internship_id",
        "body.products.0.period.unit",
        "body.products.0.period.value",
    ]
    broken_json = client.post(
        "/api/v1/cart/estimate", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert broken_json.status_code == 422
    assert broken_json.json()["error"]["code"] == 1001


def test_a_body_that_is_not_utf8_is_the_422_of_any_invalid_body(
    world: Embedded, metrics: RecordingMetrics
) -> None:
    # schemathesis found it: FastAPI refuses bytes it cannot decode with a bare 400
    # that no operation documents, where a body that is not JSON is a 422.
    host = FastAPI()

    @host.post("/host/echo")
    def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    install_checkout(host, world.checkout, settings(), metrics=metrics)
    client = TestClient(host)
    undecodable = {"content": b"\xff\xfe{", "headers": {"Content-Type": "application/json"}}
    for path in ("/api/v1/cart/estimate", "/api-proxy/api/cart", "/host/echo"):
        response = client.post(path, **undecodable)
        assert response.status_code == 422, path
        body = response.json()
        assert body["status"] == 422
        assert body["error"] == {
            "code": 1001,
            "message": "The request is invalid.",
            "validation_messages": ["body: the body could not be parsed"],
        }
        assert body["correlation_id"] == response.headers["x-correlation-id"]
    assert metrics.errors == [("http", 1001)] * 3


def test_two_different_idempotency_keys_are_an_invalid_request(client: TestClient) -> None:
    token = new_cart(client)
    response = client.post(
        "/api/v1/order",
        json={"cart_token": token, "idempotency_key": "body-key"},
        headers=bearer("user_42") | {"Idempotency-Key": "header-key"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == 1001
    same = client.post(
        "/api/v1/order",
        json={"cart_token": token, "idempotency_key": "same-key"},
        headers=bearer("user_42") | {"Idempotency-Key": "same-key"},
    )
    assert same.status_code == 200


def test_unknown_paths_and_methods_answer_the_envelope(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, 6001)
    wrong = client.put("/api/v1/order")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, 6002)
    assert wrong.headers["allow"] == "POST"


def test_a_fault_is_logged_by_route_template_without_tokens(
    world: Embedded, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Checkout.build(
        evolve(world.checkout.ports, unit_of_work=BrokenDatabase()), world.checkout.settings
    )
    client = app_client(broken, raise_server_exceptions=False)
    cart_token = "74f1d2e0-791d-4f59-9a96-ffff785de270"
    user = bearer("user_42")
    with caplog.at_level(logging.DEBUG, logger="checkout_adapters"):
        response = client.post(
            f"/api/v1/cart/{cart_token}/coupon", json={"coupon": "SAVE20"}, headers=user
        )
    assert response.status_code == 500
    logged = "\n".join(
        record.getMessage() for record in caplog.records if record.name.startswith("checkout")
    )
    assert "/api/v1/cart/{token}/coupon" in logged
    assert cart_token not in logged
    assert user["Authorization"].removeprefix("Bearer ") not in logged
