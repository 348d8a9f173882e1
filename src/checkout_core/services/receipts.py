"""The answer to placing an order, as stored under its idempotency key and replayed."""

from __future__ import annotations

import json
from collections.abc import Sequence

from attrs import asdict, frozen

from checkout_core.domain.enrollments import Enrollment
from checkout_core.domain.orders import Order
from checkout_core.domain.payments import Payment

__all__ = ["OrderPlaced", "OrderReceipt", "decode_receipt", "encode_receipt", "receipt_of"]


@frozen
class OrderReceipt:
    """What a buyer is told about an order they placed: amounts in minor units, and how to pay.

    ``payment_status`` is where the payment stood when the receipt was made;
    receipts stored before it existed decode with ``None``.
    """

    order_token: str
    status: str
    currency: str
    sub_total: int
    discount_amount: int
    tax_total: int
    total: int
    payment_id: str | None
    provider: str | None
    provider_ref: str | None
    checkout_url: str | None
    enrollment_ids: tuple[str, ...]
    payment_status: str | None = None


@frozen
class OrderPlaced:
    """The result of ``create_from_cart``: the receipt, and whether it was a stored answer."""

    receipt: OrderReceipt
    replayed: bool


def receipt_of(
    order: Order, payment: Payment | None, enrollments: Sequence[Enrollment] = ()
) -> OrderReceipt:
    """The receipt for ``order`` as it stands, with its payment and enrollments."""
    pricing = order.pricing
    return OrderReceipt(
        order_token=order.token,
        status=str(order.status),
        currency=order.currency.code,
        sub_total=pricing.sub_total,
        discount_amount=pricing.discount_amount,
        tax_total=pricing.tax_total,
        total=pricing.total,
        payment_id=payment.id if payment else None,
        provider=payment.provider if payment else None,
        provider_ref=payment.provider_ref if payment else None,
        checkout_url=payment.checkout_url if payment else None,
        enrollment_ids=tuple(enrollment.id for enrollment in enrollments),
        payment_status=str(payment.status) if payment else None,
    )


def encode_receipt(receipt: OrderReceipt) -> str:
    """The receipt as the JSON text stored under the idempotency key."""
    return json.dumps(asdict(receipt), sort_keys=True, separators=(",", ":"))


def decode_receipt(text: str) -> OrderReceipt:
    """The receipt stored as ``text`` by :func:`encode_receipt`."""
    stored = json.loads(text)
    return OrderReceipt(
        order_token=stored["order_token"],
        status=stored["status"],
        currency=stored["currency"],
        sub_total=stored["sub_total"],
        discount_amount=stored["discount_amount"],
        tax_total=stored["tax_total"],
        total=stored["total"],
        payment_id=stored["payment_id"],
        provider=stored["provider"],
        provider_ref=stored["provider_ref"],
        checkout_url=stored["checkout_url"],
        enrollment_ids=tuple(stored["enrollment_ids"]),
        payment_status=stored.get("payment_status"),
    )
