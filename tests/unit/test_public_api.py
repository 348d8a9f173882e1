"""The public API is a promise: adding to it is a decision, removing from it a break."""

from __future__ import annotations

import checkout_core

PUBLIC_API = {
    "GST_RATE", "Cart", "CartLine", "CartStatus", "CheckoutError", "CircuitBreaker", "Clock",
    "Coupon", "CouponKind", "CouponUsage", "Currency", "DiscountKind", "DiscountNote",
    "DomainEvent", "Enrollment", "Estimate", "EstimateLine", "IdGenerator", "IdempotencyRecord",
    "Money", "Offering", "Order", "OrderCompleted", "OrderExpired", "OrderPaid", "OrderRefunded",
    "OrderStatus", "Payment", "PaymentEvent", "PaymentEventKind", "PaymentFailed",
    "PaymentStatus", "Period", "PeriodUnit", "PricePlan", "Proceed", "Rate", "Replay",
    "RetryPolicy", "Rounding", "Sale", "SalePercentage", "SalePrice", "TaxMode", "TaxPolicy",
    "TaxRounding", "TransientFault", "allocate", "decide", "enrollments_for", "fingerprint",
    "price_cart",
}  # fmt: skip


def test_the_public_api_is_exactly_what_is_promised() -> None:
    assert set(checkout_core.__all__) == PUBLIC_API


def test_every_public_name_is_importable_and_documented() -> None:
    for name in checkout_core.__all__:
        value = getattr(checkout_core, name)
        if callable(value):
            assert (value.__doc__ or "").strip(), f"{name} has no docstring"
