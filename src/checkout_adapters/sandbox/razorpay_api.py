"""Razorpay's REST API as the razorpay SDK calls it: orders, payments, refunds.

Every call is authenticated with HTTP basic auth (key id, key secret) and
answered as Razorpay answers: entities as JSON, errors in Razorpay's shape
(see :mod:`checkout_adapters.sandbox.razorpay_params`). Unknown ids answer
400, as Razorpay's do.

Razorpay's quirks are kept, since an adapter must cope with them: empty
``notes`` are written ``[]``, not ``{}``; a collection lists newest first; a
partly refunded payment stays ``captured`` with ``refund_status`` ``partial``.

A payment is made on the pay page (or with :meth:`RazorpayEmulator.complete`):
it is authorized and captured at once, raising ``payment.authorized``,
``payment.captured`` and ``order.paid``, unless asked to stop at authorized,
when ``POST /v1/payments/{id}/capture`` captures it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from attrs import define, field

from checkout_adapters.sandbox.amounts import format_amount
from checkout_adapters.sandbox.errors import NotPayable, UnknownReference
from checkout_adapters.sandbox.faults import InjectedFailure
from checkout_adapters.sandbox.pay_page import PaySummary
from checkout_adapters.sandbox.razorpay_objects import RazorpayObjects
from checkout_adapters.sandbox.razorpay_params import (
    CAPTURE_FIELDS,
    ORDER_FIELDS,
    REFUND_FIELDS,
    RazorpayApiError,
    amount,
    currency,
    json_body,
    notes,
    receipt,
)
from checkout_adapters.sandbox.routing import (
    ApiRequest,
    ApiResponse,
    JsonObject,
    Route,
    dispatch,
    json_response,
)
from checkout_adapters.sandbox.signatures import hmac_sha256_hex, razorpay_signature
from checkout_adapters.sandbox.webhooks import Webhook
from checkout_core.ports import Clock

__all__ = ["RAZORPAY", "RazorpayEmulator"]

RAZORPAY: Final = "razorpay"
"""The provider's name, as webhooks and the pay page carry it."""


@define
class RazorpayEmulator:
    """Razorpay's orders, payments and refunds, in memory, behind its HTTP API.

    ``publish`` queues the webhooks one action raises; the emulation calls it
    while it holds its lock, so events leave in the order the state changed.
    """

    key_id: str
    key_secret: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    publish: Callable[[Sequence[Webhook]], None]
    clock: Clock
    _objects: RazorpayObjects = field(init=False, repr=False)
    _lock: threading.RLock = field(factory=threading.RLock, init=False, repr=False)
    # Refund ids by the X-Refund-Idempotency key they were made under: a
    # repeated key answers the refund it made, as Razorpay does.
    _refunds_by_key: dict[str, str] = field(factory=dict, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._objects = RazorpayObjects(self.clock)

    def routes(self) -> list[Route]:
        """The API's routes under ``/v1``."""
        ident = r"(?P<id>[A-Za-z0-9_]+)"
        return [
            Route("POST", "/v1/orders", self._create_order),
            Route("GET", f"/v1/orders/{ident}", self._fetch("orders")),
            Route("GET", f"/v1/orders/{ident}/payments", self._order_payments),
            Route("GET", f"/v1/payments/{ident}", self._fetch("payments")),
            Route("POST", f"/v1/payments/{ident}/capture", self._capture),
            Route("POST", f"/v1/payments/{ident}/refund", self._refund),
            Route("GET", f"/v1/refunds/{ident}", self._fetch("refunds")),
        ]

    def handle(self, request: ApiRequest) -> ApiResponse:
        """Answer one API call: check the credentials, then route it."""
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal.response()
        try:
            with self._lock:
                response = dispatch(self.routes(), request)
        except RazorpayApiError as exc:
            return exc.response()
        if response is None:
            return RazorpayApiError(
                404, "The requested URL was not found on the server."
            ).response()
        return response

    def failure(self, injected: InjectedFailure) -> ApiResponse:
        """The answer to a call the faults say must fail with a 5xx."""
        return RazorpayApiError(
            injected.status,
            "The server encountered an error. The incident has been reported to admins.",
            code="GATEWAY_ERROR" if injected.status in {502, 504} else "SERVER_ERROR",
            reason="server_error",
        ).response()

    def sign(self, webhook: Webhook) -> dict[str, str]:
        """The headers of one delivery of ``webhook``, as Razorpay sends them."""
        return {
            "Content-Type": "application/json",
            "User-Agent": "Razorpay-Webhook/v1",
            "X-Razorpay-Signature": razorpay_signature(webhook.body, self.webhook_secret),
            "x-razorpay-event-id": webhook.event_id,
        }

    # The pay page's side: see checkout_adapters.sandbox.pay_page.Payable.

    def summary(self, ref: str) -> PaySummary:
        """What the pay page shows of the order ``ref``."""
        with self._lock:
            order = self._order(ref)
            return PaySummary(
                provider=RAZORPAY,
                ref=ref,
                amount=order["amount_due"],
                currency=order["currency"],
                title=f"Order {order['receipt'] or ref}",
                status=order["status"],
                payable=order["status"] != "paid",
            )

    def complete(self, ref: str, *, capture: bool = True) -> JsonObject:
        """Pay the order ``ref``: a payment authorized and, unless told not to, captured.

        Answers what Razorpay Checkout hands the browser: the payment id, the
        order id and their signature under the key secret.
        """
        with self._lock:
            order = self._payable_order(ref)
            if any(p["status"] == "authorized" for p in self._objects.payments_of(ref)):
                raise NotPayable(f"order {ref} has an authorized payment awaiting capture")
            payment, events = self._objects.authorize(order)
            if capture:
                events += self._objects.capture(payment)
            self.publish(events)
            signature = hmac_sha256_hex(self.key_secret, f"{ref}|{payment['id']}".encode())
            fields = {
                "razorpay_payment_id": payment["id"],
                "razorpay_order_id": ref,
                "razorpay_signature": signature,
            }
            return {"status": order["status"], **fields, "callback_fields": fields}

    def fail(self, ref: str, *, code: str | None = None, reason: str | None = None) -> JsonObject:
        """Fail a payment attempt on the order ``ref``: a failed payment and ``payment.failed``."""
        with self._lock:
            order = self._payable_order(ref)
            error = {
                "code": code or "BAD_REQUEST_ERROR",
                "description": "Payment failed in the sandbox.",
                "source": "bank",
                "step": "payment_authorization",
                "reason": reason or "payment_failed",
            }
            payment, events = self._objects.fail(order, error)
            self.publish(events)
            metadata = {"payment_id": payment["id"], "order_id": ref}
            # What Razorpay Checkout posts to a callback_url when a payment fails.
            fields = {f"error[{name}]": value for name, value in error.items()}
            fields["error[metadata]"] = json.dumps(metadata)
            return {
                "status": "failed",
                "error": {**error, "metadata": metadata},
                "callback_fields": fields,
            }

    # The API's handlers, called with the lock held.

    def _create_order(self, request: ApiRequest, _path: Mapping[str, str]) -> ApiResponse:
        data = json_body(request, ORDER_FIELDS)
        code = currency(data.get("currency"))
        value = amount(data.get("amount"), code)
        if not isinstance(data.get("partial_payment", False), bool):
            raise RazorpayApiError(
                400, "The partial payment field must be true or false.", field="partial_payment"
            )
        order = self._objects.add_order(
            value, code, receipt(data.get("receipt")), notes(data.get("notes"))
        )
        return json_response(200, order)

    def _fetch(self, kind: str) -> Callable[[ApiRequest, Mapping[str, str]], ApiResponse]:
        entities: dict[str, JsonObject] = getattr(self._objects, kind)

        def fetch(_request: ApiRequest, path: Mapping[str, str]) -> ApiResponse:
            return json_response(200, _known(entities, path["id"]))

        return fetch

    def _order_payments(self, _request: ApiRequest, path: Mapping[str, str]) -> ApiResponse:
        _known(self._objects.orders, path["id"])
        items = list(reversed(self._objects.payments_of(path["id"])))
        return json_response(200, {"entity": "collection", "count": len(items), "items": items})

    def _capture(self, request: ApiRequest, path: Mapping[str, str]) -> ApiResponse:
        data = json_body(request, CAPTURE_FIELDS)
        payment = _known(self._objects.payments, path["id"])
        if payment["captured"]:
            raise RazorpayApiError(400, "This payment has already been captured", field="id")
        if payment["status"] != "authorized":
            raise RazorpayApiError(
                400, "Only payments which have been authorized can be captured", field="id"
            )
        if amount(data.get("amount"), payment["currency"]) != payment["amount"]:
            raise RazorpayApiError(
                400, "Capture amount must be equal to the amount authorized", field="amount"
            )
        if data.get("currency", payment["currency"]) != payment["currency"]:
            raise RazorpayApiError(
                400, "The currency should be the same as the payment's", field="currency"
            )
        self.publish(self._objects.capture(payment))
        return json_response(200, payment)

    def _refund(self, request: ApiRequest, path: Mapping[str, str]) -> ApiResponse:
        data = json_body(request, REFUND_FIELDS)
        key = request.header("X-Refund-Idempotency")
        if key is not None and key in self._refunds_by_key:
            return json_response(200, self._objects.refunds[self._refunds_by_key[key]])
        payment = _known(self._objects.payments, path["id"])
        if payment["status"] == "refunded":
            raise RazorpayApiError(400, "The payment has been fully refunded already", field="id")
        if payment["status"] != "captured":
            raise RazorpayApiError(400, "Only captured payments can be refunded", field="id")
        remaining = payment["amount"] - payment["amount_refunded"]
        value = amount(data.get("amount", remaining), payment["currency"])
        if value > remaining:
            raise RazorpayApiError(
                400,
                "The refund amount provided is greater than the amount not yet refunded, "
                f"{format_amount(remaining, payment['currency'])}.",
                field="amount",
            )
        speed = data.get("speed", "normal")
        if speed not in {"normal", "optimum"}:
            raise RazorpayApiError(400, "The speed must be normal or optimum.", field="speed")
        refund, events = self._objects.refund(
            payment, value, speed=speed, notes=notes(data.get("notes")), receipt=data.get("receipt")
        )
        if key is not None:
            self._refunds_by_key[key] = refund["id"]
        self.publish(events)
        return json_response(200, refund)

    # State, with the lock held.

    def _order(self, ref: str) -> JsonObject:
        order = self._objects.orders.get(ref)
        if order is None:
            raise UnknownReference(f"no Razorpay order {ref!r} in the sandbox")
        return order

    def _payable_order(self, ref: str) -> JsonObject:
        order = self._order(ref)
        if order["status"] == "paid":
            raise NotPayable(f"order {ref} is paid already")
        return order

    def _refusal(self, request: ApiRequest) -> RazorpayApiError | None:
        header = request.header("authorization") or ""
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return RazorpayApiError(
                401, "Please provide your api key for authentication purposes.", reason="NA"
            )
        try:
            key_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            key_id, secret = "", ""
        if not (
            hmac.compare_digest(key_id.encode(), self.key_id.encode())
            and hmac.compare_digest(secret.encode(), self.key_secret.encode())
        ):
            return RazorpayApiError(401, "The api key provided is invalid", reason="NA")
        return None


def _known(entities: dict[str, JsonObject], ident: str) -> JsonObject:
    entity = entities.get(ident)
    if entity is None:
        raise RazorpayApiError(400, "The id provided does not exist", field="id")
    return entity
