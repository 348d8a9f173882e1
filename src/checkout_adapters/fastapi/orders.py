"""The order endpoints' own rules: which idempotency key counts, and an order's status."""

from __future__ import annotations

from checkout_adapters.presenters import Json, present_receipt
from checkout_core.errors import InvalidRequest
from checkout_core.services import OrderReceipt

__all__ = ["order_key", "present_order_status"]


def order_key(header: str | None, body: str | None) -> str:
    """The idempotency key of an order request, from its header or its body.

    Both may be given when they are equal. Two different keys are an
    :class:`~checkout_core.errors.InvalidRequest` rather than an
    ``IdempotencyKeyMismatch``: nothing was stored under either, the request
    is simply ambiguous. No key at all is refused too: without one a retry
    could not be told from a new order.
    """
    if header is not None and body is not None and header != body:
        raise InvalidRequest(
            validation_messages=["The Idempotency-Key header and idempotency_key differ."]
        )
    key = header if header is not None else body
    if key is None:
        raise InvalidRequest(
            validation_messages=["An idempotency key is required: send Idempotency-Key."]
        )
    return key


def present_order_status(receipt: OrderReceipt) -> Json:
    """An order as it stands now: the receipt's fields, its payment, and its enrollments."""
    order = present_receipt(receipt)["order"]
    payment = None
    if receipt.payment_id is not None:
        payment = {
            "provider": receipt.provider,
            "provider_order_id": receipt.provider_ref,
            "status": receipt.payment_status,
            "checkout_url": receipt.checkout_url,
        }
    order |= {"payment": payment, "enrollment_ids": list(receipt.enrollment_ids)}
    return {"order": order}
