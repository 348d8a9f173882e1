"""The seed's JSON shapes: estimates, coupon results and the error envelope.

Amounts are integers of the minor unit beside ``currency_code``. The field
names are the seed's (``sub_total``, ``tax_total``, ``internship_id``...), so a
client written against the seed reads these unchanged.
"""

from __future__ import annotations

from typing import Any

from checkout_core.domain.pricing import DiscountNote, Estimate, EstimateLine
from checkout_core.errors import CheckoutError

__all__ = ["present_coupon_result", "present_error", "present_estimate", "success"]

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


def present_coupon_result(before: Estimate, after: Estimate) -> Json:
    """What applying a coupon did, as the seed's coupon endpoint answers it.

    ``discount_amount`` is how much the total fell, tax included.
    """
    return {
        "coupon_applied": after.coupon_applied,
        "coupon_code": after.coupon_code,
        "currency_code": after.currency.code,
        "discount_amount": before.total - after.total,
        "new_total": after.total,
    }
