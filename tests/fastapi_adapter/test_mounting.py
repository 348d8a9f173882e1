"""Mounting: a host's own app, the router alone, the operations endpoints and the schema."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from checkout_adapters.bootstrap import Embedded
from checkout_adapters.fastapi import checkout_app, checkout_router, install_checkout
from tests.fastapi_adapter.support import (
    RecordingMetrics,
    TestClient,
    new_cart,
    settings,
)


def test_a_host_app_gets_the_checkout_beside_its_own_routes(world: Embedded) -> None:
    host = FastAPI()

    @host.get("/host/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    install_checkout(host, world.checkout, settings())
    client = TestClient(host)
    assert client.get("/host/hello").json() == {"hello": "world"}
    assert client.get("/host/hello").headers["x-correlation-id"]
    assert client.get("/api/v1/internships").status_code == 200
    assert client.get("/host/nothing").json()["error"]["code"] == 6001


def test_the_router_alone_still_answers_refusals_as_the_envelope(world: Embedded) -> None:
    host = FastAPI()
    host.include_router(checkout_router(world.checkout, settings()), prefix="/shop")
    client = TestClient(host)
    token = new_cart(client.__class__(host, base_url="http://testserver/shop"))
    invalid = client.post("/shop/api/v1/cart/estimate", json={})
    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == 1001
    assert invalid.json()["correlation_id"] is None
    coupon = client.post(f"/shop/api/v1/cart/{token}/coupon", json={"coupon": "NOPE10"})
    assert (coupon.status_code, coupon.json()["error"]["code"]) == (422, 2004)
    # Without the app's handlers too, a body that is not UTF-8 is no bare 400.
    undecodable = client.post(
        "/shop/api/v1/order", content=b"\xff", headers={"Content-Type": "application/json"}
    )
    assert undecodable.status_code == 422
    assert undecodable.json()["error"]["code"] == 1001


def test_health_readiness_and_metrics(world: Embedded) -> None:
    checks = {"database": True, "redis": True}
    metrics = RecordingMetrics()
    client = TestClient(
        checkout_app(world.checkout, settings(), metrics=metrics, readiness=lambda: checks)
    )
    assert client.get("/healthz").json()["data"]["status"] == "ok"
    ready = client.get("/readyz")
    assert (ready.status_code, ready.json()["data"]["checks"]) == (200, checks)
    checks["redis"] = False
    unready = client.get("/readyz")
    assert unready.status_code == 503
    assert unready.json()["error"]["code"] == 6004
    assert unready.json()["error"]["validation_messages"] == ["redis is not ready"]
    new_cart(client)
    served = client.get("/metrics")
    assert served.headers["content-type"].startswith("text/plain")
    assert served.content == b"checkout_carts_created_total 1\n"


def test_without_metrics_there_is_no_metrics_endpoint(world: Embedded) -> None:
    client = TestClient(checkout_app(world.checkout, settings()))
    assert client.get("/metrics").status_code == 404


def test_the_schema_documents_every_status_each_endpoint_answers(world: Embedded) -> None:
    schema: dict[str, Any] = (
        TestClient(checkout_app(world.checkout, settings())).get("/openapi.json").json()
    )
    operations = {
        (method.upper(), path): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }
    assert {
        ("GET", "/api/v1/internships"),
        ("POST", "/api-proxy/api/cart"),
        ("POST", "/api/v1/cart/{token}/auth/check"),
        ("POST", "/api/v1/cart/estimate"),
        ("POST", "/api/v1/cart/{token}/coupon"),
        ("DELETE", "/api/v1/cart/{token}/coupon"),
        ("POST", "/api/v1/order"),
        ("GET", "/api/v1/order/{order_token}"),
        ("POST", "/api/v1/webhooks/razorpay"),
    } <= set(operations)
    for operation in operations.values():
        assert {"200", "422", "500"} <= set(operation["responses"])
    statuses = {status for operation in operations.values() for status in operation["responses"]}
    assert {"400", "401", "403", "404", "409", "410", "413", "422", "429", "503"} <= statuses
    order = operations["POST", "/api/v1/order"]["responses"]
    assert {"401", "403", "404", "409", "410", "413", "429", "503"} <= set(order)
    error = order["429"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/ErrorEnvelope")
    # A bearer token is optional where anonymous buyers are served, required to order.
    assert {} in operations["POST", "/api/v1/cart/estimate"]["security"]
    assert {} not in operations["POST", "/api/v1/order"]["security"]
    webhook = operations["POST", "/api/v1/webhooks/razorpay"]
    assert {"name": "X-Razorpay-Signature", "in": "header", "required": True}.items() <= (
        webhook["parameters"][0].items()
    )
    cart = schema["components"]["schemas"]["CartRequest"]
    assert "price" not in cart["properties"]
    period = schema["components"]["schemas"]["PeriodRequest"]["properties"]["value"]
    assert (period["minimum"], period["maximum"]) == (1, 1000)
