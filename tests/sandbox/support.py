"""What the sandbox's tests share: a webhook receiver, request parameters, HTTP helpers."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from typing import Any

import attrs

STRIPE_VERSION = "2024-06-20"


@attrs.frozen
class Received:
    """One webhook delivery as the receiver got it."""

    provider: str
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def type(self) -> str:
        return str(self.event["event" if self.provider == "razorpay" else "type"])

    @property
    def event_id(self) -> str:
        if self.provider == "razorpay":
            return self.headers["x-razorpay-event-id"]
        return str(self.event["id"])


@attrs.define
class Receiver:
    """A webhook receiver in the test's process: records what comes, answers ``statuses`` first."""

    statuses: list[int] = attrs.field(factory=list)
    received: list[Received] = attrs.field(factory=list)
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    def __call__(self, provider: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self.received.append(Received(provider, headers, body))
            return self.statuses.pop(0) if self.statuses else 200

    def types(self, provider: str | None = None) -> list[str]:
        return [item.type for item in self.received if provider in {None, item.provider}]


def order_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "amount": 50_000,
        "currency": "INR",
        "receipt": "order_token_1",
        "notes": {"payment_id": "pay_local_1"},
        "partial_payment": False,
    }
    params.update(overrides)
    return params


def session_params(**overrides: Any) -> Any:
    """Parameters of a Checkout Session as the Stripe adapter sends them.

    ``Any``, not the SDK's ``SessionCreateParams``: tests also send what the
    SDK's types forbid, to see the sandbox refuse it as Stripe would.
    """
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "inr",
                    "unit_amount": 25_000,
                    "product_data": {"name": "Data internship, 1 month"},
                },
                "quantity": 2,
            }
        ],
        "success_url": "http://shop.test/paid?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://shop.test/cart",
        "client_reference_id": "order_token_1",
        "metadata": {"order_token": "order_token_1"},
        "payment_intent_data": {"metadata": {"payment_id": "pay_local_1"}},
    }
    params.update(overrides)
    return params


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, str, bytes]:
    """A plain HTTP call: status, content type, body (an error status is an answer too)."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)  # noqa: S310 - a test's own local URL
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - a test's own local URL
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers["Content-Type"], exc.read()
