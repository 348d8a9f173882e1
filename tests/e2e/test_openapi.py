"""schemathesis against the example app's OpenAPI document, over HTTP under uvicorn.

Every operation the document lists is exercised, none excluded, with inputs
that follow its schema and inputs that break it: no answer may be a server
error, and every answer must be one the operation documents (its status, its
content type, its body's schema). Operations that declare bearer security
get a valid demo token. Two examples in three that name a cart or an order
name a live one, so the successful answers are checked too, not only the
404s a random token earns.

The webhook route is included like the rest: its generated requests carry no
valid signature, so they are refused with the 400 its document lists.

Each operation is a test of its own, built from ``operation.as_strategy()``:
schemathesis's lazy pytest loader (``schemathesis.pytest.from_fixture``),
which a schema served by a fixture would need, fails on pytest 9.2 (it reads
``request.node._nodeid``, which pytest no longer has).

The app is a server of its own, on its own SQLite file: thousands of
generated requests would spend the shared marketplace's rate limits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, Final

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import Marketplace, running_marketplace

Case = schemathesis.Case[Any]

EXAMPLES_PER_OPERATION: Final = 50
"""Bounded so that all of them together take seconds (about 12 s here), not minutes."""
CHECKS: Final = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SEED_CART: Final[dict[str, Any]] = {
    "sale_slug": "summer2024",
    "products": [{"internship_id": "int_123", "period": {"value": 3, "unit": "month"}}],
}
FREE_CART: Final[dict[str, Any]] = {
    "products": [{"internship_id": "int_456", "period": {"value": 1, "unit": "month"}}]
}


@pytest.fixture(scope="module")
def fuzzed_marketplace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marketplace]:
    database = tmp_path_factory.mktemp("openapi") / "checkout.db"
    with running_marketplace({"CHECKOUT_DATABASE_URL": f"sqlite:///{database}"}) as running:
        yield running


@pytest.fixture(scope="module")
def client(fuzzed_marketplace: Marketplace) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzzed_marketplace.base_url, timeout=10.0) as opened:
        yield opened


@pytest.fixture(scope="module")
def bearer_token(client: httpx.Client) -> str:
    signed = client.post("/demo/sign-in", json={"user_name": "Schema Tester"})
    assert signed.status_code == 200, signed.text
    token: str = signed.json()["data"]["token"]
    return token


@pytest.fixture(scope="module")
def api_schema(fuzzed_marketplace: Marketplace, bearer_token: str) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(fuzzed_marketplace.base_url + "/openapi.json")
    # A valid token is supplied below; generated Authorization headers would only earn 401s.
    schema.config.generation.update(with_security_parameters=False)

    @schema.auth().apply_to(schemathesis.openapi.require_security_scheme("HTTPBearer"))
    class DemoBearer:
        """The demo sign-in's token, for the operations that declare bearer security."""

        def get(self, _case: Case, _context: schemathesis.AuthContext) -> str:
            return bearer_token

        def set(self, case: Case, data: str, _context: schemathesis.AuthContext) -> None:
            case.headers["Authorization"] = f"Bearer {data}"

    return schema


OPERATIONS: Final = {
    ("GET", "/api/v1/internships"): False,
    ("POST", "/api-proxy/api/cart"): True,
    ("POST", "/api/v1/cart/{token}/auth/check"): True,
    ("POST", "/api/v1/cart/estimate"): True,
    ("POST", "/api/v1/cart/{token}/coupon"): True,
    ("DELETE", "/api/v1/cart/{token}/coupon"): True,
    ("POST", "/api/v1/order"): True,
    ("GET", "/api/v1/order/{order_token}"): True,
    # Its raw JSON body and signature header are documented; a generated delivery
    # never carries a valid signature, and is the 400 the document lists.
    ("POST", "/api/v1/webhooks/razorpay"): True,
    ("GET", "/healthz"): False,
    ("GET", "/readyz"): False,
    ("POST", "/demo/sign-in"): True,
}
"""Every operation of the document, and whether it declares inputs (negative data breaks them).

An operation without inputs has no data to get wrong: it runs in the positive mode only.
"""
RUNS: Final = [
    pytest.param(method, path, mode, id=f"{method} {path} {mode.value}")
    for (method, path), has_inputs in OPERATIONS.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if has_inputs or mode is GenerationMode.POSITIVE
]


def _live_cart(client: httpx.Client, body: dict[str, Any]) -> str:
    created = client.post("/api-proxy/api/cart", json=body)
    assert created.status_code == 200, created.text
    token: str = created.json()["data"]["cart"]["cart_token"]
    return token


@pytest.fixture(scope="module")
def live_orders(client: httpx.Client, bearer_token: str) -> list[str]:
    """A free order (completed) and a paid one (awaiting payment) of the signed-in tester.

    Made once: a user may place only a few orders a minute.
    """
    tokens = []
    for body in (FREE_CART, SEED_CART):
        placed = client.post(
            "/api/v1/order",
            json={"cart_token": _live_cart(client, body), "idempotency_key": uuid.uuid4().hex},
            headers={"Authorization": f"Bearer {bearer_token}"},
        )
        assert placed.status_code == 200, placed.text
        tokens.append(placed.json()["data"]["order"]["order_token"])
    return tokens


def _name_live_tokens(case: Case, client: httpx.Client, orders: list[str], which: int) -> None:
    """Put a live cart's (or order's) token where the case names one."""
    path = case.path_parameters or {}
    if "token" in path:
        case.path_parameters = {**path, "token": _live_cart(client, SEED_CART)}
    if "order_token" in path:
        case.path_parameters = {**path, "order_token": orders[which % len(orders)]}
    if isinstance(case.body, dict) and "cart_token" in case.body:
        case.body = {**case.body, "cart_token": _live_cart(client, SEED_CART)}


def test_the_operations_are_all_listed(api_schema: schemathesis.BaseSchema) -> None:
    documented = {}
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        inputs = (operation.path_parameters, operation.query, operation.headers, operation.body)
        documented[operation.method.upper(), operation.path] = any(
            len(declared) for declared in inputs
        )
    assert documented == OPERATIONS


@pytest.mark.parametrize(("method", "path", "mode"), RUNS)
def test_every_answer_is_documented_and_none_is_a_server_error(
    api_schema: schemathesis.BaseSchema,
    client: httpx.Client,
    live_orders: list[str],
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    operation = api_schema[path][method]
    cases = operation.as_strategy(generation_mode=mode, auth_storage=api_schema.auth)
    secured = bool(operation.definition.raw.get("security"))

    @given(case=cases, live=st.sampled_from([None, 0, 1]))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def answers_as_documented(case: Case, live: int | None) -> None:
        if live is not None:
            _name_live_tokens(case, client, live_orders, live)
        response = case.call_and_validate(checks=CHECKS)
        # The token is valid: a 401 would be in the document, and still wrong.
        assert not (secured and response.status_code == 401), response.text

    answers_as_documented()
