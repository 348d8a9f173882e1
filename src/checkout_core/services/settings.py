"""How a host configures the checkout's behaviour, and the ports it plugs in."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from attrs import field, frozen

from checkout_core.domain.cart import DEFAULT_CART_TTL
from checkout_core.domain.idempotency import DEFAULT_LEASE, DEFAULT_TTL
from checkout_core.domain.limits import RateLimit
from checkout_core.domain.tax import TaxPolicy
from checkout_core.ports import (
    AlertSink,
    AnalyticsTracker,
    CartCache,
    Clock,
    IdempotencyCache,
    IdGenerator,
    NotificationSender,
    PaymentGateway,
    RateLimiter,
    UnitOfWorkFactory,
)

__all__ = ["CheckoutPorts", "CheckoutSettings"]


_MINUTE: Final = timedelta(minutes=1)
# Enough for a buyer mistyping a code; too few to guess codes by trying them.
_COUPONS_PER_CART: Final = RateLimit("coupon-per-cart", 10, _MINUTE)
_COUPONS_PER_USER: Final = RateLimit("coupon-per-user", 20, _MINUTE)
_COUPONS_PER_CLIENT: Final = RateLimit("coupon-per-client", 30, _MINUTE)
_ORDERS_PER_USER: Final = RateLimit("orders-per-user", 10, _MINUTE)


@frozen
class CheckoutSettings:
    """The checkout's rules that a host may set.

    ``cart_retention`` is how long an expired or ordered cart is kept before
    cleanup deletes it. The rate limits apply when the host configures a
    :class:`~checkout_core.ports.RateLimiter`.
    """

    tax: TaxPolicy = field(factory=TaxPolicy)
    cart_ttl: timedelta = DEFAULT_CART_TTL
    cart_retention: timedelta = timedelta(days=30)
    idempotency_ttl: timedelta = DEFAULT_TTL
    idempotency_lease: timedelta = DEFAULT_LEASE
    coupon_attempts_per_cart: RateLimit = _COUPONS_PER_CART
    coupon_attempts_per_user: RateLimit = _COUPONS_PER_USER
    coupon_attempts_per_client: RateLimit = _COUPONS_PER_CLIENT
    orders_per_user: RateLimit = _ORDERS_PER_USER


@frozen
class CheckoutPorts:
    """The adapters a host plugs into the checkout: one per port it uses."""

    unit_of_work: UnitOfWorkFactory
    gateway: PaymentGateway
    clock: Clock
    ids: IdGenerator
    notifications: NotificationSender
    analytics: AnalyticsTracker
    alerts: AlertSink
    cart_cache: CartCache | None = None
    rate_limiter: RateLimiter | None = None
    idempotency_cache: IdempotencyCache | None = None
