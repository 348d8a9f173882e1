"""The Checkout: the one object a host application builds and calls."""

from __future__ import annotations

from attrs import frozen

from checkout_core.services.carts import AuthService, CartService
from checkout_core.services.discounts import DiscountService
from checkout_core.services.fulfilment import (
    AnalyticsService,
    EnrollmentService,
    NotificationService,
)
from checkout_core.services.idempotency import IdempotencyService
from checkout_core.services.orders import OrderService
from checkout_core.services.payments import PaymentService
from checkout_core.services.pricing import PricingService
from checkout_core.services.reconciliation import ReconciliationService
from checkout_core.services.redelivery import RedeliveryService
from checkout_core.services.settings import CheckoutPorts, CheckoutSettings
from checkout_core.services.webhooks import WebhookHandler
from checkout_core.services.workers import AlertService, EnrollmentWorker

__all__ = ["Checkout"]


@frozen
class Checkout:
    """Every service of the checkout, wired to the host's ports.

    Build it once at start-up with the adapters of your choice::

        checkout = Checkout.build(CheckoutPorts(unit_of_work=..., gateway=..., ...))
        match checkout.orders.create_from_cart(cart_token, key, user_id):
            case Success(placed): ...
            case Failure(error): ...

    Every public service method returns ``Result[T, CheckoutError]``.
    """

    ports: CheckoutPorts
    settings: CheckoutSettings
    carts: CartService
    auth: AuthService
    pricing: PricingService
    discounts: DiscountService
    orders: OrderService
    payments: PaymentService
    enrollments: EnrollmentService
    notifications: NotificationService
    analytics: AnalyticsService
    webhooks: WebhookHandler
    alerts: AlertService
    fulfilment: EnrollmentWorker
    reconciliation: ReconciliationService
    redelivery: RedeliveryService

    @classmethod
    def build(cls, ports: CheckoutPorts, settings: CheckoutSettings | None = None) -> Checkout:
        """Wire every service to ``ports`` under ``settings`` (the defaults when omitted)."""
        settings = settings or CheckoutSettings()
        carts = CartService(ports, settings)
        pricing = PricingService(ports, settings, carts)
        payments = PaymentService(ports)
        enrollments = EnrollmentService(ports)
        analytics = AnalyticsService(ports)
        orders = OrderService(
            ports,
            settings,
            carts,
            pricing,
            IdempotencyService(ports, settings),
            payments,
            enrollments,
            analytics,
        )
        fulfilment = EnrollmentWorker(ports, enrollments, NotificationService(ports), analytics)
        return cls(
            ports=ports,
            settings=settings,
            carts=carts,
            auth=AuthService(ports, carts),
            pricing=pricing,
            discounts=DiscountService(ports, settings, carts, pricing),
            orders=orders,
            payments=payments,
            enrollments=enrollments,
            notifications=NotificationService(ports),
            analytics=analytics,
            webhooks=WebhookHandler(ports, payments),
            alerts=AlertService(ports),
            fulfilment=fulfilment,
            reconciliation=ReconciliationService(ports, payments),
            redelivery=RedeliveryService(ports, consumers=(fulfilment.inbox_source,)),
        )
