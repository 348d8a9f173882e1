"""What each Stripe endpoint the sandbox serves takes, read and checked as Stripe would.

A Checkout Session is ``mode=payment`` with ``line_items`` of ``price_data``
(``currency``, ``unit_amount``, ``product_data[name]``) and a ``quantity``;
the sandbox has no Prices, so ``line_items[][price]`` is a missing price. A
refund names a ``payment_intent`` or a ``charge``. Anything else Stripe
would refuse is refused with Stripe's message and ``param``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final, NoReturn

from attrs import frozen

from checkout_adapters.sandbox.forms import FormError, decode_form
from checkout_adapters.sandbox.routing import JsonObject
from checkout_adapters.sandbox.stripe_params import (
    METADATA,
    SCALAR,
    StripeApiError,
    checked,
    integer,
)

__all__ = ["LineItem", "SessionRequest", "expand", "refund_request", "session_request"]

LineItem = tuple[str, int, int, str]
"""A Checkout Session's line: product name, unit amount, quantity, currency."""

_SESSION: Final[dict[str, Any]] = {
    "mode": SCALAR,
    "line_items": [
        {
            "price_data": {
                "currency": SCALAR,
                "unit_amount": SCALAR,
                "tax_behavior": SCALAR,
                "product_data": {
                    "name": SCALAR,
                    "description": SCALAR,
                    "images": [SCALAR],
                    "metadata": METADATA,
                },
            },
            "price": SCALAR,
            "quantity": SCALAR,
        }
    ],
    "success_url": SCALAR,
    "cancel_url": SCALAR,
    "client_reference_id": SCALAR,
    "metadata": METADATA,
    "payment_intent_data": {
        "metadata": METADATA,
        "description": SCALAR,
        "capture_method": SCALAR,
        "receipt_email": SCALAR,
        "statement_descriptor": SCALAR,
        "statement_descriptor_suffix": SCALAR,
    },
    "customer_email": SCALAR,
    "expires_at": SCALAR,
    "locale": SCALAR,
    "payment_method_types": [SCALAR],
    "submit_type": SCALAR,
    "expand": [SCALAR],
}
_REFUND: Final[dict[str, Any]] = {
    "payment_intent": SCALAR,
    "charge": SCALAR,
    "amount": SCALAR,
    "reason": SCALAR,
    "metadata": METADATA,
    "expand": [SCALAR],
}
_EXPAND: Final[dict[str, Any]] = {"expand": [SCALAR]}
_REFUND_REASONS: Final = frozenset({"duplicate", "fraudulent", "requested_by_customer"})
_MAX_CLIENT_REFERENCE: Final = 200
_SESSION_LIFETIME: Final = timedelta(hours=24)
_MIN_SESSION_LIFETIME: Final = timedelta(minutes=30)


@frozen
class SessionRequest:
    """A Checkout Session to make: the checked parameters, the lines, when it expires."""

    params: JsonObject
    lines: tuple[LineItem, ...]
    expires_at: int


def session_request(body: str, now: datetime) -> SessionRequest:
    """The ``POST /v1/checkout/sessions`` body, checked.

    Raises:
        StripeApiError: what Stripe would refuse, or what the sandbox does not emulate.
    """
    params = checked(_form(body), _SESSION)
    if params.get("mode") != "payment":
        raise StripeApiError(
            400, "The sandbox makes Checkout Sessions with mode=payment only.", param="mode"
        )
    for name in ("success_url", "cancel_url"):
        url = params.get(name)
        if url is not None and not url.startswith(("http://", "https://")):
            raise StripeApiError(400, "Not a valid URL", code="url_invalid", param=name)
    reference = params.get("client_reference_id")
    if reference is not None and not 0 < len(reference) <= _MAX_CLIENT_REFERENCE:
        raise StripeApiError(
            400,
            "client_reference_id must be 1 to 200 characters long.",
            param="client_reference_id",
        )
    capture = params.get("payment_intent_data", {}).get("capture_method", "automatic")
    if capture not in {"automatic", "automatic_async"}:
        raise StripeApiError(
            400,
            "The sandbox captures automatically only.",
            param="payment_intent_data[capture_method]",
        )
    return SessionRequest(params, _line_items(params.get("line_items")), _expires_at(params, now))


def refund_request(body: str) -> JsonObject:
    """The ``POST /v1/refunds`` body, checked; the amount is checked against the charge later.

    Raises:
        StripeApiError: what Stripe would refuse.
    """
    params = checked(_form(body), _REFUND)
    if "payment_intent" not in params and "charge" not in params:
        raise StripeApiError(
            400,
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
        )
    if "amount" in params:
        params["amount"] = integer(params["amount"], "amount", minimum=1)
    reason = params.get("reason")
    if reason is not None and reason not in _REFUND_REASONS:
        raise StripeApiError(
            400,
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer",
            param="reason",
        )
    return params


def expand(text: str) -> list[str]:
    """The ``expand`` paths of a body or query that may carry nothing else.

    Raises:
        StripeApiError: another parameter is given.
    """
    paths: list[str] = checked(_form(text), _EXPAND).get("expand", [])
    return paths


def _form(text: str) -> JsonObject:
    try:
        return decode_form(text)
    except FormError as exc:
        raise StripeApiError(400, str(exc), param=exc.param) from None


def _expires_at(params: JsonObject, now: datetime) -> int:
    if "expires_at" not in params:
        return int((now + _SESSION_LIFETIME).timestamp())
    expires_at = integer(params["expires_at"], "expires_at")
    lifetime = timedelta(seconds=expires_at - now.timestamp())
    if not _MIN_SESSION_LIFETIME <= lifetime <= _SESSION_LIFETIME:
        raise StripeApiError(
            400,
            "The `expires_at` timestamp must be between 30 minutes and 24 hours "
            "from Checkout Session creation.",
            param="expires_at",
        )
    return expires_at


def _line_items(value: object) -> tuple[LineItem, ...]:
    if not value or not isinstance(value, list):
        raise StripeApiError(400, "Missing required param: line_items.", param="line_items")
    lines = tuple(
        _line_item(item, f"line_items[{position}]") for position, item in enumerate(value)
    )
    if len({currency for *_, currency in lines}) > 1:
        raise StripeApiError(
            400, "All line items must be in the same currency.", param="line_items"
        )
    return lines


def _line_item(item: JsonObject, param: str) -> LineItem:
    if "price" in item:
        raise StripeApiError(
            400,
            f"No such price: '{item['price']}'",
            code="resource_missing",
            param=f"{param}[price]",
        )
    data = item.get("price_data")
    if data is None:
        _missing(f"{param}[price_data]")
    for required in ("currency", "unit_amount"):
        if required not in data:
            _missing(f"{param}[price_data][{required}]")
    name = data.get("product_data", {}).get("name")
    if not name:
        _missing(f"{param}[price_data][product_data][name]")
    unit_amount = integer(data["unit_amount"], f"{param}[price_data][unit_amount]")
    quantity = integer(item.get("quantity"), f"{param}[quantity]", minimum=1)
    return name, unit_amount, quantity, data["currency"].lower()


def _missing(param: str) -> NoReturn:
    raise StripeApiError(400, f"Missing required param: {param}.", param=param)
