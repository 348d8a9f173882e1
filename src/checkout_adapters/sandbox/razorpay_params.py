"""Razorpay's request bodies, checked as Razorpay checks them, and its error shape.

Razorpay refuses fields it does not expect (``"x is/are not required and
should not be sent"``), amounts that are not integers of at least one
rupee, receipts over 40 characters and more than 15 notes. Every refusal is
a :class:`RazorpayApiError`, answered as
``{"error": {"code", "description", "source", "step", "reason", "metadata", "field"}}``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from checkout_adapters.sandbox.amounts import format_amount
from checkout_adapters.sandbox.routing import ApiRequest, ApiResponse, JsonObject, json_response

__all__ = [
    "CAPTURE_FIELDS",
    "ORDER_FIELDS",
    "REFUND_FIELDS",
    "RazorpayApiError",
    "amount",
    "currency",
    "json_body",
    "notes",
    "receipt",
]

ORDER_FIELDS: Final = frozenset(
    {"amount", "currency", "receipt", "notes", "partial_payment", "payment_capture",
     "first_payment_min_amount"}
)  # fmt: skip
"""What ``POST /v1/orders`` takes."""
REFUND_FIELDS: Final = frozenset({"amount", "speed", "notes", "receipt"})
"""What ``POST /v1/payments/{id}/refund`` takes."""
CAPTURE_FIELDS: Final = frozenset({"amount", "currency"})
"""What ``POST /v1/payments/{id}/capture`` takes."""

_MAX_RECEIPT: Final = 40
_MAX_NOTES: Final = 15
_MAX_NOTE_VALUE: Final = 256
_MIN_AMOUNT: Final = 100
_CURRENCY: Final = re.compile(r"[A-Z]{3}")


class RazorpayApiError(Exception):
    """An answer of Razorpay's error shape, raised inside a handler.

    The SDK raises ``BadRequestError`` for the code ``BAD_REQUEST_ERROR``,
    ``GatewayError`` for ``GATEWAY_ERROR`` and ``ServerError`` otherwise.
    """

    def __init__(
        self,
        status: int,
        description: str,
        *,
        code: str = "BAD_REQUEST_ERROR",
        field: str | None = None,
        reason: str = "input_validation_failed",
    ) -> None:
        super().__init__(description)
        self.status = status
        self.body: JsonObject = {
            "error": {
                "code": code,
                "description": description,
                "source": "business" if status < 500 else "internal",
                "step": "payment_initiation" if status < 500 else None,
                "reason": reason,
                "metadata": {},
                "field": field,
            }
        }

    def response(self) -> ApiResponse:
        """The error as Razorpay answers it."""
        return json_response(self.status, self.body)


def json_body(request: ApiRequest, allowed: frozenset[str]) -> JsonObject:
    """The request's JSON object, holding no field but the ``allowed`` ones."""
    try:
        data = json.loads(request.body) if request.body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise RazorpayApiError(400, "The request body is not valid JSON.") from None
    if data == []:
        data = {}
    if not isinstance(data, dict):
        raise RazorpayApiError(400, "The request body must be a JSON object.")
    extra = sorted(set(data) - allowed)
    if extra:
        raise RazorpayApiError(
            400, f"{', '.join(extra)} is/are not required and should not be sent", field=extra[0]
        )
    return data


def currency(value: object) -> str:
    """An ISO 4217 code in capitals, as Razorpay takes it."""
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise RazorpayApiError(400, "The currency provided is not supported.", field="currency")
    return value


def amount(value: object, currency: str) -> int:
    """An amount in minor units: an integer of at least one unit of ``currency``."""
    if value is None:
        raise RazorpayApiError(400, "The amount field is required.", field="amount")
    if type(value) is not int:
        raise RazorpayApiError(400, "The amount must be an integer.", field="amount")
    if value < _MIN_AMOUNT:
        raise RazorpayApiError(
            400,
            f"The amount must be atleast {format_amount(_MIN_AMOUNT, currency)}",
            field="amount",
        )
    return value


def receipt(value: object) -> str | None:
    """A receipt of at most 40 characters, or none."""
    if value is not None and (not isinstance(value, str) or len(value) > _MAX_RECEIPT):
        raise RazorpayApiError(
            400, "The receipt may not be greater than 40 characters.", field="receipt"
        )
    return value


def notes(value: object) -> dict[str, Any] | list[Any]:
    """Notes: up to 15 keys of short values; none written ``[]``, as Razorpay writes them."""
    if value is None or value == []:
        return []
    if not isinstance(value, dict):
        raise RazorpayApiError(
            400, "The notes must be an object of keys and values.", field="notes"
        )
    if len(value) > _MAX_NOTES:
        raise RazorpayApiError(400, "The notes may not have more than 15 items.", field="notes")
    for note in value.values():
        if not isinstance(note, str | int | float) or len(str(note)) > _MAX_NOTE_VALUE:
            raise RazorpayApiError(
                400, "Each note must be a value of at most 256 characters.", field="notes"
            )
    return dict(value) if value else []
