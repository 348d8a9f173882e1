"""Use cases: the core's services, which reach the world only through ports.

Build them all at once with :meth:`Checkout.build`.
"""

from __future__ import annotations

from checkout_core.services.carts import (
    AbandonedCarts,
    AuthService,
    CartAccess,
    CartCleanup,
    CartService,
    SaleAbandonment,
)
from checkout_core.services.checkout import Checkout
from checkout_core.services.discounts import CouponApplied, DiscountService
from checkout_core.services.expiry import OrderExpiry
from checkout_core.services.fulfilment import (
    AnalyticsService,
    EnrollmentService,
    NotificationService,
)
from checkout_core.services.idempotency import IdempotencyService
from checkout_core.services.orders import OrderService
from checkout_core.services.orphans import OrphanReport
from checkout_core.services.payments import PaymentService
from checkout_core.services.pricing import PricingService
from checkout_core.services.receipts import OrderPlaced, OrderReceipt
from checkout_core.services.reconciliation import PaymentReconciliation, ReconciliationService
from checkout_core.services.redelivery import Redelivery, RedeliveryService
from checkout_core.services.settings import CheckoutPorts, CheckoutSettings
from checkout_core.services.webhooks import WebhookHandler, WebhookOutcome
from checkout_core.services.workers import (
    AlertService,
    EnrollmentWorker,
    HandlerOutcome,
    RetryWorker,
)

__all__ = [
    "AbandonedCarts",
    "AlertService",
    "AnalyticsService",
    "AuthService",
    "CartAccess",
    "CartCleanup",
    "CartService",
    "Checkout",
    "CheckoutPorts",
    "CheckoutSettings",
    "CouponApplied",
    "DiscountService",
    "EnrollmentService",
    "EnrollmentWorker",
    "HandlerOutcome",
    "IdempotencyService",
    "NotificationService",
    "OrderExpiry",
    "OrderPlaced",
    "OrderReceipt",
    "OrderService",
    "OrphanReport",
    "PaymentReconciliation",
    "PaymentService",
    "PricingService",
    "ReconciliationService",
    "Redelivery",
    "RedeliveryService",
    "RetryWorker",
    "SaleAbandonment",
    "WebhookHandler",
    "WebhookOutcome",
]
