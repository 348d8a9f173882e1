"""Stripe's objects as the sandbox keeps them, and the events their changes raise.

Sessions, PaymentIntents, charges, refunds and events live in one map by
id, as JSON objects written the way Stripe writes them. Each change that
Stripe announces returns the :class:`~checkout_adapters.sandbox.webhooks.Webhook`
it raises; the caller publishes them. Callers hold the emulation's lock.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any, Final

from attrs import define, field

from checkout_adapters.sandbox.amounts import format_amount
from checkout_adapters.sandbox.ids import provider_id
from checkout_adapters.sandbox.routing import JsonObject, to_json
from checkout_adapters.sandbox.stripe_params import StripeApiError
from checkout_adapters.sandbox.stripe_requests import LineItem, SessionRequest
from checkout_adapters.sandbox.webhooks import Webhook
from checkout_core.ports import Clock

__all__ = ["StripeObjects"]

_CUSTOMER: Final[JsonObject] = {
    "address": None,
    "email": "buyer@example.com",
    "name": "Zoë Sandbox",
    "phone": None,
    "tax_exempt": "none",
    "tax_ids": [],
}


@define
class StripeObjects:
    """Every Stripe object the sandbox made, by id.

    ``origin`` is the ``request`` of the events raised now: the API call's
    id and idempotency key, or ``None`` when the buyer acts on the pay page.
    """

    clock: Clock
    origin: JsonObject | None = None
    _objects: dict[str, JsonObject] = field(factory=dict, init=False)
    _lines: dict[str, tuple[LineItem, ...]] = field(factory=dict, init=False)
    # The API version each object's events carry: the version its session was made with.
    _versions: dict[str, str] = field(factory=dict, init=False)

    def find(self, kind: str, ident: str) -> JsonObject | None:
        """The object ``ident`` if it is a ``kind`` (``"payment_intent"``), else ``None``."""
        obj = self._objects.get(ident)
        return obj if obj is not None and obj["object"] == kind else None

    def get(self, kind: str, ident: str) -> JsonObject:
        """The object ``ident``, which must exist and be a ``kind``."""
        obj = self.find(kind, ident)
        if obj is None:
            raise LookupError(f"no {kind} {ident!r}")
        return obj

    def line_item_names(self, session_id: str) -> list[str]:
        """The product names of a session's lines."""
        return [name for name, *_ in self._lines[session_id]]

    def create_session(
        self, wanted: SessionRequest, *, api_version: str, pay_url: Callable[[str], str]
    ) -> JsonObject:
        """A new open session and its PaymentIntent."""
        params, lines, expires_at = wanted.params, wanted.lines, wanted.expires_at
        total = sum(unit_amount * quantity for _, unit_amount, quantity, _ in lines)
        currency = lines[0][3]
        intent_data = params.get("payment_intent_data", {})
        intent = self._add(
            {
                "id": provider_id("pi_", 24),
                "object": "payment_intent",
                "amount": total,
                "amount_capturable": 0,
                "amount_received": 0,
                "canceled_at": None,
                "cancellation_reason": None,
                "capture_method": intent_data.get("capture_method", "automatic_async"),
                "client_secret": None,
                "created": self._now(),
                "currency": currency,
                "description": intent_data.get(
                    "description", f"Sandbox payment · {format_amount(total, currency)}"
                ),
                "last_payment_error": None,
                "latest_charge": None,
                "livemode": False,
                "metadata": intent_data.get("metadata", {}),
                "payment_method": None,
                "payment_method_types": ["card"],
                "receipt_email": intent_data.get("receipt_email"),
                "status": "requires_payment_method",
            }
        )
        intent["client_secret"] = f"{intent['id']}_secret_{provider_id('', 25)}"
        ident = provider_id("cs_test_", 58)
        session = self._add(
            {
                "id": ident,
                "object": "checkout.session",
                "amount_subtotal": total,
                "amount_total": total,
                "cancel_url": params.get("cancel_url"),
                "client_reference_id": params.get("client_reference_id"),
                "created": self._now(),
                "currency": currency,
                "custom_text": {"submit": {"message": "Sandbox checkout · no money moves"}},
                "customer": None,
                "customer_details": None,
                "customer_email": params.get("customer_email"),
                "expires_at": expires_at,
                "livemode": False,
                "locale": params.get("locale"),
                "metadata": params.get("metadata", {}),
                "mode": "payment",
                "payment_intent": intent["id"],
                "payment_method_types": ["card"],
                "payment_status": "unpaid",
                "status": "open",
                "success_url": params.get("success_url"),
                "ui_mode": "hosted",
                "url": pay_url(ident),
            }
        )
        self._lines[ident] = lines
        self._versions[ident] = self._versions[intent["id"]] = api_version
        return session

    def complete_session(self, session: JsonObject, *, paid: bool) -> list[Webhook]:
        """The buyer finished the session: ``paid``, or with a delayed payment still processing."""
        session.update(
            status="complete",
            payment_status="paid" if paid else "unpaid",
            customer_details=copy.deepcopy(_CUSTOMER),
        )
        if not paid:
            self._intent(session)["status"] = "processing"
        return [self._event("checkout.session.completed", session)]

    def succeed(self, session: JsonObject, *, asynchronous: bool = False) -> list[Webhook]:
        """The session's payment succeeded: a charge, the intent ``succeeded``."""
        intent = self._intent(session)
        charge = self._charge(intent, succeeded=True)
        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            latest_charge=charge["id"],
            last_payment_error=None,
            payment_method=charge["payment_method"],
        )
        events = []
        if asynchronous:
            session["payment_status"] = "paid"
            events.append(self._event("checkout.session.async_payment_succeeded", session))
        events.append(self._event("payment_intent.succeeded", intent))
        return events

    def decline(
        self,
        session: JsonObject,
        *,
        code: str | None = None,
        decline_code: str | None = None,
        asynchronous: bool = False,
    ) -> list[Webhook]:
        """The session's payment attempt failed: a failed charge, the intent back to square one."""
        intent = self._intent(session)
        charge = self._charge(intent, succeeded=False, code=code or "card_declined")
        error = {
            "type": "card_error",
            "code": charge["failure_code"],
            "decline_code": decline_code or "generic_decline",
            "message": charge["failure_message"],
            "charge": charge["id"],
            "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        }
        intent.update(
            status="requires_payment_method", latest_charge=charge["id"], last_payment_error=error
        )
        events = []
        if asynchronous:
            events.append(self._event("checkout.session.async_payment_failed", session))
        events.append(self._event("payment_intent.payment_failed", intent))
        return events

    def expire_session(self, session: JsonObject) -> list[Webhook]:
        """The session expired unpaid; its intent is canceled."""
        session["status"] = "expired"
        self._intent(session).update(
            status="canceled", canceled_at=self._now(), cancellation_reason="abandoned"
        )
        return [self._event("checkout.session.expired", session)]

    def refund(
        self, charge: JsonObject, amount: int, *, reason: str | None, metadata: dict[str, str]
    ) -> tuple[JsonObject, list[Webhook]]:
        """Refund ``amount`` of a succeeded charge; the refund and ``charge.refunded``."""
        refund = self._add(
            {
                "id": provider_id("re_", 24),
                "object": "refund",
                "amount": amount,
                "balance_transaction": provider_id("txn_", 24),
                "charge": charge["id"],
                "created": self._now(),
                "currency": charge["currency"],
                "metadata": metadata,
                "payment_intent": charge["payment_intent"],
                "reason": reason,
                "receipt_number": None,
                "status": "succeeded",
            }
        )
        self._versions[refund["id"]] = self._versions[charge["id"]]
        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        refunded = charge["amount_refunded"] + amount
        refunds = charge["refunds"]
        refunds["data"].insert(0, copy.deepcopy(refund))
        refunds["total_count"] += 1
        charge.update(amount_refunded=refunded, refunded=refunded == charge["amount"])
        changed = {name: value for name, value in previous.items() if charge[name] != value}
        return refund, [self._event("charge.refunded", charge, previous=changed)]

    def expanded(self, obj: JsonObject, expand: list[str]) -> JsonObject:
        """A copy of ``obj`` with the ids on the ``expand`` paths replaced by their objects.

        Raises:
            StripeApiError: a path does not lead to an expandable id.
        """
        result = copy.deepcopy(obj)
        for position, path in enumerate(expand):
            self._expand(result, path.split("."), f"expand[{position}]", path)
        return result

    def _expand(self, node: JsonObject, parts: list[str], param: str, path: str) -> None:
        name, rest = parts[0], parts[1:]
        value = node.get(name)
        if isinstance(value, str) and value in self._objects:
            value = node[name] = copy.deepcopy(self._objects[value])
        if value is None and name in node:
            return
        if not isinstance(value, dict):
            raise StripeApiError(400, f"This property cannot be expanded ({path}).", param=param)
        if rest:
            self._expand(value, rest, param, path)

    def _charge(
        self, intent: JsonObject, *, succeeded: bool, code: str | None = None
    ) -> JsonObject:
        amount = intent["amount"]
        ident = provider_id("ch_", 24)
        charge = self._add(
            {
                "id": ident,
                "object": "charge",
                "amount": amount,
                "amount_captured": amount if succeeded else 0,
                "amount_refunded": 0,
                "balance_transaction": provider_id("txn_", 24) if succeeded else None,
                "billing_details": {"email": _CUSTOMER["email"], "name": _CUSTOMER["name"]},
                "captured": succeeded,
                "created": self._now(),
                "currency": intent["currency"],
                "description": intent["description"],
                "failure_code": None if succeeded else code,
                "failure_message": None if succeeded else "Your card was declined.",
                "livemode": False,
                "metadata": dict(intent["metadata"]),
                "paid": succeeded,
                "payment_intent": intent["id"],
                "payment_method": provider_id("pm_", 24),
                "refunded": False,
                "refunds": {
                    "object": "list",
                    "data": [],
                    "has_more": False,
                    "total_count": 0,
                    "url": f"/v1/charges/{ident}/refunds",
                },
                "status": "succeeded" if succeeded else "failed",
            }
        )
        self._versions[ident] = self._versions[intent["id"]]
        return charge

    def _event(
        self,
        kind: str,
        obj: JsonObject,
        *,
        previous: dict[str, Any] | None = None,
    ) -> Webhook:
        data: JsonObject = {"object": obj}
        if previous:
            data["previous_attributes"] = previous
        ident = provider_id("evt_", 24)
        event = {
            "id": ident,
            "object": "event",
            "api_version": self._versions[obj["id"]],
            "created": self._now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": self.origin or {"id": None, "idempotency_key": None},
            "type": kind,
        }
        body = to_json(event, indent=2)
        # The stored event is a snapshot: the objects in it go on changing.
        self._objects[ident] = json.loads(body)
        return Webhook("stripe", ident, kind, body)

    def _intent(self, session: JsonObject) -> JsonObject:
        return self.get("payment_intent", session["payment_intent"])

    def _add(self, obj: JsonObject) -> JsonObject:
        self._objects[obj["id"]] = obj
        return obj

    def _now(self) -> int:
        return int(self.clock.now().timestamp())
