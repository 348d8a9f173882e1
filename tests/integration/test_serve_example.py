"""The example app's own parts: its catalog, its demo sign-in and its payment return."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from checkout_adapters.bootstrap import Served, served
from checkout_adapters.demo import demo_catalog
from checkout_adapters.settings import ConfigurationError, ServerSettings
from examples.fastapi_app import create_app
from examples.fastapi_app.catalog import sales_running_around, seed_on_first_start
from examples.fastapi_app.payment_return import provider_ref_of
from examples.fastapi_app.sign_in import user_id_for
from tests.fastapi_adapter.support import TestClient

NOW = datetime(2031, 3, 9, 12, 0, tzinfo=UTC)
SECRET = "a-demo-secret-of-at-least-32-bytes!"


def _settings(tmp_path: Path, **variables: str) -> ServerSettings:
    database = tmp_path / "checkout.db"
    return ServerSettings.from_env({"CHECKOUT_DATABASE_URL": f"sqlite:///{database}", **variables})


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = _settings(
        tmp_path,
        CHECKOUT_JWT_SECRET=SECRET,
        CHECKOUT_JWT_AUDIENCE="checkout",
        CHECKOUT_JWT_ISSUER="marketplace",
    )
    with TestClient(create_app(settings)) as running:
        yield running


def test_the_sales_are_moved_to_run_around_now_and_nothing_else_changes() -> None:
    demo = demo_catalog()
    moved = sales_running_around(demo, NOW)
    sale = moved.sales["summer2024"]
    assert (sale.starts_at, sale.ends_at) == (NOW - timedelta(days=1), NOW + timedelta(days=90))
    assert sale.rules == demo.sales["summer2024"].rules
    assert (moved.offerings, moved.coupons, moved.tax) == (demo.offerings, demo.coupons, demo.tax)


def test_the_catalog_is_seeded_on_the_first_start_only(tmp_path: Path) -> None:
    with served(_settings(tmp_path)) as server:
        first = seed_on_first_start(server.catalog, NOW)
        again = seed_on_first_start(server.catalog, NOW + timedelta(days=400))
        sale = server.catalog.sale("summer2024")
        offerings = [offering.id for offering in server.catalog.active_offerings()]
    assert (first, again) == (True, False)
    assert offerings == ["int_123", "int_456"]
    assert sale is not None
    assert sale.ends_at == NOW + timedelta(days=90)


@pytest.mark.parametrize(
    ("fields", "ref"),
    [
        ({"razorpay_order_id": ["order_A1"], "razorpay_payment_id": ["pay_1"]}, "order_A1"),
        ({"error[metadata]": [json.dumps({"order_id": "order_B2"})]}, "order_B2"),
        ({"error[metadata]": ["not json"]}, None),
        ({"error[metadata]": ["[1, 2]"]}, None),
        ({}, None),
    ],
)
def test_the_provider_reference_is_read_from_a_razorpay_callback(
    fields: dict[str, list[str]], ref: str | None
) -> None:
    assert provider_ref_of(fields) == ref


@pytest.mark.parametrize(
    ("name", "user_id"), [("Asha Rao", "asha_rao"), ("  Ben-2 ", "ben_2"), ("!!!", "")]
)
def test_a_user_id_is_the_names_letters_and_digits(name: str, user_id: str) -> None:
    assert user_id_for(name) == user_id


def test_the_demo_sign_in_issues_a_token_the_checkout_accepts(client: TestClient) -> None:
    signed = client.post("/demo/sign-in", json={"user_name": "Asha Rao"})
    assert signed.status_code == 200
    data = signed.json()["data"]
    assert data["user_id"] == "asha_rao"
    claims = jwt.decode(
        data["token"], SECRET, algorithms=["HS256"], audience="checkout", issuer="marketplace"
    )
    assert claims["sub"] == "asha_rao"

    cart = client.post(
        "/api-proxy/api/cart",
        json={"products": [{"internship_id": "int_456", "period": {"value": 1, "unit": "month"}}]},
    ).json()["data"]["cart"]
    assert cart["cart_url"] == f"/checkout/cart/{cart['cart_token']}"
    checked = client.post(
        f"/api/v1/cart/{cart['cart_token']}/auth/check",
        json={"cart_token": cart["cart_token"]},
        headers={"Authorization": f"Bearer {data['token']}"},
    )
    assert checked.json()["data"] == {"authenticated": True, "user_id": "asha_rao"}


def test_a_name_without_letters_or_digits_is_refused_in_words(client: TestClient) -> None:
    refused = client.post("/demo/sign-in", json={"user_name": "!!!"})
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == "Type a name with a letter or a digit in it."


def test_a_return_for_an_unknown_payment_is_a_page_saying_so(client: TestClient) -> None:
    answered = client.post(
        "/checkout/return", content=b"razorpay_order_id=order_nope", follow_redirects=False
    )
    assert answered.status_code == 404
    assert "We could not find that payment" in answered.text


def test_the_pages_are_served(client: TestClient) -> None:
    home = client.get("/")
    assert home.status_code == 200
    assert 'href="/checkout?sale=summer2024"' in home.text
    for path in ("/checkout", "/checkout/cart/abc", "/checkout/order/abc"):
        page = client.get(path)
        assert page.status_code == 200
        assert '<script src="/static/checkout.js" defer></script>' in page.text
    assert "crypto.randomUUID()" in client.get("/static/checkout.js").text


def test_with_an_rs256_public_key_there_is_no_demo_sign_in(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings = _settings(tmp_path, CHECKOUT_JWT_PUBLIC_KEY=pem.decode())
    with TestClient(create_app(settings)) as running:
        assert running.post("/demo/sign-in", json={"user_name": "Asha"}).status_code == 404
        claims = {
            "sub": "asha",
            "iat": datetime.now(UTC),
            "exp": datetime.now(UTC) + timedelta(hours=1),
        }
        token = jwt.encode(claims, key, algorithm="RS256")
        cart = running.post(
            "/api-proxy/api/cart",
            json={
                "products": [{"internship_id": "int_456", "period": {"value": 1, "unit": "month"}}]
            },
        ).json()["data"]["cart"]["cart_token"]
        checked = running.post(
            f"/api/v1/cart/{cart}/auth/check",
            json={"cart_token": cart},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert checked.json()["data"]["user_id"] == "asha"


def test_a_public_key_that_is_not_rsa_is_named(tmp_path: Path) -> None:
    pem = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n"
    with pytest.raises(
        ConfigurationError, match="CHECKOUT_JWT_PUBLIC_KEY is not an RSA public key"
    ):
        create_app(_settings(tmp_path, CHECKOUT_JWT_PUBLIC_KEY=pem))


def test_the_app_starts_and_stops_the_checkouts_worker(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, CHECKOUT_JWT_SECRET=SECRET))
    server: Served = app.state.served
    with TestClient(app) as running:
        assert server.running
        assert running.get("/readyz").json()["data"]["checks"] == {
            "database": True,
            "worker": True,
        }
    assert not server.running
