"""The request bodies the API reads, with the bounds the domain enforces.

Only the fields named here are read: anything else a client sends (a
``price``, a ``total``, a ``status``) is dropped unread, since prices come
from the catalog and never from the client.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from checkout_core.domain.cart import MAX_ANALYTICS_PAIRS, MAX_LINES
from checkout_core.domain.catalog import MAX_PERIOD_VALUE, PeriodUnit
from checkout_core.domain.idempotency import MAX_KEY_LENGTH

__all__ = [
    "MAX_TOKEN_LENGTH",
    "AnalyticsPair",
    "CartRequest",
    "CouponRequest",
    "EstimateRequest",
    "IdempotencyKey",
    "OrderRequest",
    "PeriodRequest",
    "ProductRequest",
    "Token",
]

MAX_TOKEN_LENGTH = 128
"""Far above a cart's or an order's token (a UUID); anything longer names nothing."""

Token = Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_LENGTH)]
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=MAX_KEY_LENGTH)]
_Identifier = Annotated[str, Field(min_length=1, max_length=64)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PeriodRequest(_Body):
    """How long: ``value`` units."""

    value: int = Field(ge=1, le=MAX_PERIOD_VALUE, strict=True)
    unit: PeriodUnit


class ProductRequest(_Body):
    """One internship and the period bought."""

    internship_id: _Identifier
    period: PeriodRequest


class AnalyticsPair(_Body):
    """One analytics value the cart keeps (``source``, ``campaign``...)."""

    key: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    value: str = Field(max_length=256)


class CartRequest(_Body):
    """``POST /api-proxy/api/cart``: what to put in a new cart."""

    sale_slug: _Identifier | None = None
    products: list[ProductRequest] = Field(min_length=1, max_length=MAX_LINES)
    analytics_data: list[AnalyticsPair] = Field(
        default_factory=list, max_length=MAX_ANALYTICS_PAIRS
    )


class EstimateRequest(_Body):
    """``POST /api/v1/cart/estimate``: the cart to price."""

    cart_token: Token


class CouponRequest(_Body):
    """``POST /api/v1/cart/{token}/coupon``: the code to apply."""

    coupon: _Identifier


class OrderRequest(_Body):
    """``POST /api/v1/order``: the cart to order, and the key that makes it happen once.

    The key may come in the ``Idempotency-Key`` header instead.
    """

    cart_token: Token
    idempotency_key: IdempotencyKey | None = None
