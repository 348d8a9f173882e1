"""The shapes of the API's answers, for the OpenAPI document.

The endpoints answer with the presenters' dicts directly; these models only
describe them, so that a client (or a schema-driven test) knows every field
and every status an endpoint can answer with.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel

__all__ = [
    "AuthCheckData",
    "CartData",
    "CouponData",
    "Envelope",
    "ErrorEnvelope",
    "EstimateData",
    "HealthData",
    "InternshipsData",
    "OrderData",
    "OrderStatusData",
    "WebhookData",
]

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    """The seed's success envelope."""

    status: int
    success: Literal[True]
    data: T
    correlation_id: str | None


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, its fixed message, and what a form shows."""

    code: int
    message: str
    validation_messages: list[str]


class ErrorEnvelope(BaseModel):
    """The seed's error envelope."""

    status: int
    success: Literal[False]
    error: ErrorDetail
    correlation_id: str | None


class Plan(BaseModel):
    """One way to buy an offering: a price per period unit, within bounds."""

    unit: str
    unit_price: int
    min_value: int
    max_value: int


class Offering(BaseModel):
    """An internship on sale."""

    internship_id: str
    title: str
    currency_code: str
    free: bool
    plans: list[Plan]


class InternshipsData(BaseModel):
    """Every internship on sale."""

    internships: list[Offering]


class CartSummary(BaseModel):
    """A new cart: its token, where it is paid, and when it expires."""

    cart_token: str
    cart_url: str | None
    expires_at: datetime


class CartData(BaseModel):
    """The answer to creating a cart."""

    cart: CartSummary


class AuthCheckData(BaseModel):
    """Whether the caller is signed in, and as whom."""

    authenticated: bool
    user_id: str | None = None


class PeriodData(BaseModel):
    """A period: how many of which unit."""

    value: int
    unit: str


class EstimateItem(BaseModel):
    """One line of an estimate, in minor units."""

    internship_id: str
    period: PeriodData
    base_price: int
    discount: int
    sub_total: int
    tax_total: int
    total: int
    discount_percentage: int


class DiscountData(BaseModel):
    """A discount considered for the cart: applied, or why not."""

    kind: str
    name: str
    applied: bool
    amount: int
    reason: str
    internship_ids: list[str]
    error_code: int | None


class EstimateData(BaseModel):
    """A cart's estimate, in minor units of ``currency_code``."""

    currency_code: str
    tax_rate: int | str
    base_price: int
    sub_total: int
    total: int
    tax_total: int
    discount_amount: int
    discount_percentage: int
    coupon_code: str | None
    items: list[EstimateItem]
    discounts: list[DiscountData]


class CouponData(BaseModel):
    """A coupon applied: how much the total fell, and the new total."""

    coupon_applied: bool
    coupon_code: str
    currency_code: str
    discount_amount: int
    new_total: int


class OrderSummary(BaseModel):
    """An order as placed: amounts in minor units, how to pay, or its enrollments."""

    order_token: str
    status: str
    currency: str
    subtotal: int
    total: int
    tax_amount: int
    discount_amount: int
    payment_token: str | None = None
    provider: str | None = None
    provider_order_id: str | None = None
    checkout_url: str | None = None
    enrollment_id: str | None = None
    enrollment_ids: list[str] | None = None


class OrderData(BaseModel):
    """The answer to placing an order."""

    order: OrderSummary


class PaymentData(BaseModel):
    """An order's payment at its provider."""

    provider: str | None
    provider_order_id: str | None
    status: str | None
    checkout_url: str | None


class OrderStatusSummary(OrderSummary):
    """An order as it stands now, with its payment and enrollments."""

    payment: PaymentData | None


class OrderStatusData(BaseModel):
    """The answer to reading an order."""

    order: OrderStatusSummary


class WebhookData(BaseModel):
    """What a verified delivery did."""

    provider: str
    event_id: str
    type: str
    outcome: str
    duplicate: bool


class HealthData(BaseModel):
    """Whether the process serves, and how each readiness check stands."""

    status: str
    checks: dict[str, bool]


_DESCRIPTIONS = {
    400: "The request could not be verified.",
    401: "A bearer token is needed, or the one given is not valid.",
    403: "The cart belongs to another user.",
    404: "Not found.",
    409: "The request conflicts with the state of the cart or the order.",
    410: "The cart has expired.",
    413: "The request body is too large.",
    422: "The request is invalid.",
    429: "Too many attempts; Retry-After says when to try again.",
    500: "An unexpected fault; nothing about it is disclosed.",
    503: "Payments, or a service the checkout needs, are temporarily unavailable.",
}

ALWAYS = (422, 500, 503)
"""What any endpoint may answer: a request it cannot read, a fault, and a passing fault."""


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """The OpenAPI ``responses`` of the error envelope for ``statuses`` (and :data:`ALWAYS`)."""
    return {
        status: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[status]}
        for status in sorted({*statuses, *ALWAYS})
    }
