"""How a host configures the checkout's behaviour, and the ports it plugs in."""

from __future__ import annotations

from datetime import timedelta

from attrs import field, frozen

from checkout_core.domain.cart import DEFAULT_CART_TTL
from checkout_core.domain.idempotency import DEFAULT_LEASE, DEFAULT_TTL
from checkout_core.domain.tax import TaxPolicy
from checkout_core.ports import (
    AlertSink,
    AnalyticsTracker,
    CartCache,
    Clock,
    IdGenerator,
    NotificationSender,
    PaymentGateway,
    UnitOfWorkFactory,
)

__all__ = ["CheckoutPorts", "CheckoutSettings"]


@frozen
class CheckoutSettings:
    """The checkout's rules that a host may set.

    ``cart_retention`` is how long an expired or ordered cart is kept before
    cleanup deletes it.
    """

    tax: TaxPolicy = field(factory=TaxPolicy)
    cart_ttl: timedelta = DEFAULT_CART_TTL
    cart_retention: timedelta = timedelta(days=30)
    idempotency_ttl: timedelta = DEFAULT_TTL
    idempotency_lease: timedelta = DEFAULT_LEASE


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
