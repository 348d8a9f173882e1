"""Razorpay's entities as the sandbox keeps them, and the events their changes raise.

Orders, payments and refunds are JSON objects written the way Razorpay
writes them. Each change Razorpay announces returns the
:class:`~checkout_adapters.sandbox.webhooks.Webhook` it raises, the event
envelope serialised once as compact JSON; the caller publishes them.
Callers hold the emulation's lock.
"""

from __future__ import annotations

from typing import Any, Final

from attrs import define, field

from checkout_adapters.sandbox.amounts import format_amount
from checkout_adapters.sandbox.ids import provider_id
from checkout_adapters.sandbox.routing import JsonObject, to_json
from checkout_adapters.sandbox.webhooks import Webhook
from checkout_core.ports import Clock

__all__ = ["RAZORPAY_ACCOUNT_ID", "RazorpayObjects"]

RAZORPAY_ACCOUNT_ID: Final = "acc_sandbox"
"""The ``account_id`` of every Razorpay event the sandbox raises."""


@define
class RazorpayObjects:
    """Every Razorpay order, payment and refund the sandbox made, by id."""

    clock: Clock
    orders: dict[str, JsonObject] = field(factory=dict, init=False)
    payments: dict[str, JsonObject] = field(factory=dict, init=False)
    refunds: dict[str, JsonObject] = field(factory=dict, init=False)

    def add_order(
        self, amount: int, currency: str, receipt: str | None, notes: dict[str, Any] | list[Any]
    ) -> JsonObject:
        """A new order, ``created``."""
        order: JsonObject = {
            "id": provider_id("order_", 14),
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": currency,
            "receipt": receipt,
            "offer_id": None,
            "status": "created",
            "attempts": 0,
            "notes": notes,
            "created_at": self._now(),
        }
        self.orders[order["id"]] = order
        return order

    def payments_of(self, order_id: str) -> list[JsonObject]:
        """An order's payments, oldest first."""
        return [p for p in self.payments.values() if p["order_id"] == order_id]

    def authorize(self, order: JsonObject) -> tuple[JsonObject, list[Webhook]]:
        """A payment of what the order owes, authorized: ``payment.authorized``."""
        payment = self._new_payment(order, status="authorized")
        order.update(status="attempted", attempts=order["attempts"] + 1)
        return payment, [self._event("payment.authorized", payment=payment)]

    def capture(self, payment: JsonObject) -> list[Webhook]:
        """Capture an authorized payment, paying its order: ``payment.captured``, ``order.paid``."""
        order = self.orders[payment["order_id"]]
        fee = payment["amount"] * 2 // 100
        payment.update(status="captured", captured=True, fee=fee, tax=fee * 18 // 100)
        order.update(
            status="paid",
            amount_paid=order["amount_paid"] + payment["amount"],
            amount_due=order["amount_due"] - payment["amount"],
        )
        return [
            self._event("payment.captured", payment=payment),
            self._event("order.paid", payment=payment, order=order),
        ]

    def fail(self, order: JsonObject, error: dict[str, str]) -> tuple[JsonObject, list[Webhook]]:
        """A failed payment attempt on the order: ``payment.failed``.

        ``error`` has the ``code``, ``description``, ``source``, ``step`` and
        ``reason`` the payment's ``error_*`` fields take.
        """
        payment = self._new_payment(order, status="failed")
        payment.update({f"error_{name}": value for name, value in error.items()})
        order.update(status="attempted", attempts=order["attempts"] + 1)
        return payment, [self._event("payment.failed", payment=payment)]

    def refund(
        self,
        payment: JsonObject,
        amount: int,
        *,
        speed: str,
        notes: dict[str, Any] | list[Any],
        receipt: object,
    ) -> tuple[JsonObject, list[Webhook]]:
        """Refund ``amount`` of a captured payment at once: ``refund.processed``."""
        refund: JsonObject = {
            "id": provider_id("rfnd_", 14),
            "entity": "refund",
            "amount": amount,
            "currency": payment["currency"],
            "payment_id": payment["id"],
            "notes": notes,
            "receipt": receipt,
            "acquirer_data": {"arn": None},
            "created_at": self._now(),
            "batch_id": None,
            "status": "processed",
            "speed_processed": "normal",
            "speed_requested": speed,
        }
        self.refunds[refund["id"]] = refund
        refunded = payment["amount_refunded"] + amount
        full = refunded == payment["amount"]
        # A partly refunded payment stays captured, as at Razorpay.
        payment.update(
            amount_refunded=refunded,
            refund_status="full" if full else "partial",
            status="refunded" if full else "captured",
        )
        return refund, [self._event("refund.processed", refund=refund, payment=payment)]

    def _new_payment(self, order: JsonObject, *, status: str) -> JsonObject:
        amount = order["amount_due"]
        notes = order["notes"]
        payment: JsonObject = {
            "id": provider_id("pay_", 14),
            "entity": "payment",
            "amount": amount,
            "currency": order["currency"],
            "status": status,
            "order_id": order["id"],
            "invoice_id": None,
            "international": False,
            "method": "card",
            "amount_refunded": 0,
            "refund_status": None,
            "captured": False,
            # Non-ASCII on purpose: a receiver that re-serialises the body breaks the signature.
            "description": f"Sandbox payment · {format_amount(amount, order['currency'])}",
            "card_id": provider_id("card_", 14),
            "bank": None,
            "wallet": None,
            "vpa": None,
            "email": "buyer@example.com",
            "contact": "+919900000000",
            "notes": dict(notes) if isinstance(notes, dict) else [],
            "fee": None,
            "tax": None,
            "error_code": None,
            "error_description": None,
            "error_source": None,
            "error_step": None,
            "error_reason": None,
            "acquirer_data": {"auth_code": "123456"},
            "created_at": self._now(),
        }
        self.payments[payment["id"]] = payment
        return payment

    def _event(self, event: str, **entities: JsonObject) -> Webhook:
        envelope = {
            "entity": "event",
            "account_id": RAZORPAY_ACCOUNT_ID,
            "event": event,
            "contains": list(entities),
            "payload": {name: {"entity": entity} for name, entity in entities.items()},
            "created_at": self._now(),
        }
        # The body is serialised now: later changes to the entities do not reach it.
        return Webhook("razorpay", provider_id("", 14), event, to_json(envelope))

    def _now(self) -> int:
        return int(self.clock.now().timestamp())
