"""checkout: an embeddable checkout for Python.

The names here are the public API of the core: money, the catalog, carts,
coupons, tax, the pricing engine, orders, payments, enrollments, domain
events, idempotency and retry rules, the ports, the root error and the one
fault the core acts on. Every error lives in :mod:`checkout_core.errors`.
"""

from __future__ import annotations

from checkout_core.domain.cart import Cart, CartLine, CartStatus
from checkout_core.domain.catalog import (
    Offering,
    Period,
    PeriodUnit,
    PricePlan,
    Sale,
    SalePercentage,
    SalePrice,
)
from checkout_core.domain.discounts import Coupon, CouponKind, CouponUsage
from checkout_core.domain.enrollments import Enrollment, enrollments_for
from checkout_core.domain.events import (
    DomainEvent,
    OrderCompleted,
    OrderExpired,
    OrderPaid,
    OrderRefunded,
    PaymentFailed,
)
from checkout_core.domain.idempotency import IdempotencyRecord, Proceed, Replay, decide, fingerprint
from checkout_core.domain.money import Currency, Money, Rate, Rounding, allocate
from checkout_core.domain.orders import Order, OrderStatus
from checkout_core.domain.payment_events import PaymentEvent, PaymentEventKind
from checkout_core.domain.payments import Payment, PaymentStatus
from checkout_core.domain.pricing import (
    DiscountKind,
    DiscountNote,
    Estimate,
    EstimateLine,
    price_cart,
)
from checkout_core.domain.retry import CircuitBreaker, RetryPolicy
from checkout_core.domain.tax import GST_RATE, TaxMode, TaxPolicy, TaxRounding
from checkout_core.errors import CheckoutError
from checkout_core.faults import TransientFault
from checkout_core.ports import Clock, IdGenerator

__all__ = [
    "GST_RATE",
    "Cart",
    "CartLine",
    "CartStatus",
    "CheckoutError",
    "CircuitBreaker",
    "Clock",
    "Coupon",
    "CouponKind",
    "CouponUsage",
    "Currency",
    "DiscountKind",
    "DiscountNote",
    "DomainEvent",
    "Enrollment",
    "Estimate",
    "EstimateLine",
    "IdGenerator",
    "IdempotencyRecord",
    "Money",
    "Offering",
    "Order",
    "OrderCompleted",
    "OrderExpired",
    "OrderPaid",
    "OrderRefunded",
    "OrderStatus",
    "Payment",
    "PaymentEvent",
    "PaymentEventKind",
    "PaymentFailed",
    "PaymentStatus",
    "Period",
    "PeriodUnit",
    "PricePlan",
    "Proceed",
    "Rate",
    "Replay",
    "RetryPolicy",
    "Rounding",
    "Sale",
    "SalePercentage",
    "SalePrice",
    "TaxMode",
    "TaxPolicy",
    "TaxRounding",
    "TransientFault",
    "allocate",
    "decide",
    "enrollments_for",
    "fingerprint",
    "price_cart",
]
