"""The seed's whole flow over HTTP, against the example app running under uvicorn.

The client speaks only HTTP, to the app and to the sandbox's pay page; the
sandbox delivers its signed webhooks over HTTP to the app's webhook route, and
the app's own worker enrolls the buyer. The paid flow runs twice: on the
embedded default (SQLite, shared state in memory) and on the production
wiring (PostgreSQL, Redis for caches, limits and the event stream).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import pytest
from redis import Redis

from tests.e2e.conftest import Marketplace, running_marketplace
from tests.integration.sql_support import postgres_server_url, scratch_database
from tests.redis_support import reachable_redis

E2E_REDIS_URL: Final = os.environ.get("CHECKOUT_TEST_E2E_REDIS_URL", "redis://127.0.0.1:6379/11")
"""A Redis database of these tests alone (the others use 12 to 15); it is emptied."""
CORRELATION_HEADER: Final = "X-Correlation-ID"
POLL_SECONDS: Final = 15.0
SEED_CART: Final[dict[str, Any]] = {
    "sale_slug": "summer2024",
    "products": [{"internship_id": "int_123", "period": {"value": 3, "unit": "month"}}],
    "analytics_data": [
        {"key": "source", "value": "google"},
        {"key": "campaign", "value": "summer_sale"},
    ],
}
FREE_CART: Final[dict[str, Any]] = {
    "products": [{"internship_id": "int_456", "period": {"value": 1, "unit": "month"}}]
}


def envelope(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The seed's envelope of ``response``, checked: its status, and its correlation id.

    The body's ``correlation_id`` is the one in the ``X-Correlation-ID`` header.
    """
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["success"] is (status == 200)
    assert body["correlation_id"] == response.headers[CORRELATION_HEADER]
    return body


def signed_in(client: httpx.Client, name: str) -> tuple[dict[str, str], str]:
    """The bearer header and user id the example's demo sign-in hands ``name``."""
    response = client.post("/demo/sign-in", json={"user_name": name})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    return {"Authorization": f"Bearer {data['token']}"}, data["user_id"]


def new_cart(client: httpx.Client, marketplace: Marketplace, body: dict[str, Any]) -> str:
    """A new cart's token, its ``cart_url`` the example's cart page."""
    cart = envelope(client.post("/api-proxy/api/cart", json=body))["data"]["cart"]
    token: str = cart["cart_token"]
    assert str(uuid.UUID(token)) == token
    assert cart["cart_url"] == f"{marketplace.base_url}/checkout/cart/{token}"
    return token


def check_access(client: httpx.Client, token: str, auth: dict[str, str], user_id: str) -> None:
    """The cart is checked, and bound, for the signed-in buyer."""
    checked = client.post(f"/api/v1/cart/{token}/auth/check", json={"cart_token": token})
    assert envelope(checked)["data"] == {"authenticated": False}
    checked = client.post(
        f"/api/v1/cart/{token}/auth/check", json={"cart_token": token}, headers=auth
    )
    assert envelope(checked)["data"] == {"authenticated": True, "user_id": user_id}


def order_when(
    client: httpx.Client, order_token: str, auth: dict[str, str], status: str
) -> dict[str, Any]:
    """The order once it reaches ``status``, polled over HTTP; the test fails if it never does."""
    deadline = time.monotonic() + POLL_SECONDS
    while True:
        order: dict[str, Any] = envelope(client.get(f"/api/v1/order/{order_token}", headers=auth))[
            "data"
        ]["order"]
        if order["status"] == status:
            return order
        if time.monotonic() > deadline:
            pytest.fail(f"order {order_token} is {order['status']!r}, not {status!r}")
        time.sleep(0.1)


def pay_on_the_sandbox(client: httpx.Client, checkout_url: str) -> dict[str, Any]:
    """Press Pay on the sandbox's pay page, over HTTP; what the page hands the browser."""
    page = urlsplit(checkout_url)
    assert page.path.startswith("/pay/razorpay/order_")
    shown = client.get(checkout_url)
    assert shown.status_code == 200
    assert "Pay" in shown.text
    paid = client.post(f"{page.scheme}://{page.netloc}{page.path}/complete")
    assert paid.status_code == 200, paid.text
    answer: dict[str, Any] = paid.json()
    return answer


def run_the_paid_flow(marketplace: Marketplace) -> dict[str, Any]:
    """The seed's paid flow, step by step over HTTP; the completed order as read at the end."""
    with httpx.Client(base_url=marketplace.base_url, timeout=10.0) as client:
        listed = envelope(client.get("/api/v1/internships"))["data"]["internships"]
        by_id = {internship["internship_id"]: internship for internship in listed}
        assert by_id["int_123"]["plans"][0]["unit_price"] == 1_439_200
        assert by_id["int_456"]["free"] is True

        token = new_cart(client, marketplace, SEED_CART)
        auth, user_id = signed_in(client, "Asha Rao")
        assert user_id == "asha_rao"
        check_access(client, token, auth, user_id)

        # The seed's figures: 3 months at 14,392 less the sale's 26,400, then 18% GST
        # with the total rounded to whole rupees.
        estimate = envelope(
            client.post("/api/v1/cart/estimate", json={"cart_token": token}, headers=auth)
        )["data"]
        assert {
            key: estimate[key]
            for key in (
                "currency_code",
                "tax_rate",
                "base_price",
                "sub_total",
                "tax_total",
                "total",
                "discount_amount",
                "discount_percentage",
                "coupon_code",
            )
        } == {
            "currency_code": "INR",
            "tax_rate": 18,
            "base_price": 4_317_600,
            "sub_total": 1_677_600,
            "tax_total": 302_000,
            "total": 1_979_600,
            "discount_amount": 2_640_000,
            "discount_percentage": 61,
            "coupon_code": None,
        }
        [item] = estimate["items"]
        assert (item["internship_id"], item["period"]) == ("int_123", {"value": 3, "unit": "month"})
        assert (item["sub_total"], item["tax_total"], item["total"]) == (
            1_677_600,
            302_000,
            1_979_600,
        )
        assert item["discount_percentage"] == 61

        invalid = envelope(
            client.post(f"/api/v1/cart/{token}/coupon", json={"coupon": "NOPE10"}, headers=auth),
            422,
        )
        assert invalid["error"] == {
            "code": 2004,
            "message": "Coupon is invalid.",
            "validation_messages": ["Coupon is invalid."],
        }
        applied = envelope(
            client.post(f"/api/v1/cart/{token}/coupon", json={"coupon": "SAVE20"}, headers=auth)
        )["data"]
        assert applied == {
            "coupon_applied": True,
            "coupon_code": "SAVE20",
            "currency_code": "INR",
            "discount_amount": 395_900,
            "new_total": 1_583_700,
        }

        key = f"idem_{uuid.uuid4().hex}"
        # A correlation id of the caller's own comes back in the header and the body.
        correlation = f"flow-{uuid.uuid4().hex}"
        placing = client.post(
            "/api/v1/order",
            json={"cart_token": token},
            headers=auth | {"Idempotency-Key": key, CORRELATION_HEADER: correlation},
        )
        placed = envelope(placing)
        assert placed["correlation_id"] == correlation
        assert "Idempotent-Replayed" not in placing.headers
        order = placed["data"]["order"]
        assert order["status"] == "awaiting_payment"
        assert (order["currency"], order["total"]) == ("INR", 1_583_700)
        assert order["subtotal"] + order["tax_amount"] == order["total"]
        assert order["payment_token"]
        assert order["checkout_url"]

        replaying = client.post(
            "/api/v1/order", json={"cart_token": token}, headers=auth | {"Idempotency-Key": key}
        )
        replayed = envelope(replaying)
        assert replaying.headers["Idempotent-Replayed"] == "true"
        assert replayed["correlation_id"] != placed["correlation_id"]
        assert {**replayed, "correlation_id": None} == {**placed, "correlation_id": None}

        paid = pay_on_the_sandbox(client, order["checkout_url"])
        assert paid["callback_fields"]["razorpay_order_id"] == order["provider_order_id"]
        # Back from paying, the buyer is sent on to the order's page.
        returned = client.post(
            "/checkout/return", data=paid["callback_fields"], follow_redirects=False
        )
        assert returned.status_code == 303
        assert returned.headers["location"] == f"/checkout/order/{order['order_token']}"

        completed = order_when(client, order["order_token"], auth, "completed")
        assert completed["payment"]["status"] == "captured"
        [enrollment_id] = completed["enrollment_ids"]
        assert enrollment_id.startswith("enr_")
        assert completed["total"] == 1_583_700
    # Only the signed webhook marks an order paid: the sandbox delivered it to the app over HTTP.
    assert_webhooks_delivered(marketplace, order["provider_order_id"])
    return completed


def assert_webhooks_delivered(marketplace: Marketplace, provider_order_id: str) -> None:
    """Every event the sandbox raised for the order reached the app's webhook route, taken."""
    sandbox = marketplace.served.sandbox
    assert sandbox is not None
    sandbox.wait_for_deliveries()
    events = {
        event.event_id: event.type
        for event in sandbox.events
        if provider_order_id.encode() in event.body
    }
    assert "payment.captured" in events.values()
    taken = {
        (delivery.event_id, delivery.status)
        for delivery in sandbox.deliveries
        if delivery.event_id in events and delivery.ok
    }
    assert {event_id for event_id, _status in taken} == set(events)


@pytest.fixture(scope="module")
def redis_database() -> Iterator[str]:
    """The e2e Redis database, emptied before and after; the test fails when it is unreachable."""
    client = reachable_redis(E2E_REDIS_URL, "CHECKOUT_TEST_E2E_REDIS_URL")
    client.flushdb()
    yield E2E_REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def production_marketplace(redis_database: str) -> Iterator[Marketplace]:
    """The example app on a fresh PostgreSQL database of its own and Redis."""
    with scratch_database(postgres_server_url()) as database:
        environ = {
            "CHECKOUT_DATABASE_URL": database.render_as_string(hide_password=False),
            "CHECKOUT_REDIS_URL": redis_database,
        }
        with running_marketplace(environ) as running:
            yield running


def test_the_paid_flow_over_http(marketplace: Marketplace) -> None:
    run_the_paid_flow(marketplace)


def test_the_paid_flow_over_http_on_postgresql_and_redis(
    production_marketplace: Marketplace, redis_database: str
) -> None:
    served = production_marketplace.served
    assert served.engine.dialect.name == "postgresql"
    assert served.relay is not None

    completed = run_the_paid_flow(production_marketplace)

    # The production wiring did the work: the order's idempotency record, the
    # rate limits and the order.paid event in Redis, the enrollment in PostgreSQL.
    redis = Redis.from_url(redis_database, socket_timeout=5)
    try:
        assert redis.keys("checkout:idem:idem_*")
        assert redis.exists("checkout:limit:orders-per-user:asha_rao")
        entries = redis.xrange("checkout:events") or []
    finally:
        redis.close()
    published = [
        value.decode() if isinstance(value, bytes) else value
        for _id, fields in entries
        for value in (fields or {}).values()
    ]
    assert any(completed["order_token"] in value for value in published)
    with served.checkout.ports.unit_of_work() as uow:
        enrollments = uow.enrollments.for_order(completed["order_token"])
    assert [enrollment.id for enrollment in enrollments] == completed["enrollment_ids"]


def test_the_free_flow_over_http_completes_at_once(marketplace: Marketplace) -> None:
    with httpx.Client(base_url=marketplace.base_url, timeout=10.0) as client:
        token = new_cart(client, marketplace, FREE_CART)
        auth, user_id = signed_in(client, "Ben")
        check_access(client, token, auth, user_id)
        estimate = envelope(
            client.post("/api/v1/cart/estimate", json={"cart_token": token}, headers=auth)
        )["data"]
        assert (estimate["total"], estimate["tax_total"]) == (0, 0)

        placed = envelope(
            client.post(
                "/api/v1/order",
                json={"cart_token": token, "idempotency_key": f"idem_{uuid.uuid4().hex}"},
                headers=auth,
            )
        )["data"]["order"]
        assert (placed["status"], placed["total"]) == ("completed", 0)
        assert placed["enrollment_id"].startswith("enr_")
        assert placed.get("checkout_url") is None

        read = envelope(client.get(f"/api/v1/order/{placed['order_token']}", headers=auth))
        order = read["data"]["order"]
        assert order["status"] == "completed"
        assert order["enrollment_ids"] == [placed["enrollment_id"]]
        assert order["payment"] is None
