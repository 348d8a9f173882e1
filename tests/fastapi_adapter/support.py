"""What the HTTP API's tests share: the app on the embedded checkout, tokens, recorded metrics."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import jwt
from attrs import define, evolve, field
from starlette.exceptions import StarletteDeprecationWarning

from checkout_adapters.bootstrap import Embedded, embedded
from checkout_adapters.demo import DEMO_NOW, demo_catalog, seed_demo_catalog
from checkout_adapters.fastapi import JwtVerifier, RouterSettings, checkout_app
from checkout_adapters.memory import FixedClock, InMemoryRateLimiter
from checkout_core.domain.limits import RateLimit
from checkout_core.ports import UnitOfWork
from checkout_core.services import Checkout, CheckoutSettings

# The test client warns that it prefers httpx2, which the project does not
# install; the warning says nothing about the code under test.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

__all__ = ["TestClient"]

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
AUDIENCE = "checkout"
ISSUER = "https://id.example.com"
SHOP = "https://shop.example.com"
CART_URL_BASE = "https://cart.example.com/pay/"
CATALOG = demo_catalog()


def claims_for(user_id: str, **overrides: Any) -> dict[str, Any]:
    """Claims of a token valid for five minutes, as the identity provider would sign them."""
    now = int(time.time())
    return {
        "sub": user_id,
        "aud": AUDIENCE,
        "iss": ISSUER,
        "iat": now,
        "exp": now + 300,
    } | overrides


def token_for(user_id: str, **overrides: Any) -> str:
    """A valid HS256 bearer token for ``user_id``."""
    return jwt.encode(claims_for(user_id, **overrides), SECRET, algorithm="HS256")


def bearer(user_id: str) -> dict[str, str]:
    """The Authorization header of ``user_id``."""
    return {"Authorization": f"Bearer {token_for(user_id)}"}


def verifier() -> JwtVerifier:
    """The verifier of :func:`token_for`'s tokens."""
    return JwtVerifier.hs256(SECRET, audience=AUDIENCE, issuer=ISSUER)


def settings(**overrides: Any) -> RouterSettings:
    """The router's settings in the tests: JWTs, one shop origin, carts paid on the cart site."""
    return evolve(
        RouterSettings(identity=verifier(), cors_origins=(SHOP,), cart_url_base=CART_URL_BASE),
        **overrides,
    )


@define
class RecordingMetrics:
    """An HttpMetrics that remembers every call, in order."""

    requests: list[tuple[str, str, int]] = field(factory=list)
    errors: list[tuple[str, int]] = field(factory=list)
    carts: int = 0
    orders: list[tuple[str, str]] = field(factory=list)
    webhooks: list[tuple[str, str]] = field(factory=list)
    payments: list[tuple[str, str]] = field(factory=list)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        assert seconds >= 0
        self.requests.append((method, route, status))

    def count_error(self, service: str, code: int) -> None:
        self.errors.append((service, code))

    def count_cart_created(self) -> None:
        self.carts += 1

    def count_order(self, kind: str, status: str) -> None:
        self.orders.append((kind, status))

    def observe_webhook(self, provider: str, outcome: str, seconds: float) -> None:
        assert seconds >= 0
        self.webhooks.append((provider, outcome))

    def count_payment(self, provider: str, outcome: str) -> None:
        self.payments.append((provider, outcome))

    def render(self) -> tuple[bytes, str]:
        return b"checkout_carts_created_total %d\n" % self.carts, "text/plain; version=0.0.4"


class BrokenDatabase:
    """A unit of work factory whose database is down, saying too much about it."""

    def __call__(self) -> UnitOfWork:
        raise ConnectionError("could not connect to postgres://checkout:hunter2@10.0.0.5/prod")


@contextmanager
def seeded_world() -> Iterator[Embedded]:
    """The embedded checkout at the demo's fixed time, with the demo's catalog and coupon."""
    with embedded(clock=FixedClock(DEMO_NOW), settings=CheckoutSettings(tax=CATALOG.tax)) as world:
        seed_demo_catalog(world.catalog, CATALOG)
        yield world


def rate_limited(checkout: Checkout, *, coupon_attempts_per_client: int) -> Checkout:
    """``checkout`` with an in-memory rate limiter and a tight limit of coupon attempts."""
    ports = evolve(checkout.ports, rate_limiter=InMemoryRateLimiter(checkout.ports.clock))
    limit = RateLimit("coupon-per-client", coupon_attempts_per_client, timedelta(minutes=1))
    return Checkout.build(ports, evolve(checkout.settings, coupon_attempts_per_client=limit))


def app_client(
    checkout: Checkout,
    metrics: RecordingMetrics | None = None,
    *,
    raise_server_exceptions: bool = True,
    **overrides: Any,
) -> TestClient:
    """A test client of the checkout app over ``checkout``."""
    return TestClient(
        checkout_app(checkout, settings(**overrides), metrics=metrics),
        raise_server_exceptions=raise_server_exceptions,
    )


CART_BODY: dict[str, Any] = {
    "sale_slug": "summer2024",
    "products": [{"internship_id": "int_123", "period": {"value": 3, "unit": "month"}}],
    "analytics_data": [
        {"key": "source", "value": "google"},
        {"key": "campaign", "value": "summer_sale"},
    ],
}
FREE_CART_BODY: dict[str, Any] = {
    "products": [{"internship_id": "int_456", "period": {"value": 1, "unit": "month"}}]
}


def new_cart(client: TestClient, body: dict[str, Any] | None = None) -> str:
    """A new cart's token (the seed's int_123, 3 months, under summer2024, unless told)."""
    response = client.post("/api-proxy/api/cart", json=CART_BODY if body is None else body)
    assert response.status_code == 200, response.text
    token: str = response.json()["data"]["cart"]["cart_token"]
    return token
