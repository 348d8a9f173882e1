"""The chaos suite's buyers: the paid flow over HTTP, orders and webhooks each sent twice at once.

A buyer opens a cart, binds it, asks for an estimate, applies ``SAVE20``
(every other buyer), places the order twice at once with one idempotency
key (to each API process), pays it, and the provider's three webhooks
(``payment.authorized``, ``payment.captured``, ``order.paid``, written and
signed as Razorpay writes and signs them) are each delivered twice at once,
once to each API process. Requests go where a load balancer would send
them: to one process, or to the other when that one cannot be reached. A
5xx is recorded and the request sent again when ``Retry-After`` says, as is
a 429 (every buyer comes from one address, so the per-client limits bite).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

import httpx
import jwt
from attrs import define, field, frozen

from checkout_adapters.sandbox.razorpay_objects import RazorpayObjects
from checkout_adapters.sandbox.signatures import razorpay_signature
from checkout_adapters.system import SystemClock

__all__ = ["Answer", "Browser", "Purchase", "Shop", "browsing", "buy", "buyer_address"]

CART: Final = {
    "sale_slug": "summer2024",
    "products": [{"internship_id": "int_123", "period": {"value": 3, "unit": "month"}}],
    "analytics_data": [{"key": "source", "value": "chaos"}],
}
COUPON: Final = "SAVE20"
_GIVE_UP_AFTER: Final = 120.0
"""Seconds a request keeps being sent again before the buyer gives up."""
_UNREACHABLE_PAUSE: Final = 0.1
_TRY_AGAIN: Final = frozenset({429})
_KEY_IN_PROGRESS: Final = 5003
"""Answers a client sends its request again for, once ``Retry-After`` has passed."""


@frozen
class Answer:
    """One HTTP exchange: when (seconds into the run), with whom, for what, and how it ended."""

    at: float
    process: str
    route: str
    status: int | None
    """The status answered; ``None`` when the process could not be reached."""
    seconds: float


@frozen
class Purchase:
    """What one buyer did, and what the checkout told them."""

    buyer: str
    order_token: str
    coupon_applied: bool
    total: int
    same_order_twice: bool
    """Both requests with the idempotency key answered the same order (or one was told to wait)."""
    paid_at: float
    """Seconds into the run when every webhook of the payment had been acknowledged."""


@define
class Shop:
    """The API processes as a load balancer sees them, and every answer they gave."""

    servers: Sequence[tuple[str, str]]
    """Each API process's name and base URL."""
    started: float
    """``time.monotonic()`` at the start of the run."""
    answers: list[Answer] = field(factory=list, init=False)
    _mutex: threading.Lock = field(factory=threading.Lock, init=False)

    def record(self, process: str, route: str, status: int | None, sent: float) -> None:
        """Keep one exchange, sent at ``sent`` (``time.monotonic()``) and over now."""
        now = time.monotonic()
        answer = Answer(sent - self.started, process, route, status, now - sent)
        with self._mutex:
            self.answers.append(answer)


@frozen
class Browser:
    """One client of the shop, from an address of its own, as buyers come from many."""

    shop: Shop
    client: httpx.Client

    def request(  # noqa: PLR0913 - a request's parts, as httpx takes them
        self,
        method: str,
        path: str,
        *,
        prefer: int,
        route: str,
        json: object = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send to process ``prefer``, or the other one while it cannot be reached.

        A 5xx is recorded (the books count them) and the request sent again
        after ``Retry-After``, as is a 429; the buyer gives up after two minutes.
        """
        servers = self.shop.servers
        deadline = time.monotonic() + _GIVE_UP_AFTER
        index = prefer % len(servers)
        while True:
            name, base = servers[index]
            sent = time.monotonic()
            wait = _UNREACHABLE_PAUSE
            try:
                response = self.client.request(
                    method, base + path, json=json, content=content, headers=headers
                )
            except httpx.TransportError:
                self.shop.record(name, route, None, sent)
                index = (index + 1) % len(servers)
            else:
                self.shop.record(name, route, response.status_code, sent)
                if response.status_code not in _TRY_AGAIN and response.status_code < 500:
                    return response
                wait = float(response.headers.get("Retry-After", "0.2"))
            if time.monotonic() > deadline:
                raise RuntimeError(f"{method} {route} got no answer for {_GIVE_UP_AFTER} s")
            time.sleep(wait)

    def twice(  # noqa: PLR0913 - a request's parts, as httpx takes them
        self,
        method: str,
        path: str,
        *,
        route: str,
        json: object = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> list[httpx.Response]:
        """The same request sent at once to each of the first two processes."""
        answers: list[httpx.Response | BaseException] = [RuntimeError("not sent")] * 2

        def send(index: int) -> None:
            try:
                answers[index] = self.request(
                    method, path, prefer=index, route=route, json=json, content=content,
                    headers=headers,
                )  # fmt: skip
            except BaseException as failure:  # noqa: BLE001 - raised again in the buyer's thread
                answers[index] = failure

        threads = [threading.Thread(target=send, args=(index,)) for index in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        responses = []
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
            responses.append(answer)
        return responses


@contextmanager
def browsing(shop: Shop, address: str) -> Iterator[Browser]:
    """A :class:`Browser` whose connections leave from ``address`` (any ``127.x.y.z`` will do)."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(transport=transport, timeout=30.0) as client:
        yield Browser(shop, client)


def buyer_address(number: int) -> str:
    """The loopback address buyer ``number`` comes from: a different one for each buyer."""
    return f"127.1.{number // 250}.{number % 250 + 1}"


def bearer(user: str, secret: str) -> dict[str, str]:
    """The buyer's ``Authorization`` header: an HS256 token, as the identity provider signs it."""
    now = int(time.time())
    token = jwt.encode({"sub": user, "iat": now, "exp": now + 3600}, secret, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


def razorpay_deliveries(
    provider_order_id: str, amount: int, currency: str, webhook_secret: str
) -> list[tuple[dict[str, str], bytes]]:
    """The webhooks Razorpay sends when the order is paid: headers and raw body of each."""
    objects = RazorpayObjects(SystemClock())
    order: dict[str, Any] = {
        "id": provider_order_id,
        "entity": "order",
        "amount": amount,
        "amount_paid": 0,
        "amount_due": amount,
        "currency": currency,
        "receipt": None,
        "offer_id": None,
        "status": "created",
        "attempts": 0,
        "notes": {},
        "created_at": int(time.time()),
    }
    objects.orders[provider_order_id] = order
    payment, authorized = objects.authorize(order)
    webhooks = [*authorized, *objects.capture(payment)]
    return [
        (
            {
                "Content-Type": "application/json",
                "X-Razorpay-Signature": razorpay_signature(webhook.body, webhook_secret),
                "X-Razorpay-Event-Id": webhook.event_id,
            },
            webhook.body,
        )
        for webhook in webhooks
    ]


def _ok(response: httpx.Response, doing: str) -> dict[str, Any]:
    if response.status_code != 200:
        raise RuntimeError(f"{doing}: {response.status_code} {response.text[:300]}")
    data: dict[str, Any] = response.json()["data"]
    return data


def buy(
    shop: Shop,
    number: int,
    *,
    jwt_secret: str,
    webhook_secret: str,
    with_coupon: bool,
) -> Purchase:
    """One buyer through the paid flow; raises when the checkout refused what it should not.

    The buyer's requests come from an address of the buyer's own; the
    provider's webhooks from the provider's.
    """
    with browsing(shop, buyer_address(number)) as buyer, browsing(shop, "127.0.0.1") as provider:
        return _buy(buyer, provider, number, jwt_secret, webhook_secret, with_coupon=with_coupon)


def _buy(  # noqa: PLR0913 - the buyer's world, passed on
    buyer: Browser,
    provider: Browser,
    number: int,
    jwt_secret: str,
    webhook_secret: str,
    *,
    with_coupon: bool,
) -> Purchase:
    user = f"buyer_{number}"
    headers = bearer(user, jwt_secret)
    first = random.randrange(2)
    second = 1 - first
    created = buyer.request("POST", "/api-proxy/api/cart", prefer=first, route="cart", json=CART)
    cart = _ok(created, "create a cart")["cart"]["cart_token"]
    bound = buyer.request(
        "POST", f"/api/v1/cart/{cart}/auth/check", prefer=second, route="auth", headers=headers
    )
    _ok(bound, "bind the cart")
    body = {"cart_token": cart}
    _ok(
        buyer.request(
            "POST", "/api/v1/cart/estimate", prefer=first, route="estimate", json=body,
            headers=headers,
        ),
        "estimate",
    )  # fmt: skip
    applied = False
    if with_coupon:
        answer = buyer.request(
            "POST", f"/api/v1/cart/{cart}/coupon", prefer=second, route="coupon",
            json={"coupon": COUPON}, headers=headers,
        )  # fmt: skip
        applied = _ok(answer, "apply the coupon")["coupon_applied"]
    order, same = _place_twice(buyer, cart, headers)
    status = buyer.request(
        "GET", f"/api/v1/order/{order['order_token']}", prefer=first, route="order status",
        headers=headers,
    )  # fmt: skip
    _ok(status, "read the order")
    for delivery_headers, delivery in razorpay_deliveries(
        order["provider_order_id"], order["total"], order["currency"], webhook_secret
    ):
        for answer in provider.twice(
            "POST", "/api/v1/webhooks/razorpay", route="webhook", content=delivery,
            headers=delivery_headers,
        ):  # fmt: skip
            _ok(answer, "deliver a webhook")
    return Purchase(
        buyer=user,
        order_token=order["order_token"],
        coupon_applied=applied,
        total=order["total"],
        same_order_twice=same,
        paid_at=time.monotonic() - buyer.shop.started,
    )


def _place_twice(buyer: Browser, cart: str, headers: dict[str, str]) -> tuple[dict[str, Any], bool]:
    """The order placed by two requests at once with one key, and whether they agreed."""
    body = {"cart_token": cart, "idempotency_key": f"chaos-{uuid.uuid4().hex}"}
    answers = buyer.twice("POST", "/api/v1/order", route="order", json=body, headers=headers)
    placed = [
        _ok(answer, "place the order")["order"] for answer in answers if answer.status_code == 200
    ]
    waited = [answer for answer in answers if _in_progress(answer)]
    if len(placed) + len(waited) != len(answers):
        _ok(next(a for a in answers if a.status_code != 200 and not _in_progress(a)), "order")
    deadline = time.monotonic() + _GIVE_UP_AFTER
    while not placed:  # both were told to wait: the first is still placing it
        if time.monotonic() > deadline:
            raise RuntimeError(f"the order of cart {cart} stayed in progress")
        time.sleep(0.2)
        again = buyer.request(
            "POST", "/api/v1/order", prefer=0, route="order", json=body, headers=headers
        )
        if again.status_code == 200:
            placed.append(_ok(again, "place the order")["order"])
        elif not _in_progress(again):
            _ok(again, "place the order")
    same = len({order["order_token"] for order in placed}) == 1
    return placed[0], same


def _in_progress(answer: httpx.Response) -> bool:
    """Whether ``answer`` says another request with the key is still being served (5003)."""
    return answer.status_code == 409 and answer.json()["error"]["code"] == _KEY_IN_PROGRESS
