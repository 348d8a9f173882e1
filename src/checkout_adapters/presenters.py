"""The seed's JSON shapes: estimates, coupon results and the error envelope.

Amounts are integers of the minor unit beside ``currency_code``. The field
names are the seed's (``sub_total``, ``tax_total``, ``internship_id``...), so a
client written against the seed reads these unchanged.
"""

from __future__ import annotations

from typing import Any

from checkout_core.domain.catalog import Offering
from checkout_core.domain.pricing import DiscountNote, Estimate, EstimateLine
from checkout_core.errors import CheckoutError
from checkout_core.services import CouponApplied, OrderReceipt

__all__ = [
    "present_coupon_result",
    "present_error",
    "present_estimate",
    "present_offering",
    "present_receipt",
    "success",
]

Json = dict[str, Any]


def success(data: Json, status: int = 200) -> Json:
    """The seed's success envelope around ``data``."""
    return {"status": status, "success": True, "data": data}


def present_error(error: CheckoutError) -> Json:
    """The seed's error envelope for ``error``, with its stable code."""
    return {
        "status": error.http_status,
        "success": False,
        "error": {
            "code": error.code,
            "message": error.message,
            "validation_messages": list(error.validation_messages),
        },
    }


def _line(line: EstimateLine) -> Json:
    return {
        "internship_id": line.offering_id,
        "period": {"value": line.period.value, "unit": str(line.period.unit)},
        "base_price": line.base_price,
        "discount": line.discount,
        "sub_total": line.subtotal,
        "tax_total": line.tax,
        "total": line.total,
        "discount_percentage": line.discount_percentage,
    }


def _note(note: DiscountNote) -> Json:
    return {
        "kind": str(note.kind),
        "name": note.name,
        "applied": note.applied,
        "amount": note.amount,
        "reason": note.reason,
        "internship_ids": list(note.offering_ids),
        "error_code": note.error_code,
    }


def present_estimate(estimate: Estimate) -> Json:
    """An estimate as the seed's ``POST /api/v1/cart/estimate`` answers it."""
    return {
        "currency_code": estimate.currency.code,
        "tax_rate": int(estimate.tax_rate.as_percent)
        if estimate.tax_rate.ppm % 10_000 == 0
        else str(estimate.tax_rate.as_percent),
        "base_price": estimate.base_price,
        "sub_total": estimate.sub_total,
        "total": estimate.total,
        "tax_total": estimate.tax_total,
        "discount_amount": estimate.discount_amount,
        "discount_percentage": estimate.discount_percentage,
        "coupon_code": estimate.coupon_code,
        "items": [_line(line) for line in estimate.lines],
        "discounts": [_note(note) for note in estimate.notes],
    }


def present_coupon_result(applied: CouponApplied) -> Json:
    """What applying a coupon did, as the seed's coupon endpoint answers it.

    ``discount_amount`` is how much the total fell, tax included.
    """
    return {
        "coupon_applied": True,
        "coupon_code": applied.code,
        "currency_code": applied.estimate.currency.code,
        "discount_amount": applied.reduction,
        "new_total": applied.estimate.total,
    }


def present_offering(offering: Offering) -> Json:
    """An offering as ``GET /api/v1/internships`` lists it: its plans in minor units."""
    return {
        "internship_id": offering.id,
        "title": offering.title,
        "currency_code": offering.currency.code,
        "free": offering.is_free,
        "plans": [
            {
                "unit": str(plan.unit),
                "unit_price": plan.unit_price,
                "min_value": plan.min_value,
                "max_value": plan.max_value,
            }
            for plan in offering.plans
        ],
    }


def present_receipt(receipt: OrderReceipt) -> Json:
    """An order as the seed's ``POST /api/v1/order`` answers it, amounts in minor units."""
    order: Json = {
        "order_token": receipt.order_token,
        "status": receipt.status,
        "currency": receipt.currency,
        "subtotal": receipt.sub_total,
        "total": receipt.total,
        "tax_amount": receipt.tax_total,
        "discount_amount": receipt.discount_amount,
    }
    if receipt.payment_id is not None:
        order |= {
            "payment_token": receipt.payment_id,
            "provider": receipt.provider,
            "provider_order_id": receipt.provider_ref,
            "checkout_url": receipt.checkout_url,
        }
    if receipt.enrollment_ids:
        order["enrollment_id"] = receipt.enrollment_ids[0]
        order["enrollment_ids"] = list(receipt.enrollment_ids)
    return {"order": order}
