"""Fulfilment: EnrollmentService, NotificationService and AnalyticsService."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from attrs import frozen

from checkout_core.domain.enrollments import Enrollment, enrollments_for
from checkout_core.domain.events import NotificationRequested
from checkout_core.domain.messages import AnalyticsEvent, Notification
from checkout_core.domain.orders import Order, OrderStatus
from checkout_core.errors import OrderNotFound
from checkout_core.ports import UnitOfWork
from checkout_core.services._seam import checked
from checkout_core.services.settings import CheckoutPorts

__all__ = ["AnalyticsService", "EnrollmentService", "NotificationService"]


@frozen
class EnrollmentService:
    """Enrolls the buyer of a paid or free order: once per offering, whatever is repeated."""

    ports: CheckoutPorts

    @checked
    def create_enrollment(self, order_token: str) -> list[Enrollment]:
        """Enroll the order's buyer in each of its offerings and mark a paid order completed.

        Idempotent: enrollments that exist are kept and returned, never made twice.
        """
        with self.ports.unit_of_work() as uow:
            order = uow.orders.get(order_token, for_update=True)
            if order is None:
                raise OrderNotFound(order_token)
            self.enroll(order, uow)
            if order.status is OrderStatus.PAID:
                uow.orders.update(order.complete(self.ports.clock.now()))
            uow.commit()
            return uow.enrollments.for_order(order_token)

    def enroll(self, order: Order, uow: UnitOfWork) -> list[Enrollment]:
        """Store the order's missing enrollments in ``uow``; return those it added."""
        ids = [self.ports.ids.id("enr") for _ in order.pricing.lines]
        wanted = enrollments_for(order, ids, self.ports.clock.now())
        return uow.enrollments.add_missing(wanted)

    def enroll_many(self, orders: Sequence[Order], uow: UnitOfWork) -> list[Enrollment]:
        """Store the missing enrollments of every one of ``orders`` in ``uow``, in one go."""
        now = self.ports.clock.now()
        wanted = [
            enrollment
            for order in orders
            for enrollment in enrollments_for(
                order, [self.ports.ids.id("enr") for _ in order.pricing.lines], now
            )
        ]
        return uow.enrollments.add_missing(wanted) if wanted else []


@frozen
class NotificationService:
    """Tells buyers about their orders through the host's NotificationSender."""

    ports: CheckoutPorts

    def send(self, request: NotificationRequested) -> None:
        """Deliver a notification queued in the outbox; raises when the sender fails."""
        self.ports.notifications.send(
            Notification(
                template=request.template, user_id=request.user_id, order_token=request.order_token
            )
        )

    def send_confirmation(self, order: Order) -> None:
        """Confirm a paid order to its buyer (the seed's ``SendConfirmation``)."""
        self.ports.notifications.send(
            Notification(
                template="confirmation",
                user_id=order.user_id,
                order_token=order.token,
                context={"total": str(order.total), "currency": order.currency.code},
            )
        )


@frozen
class AnalyticsService:
    """Counts conversions, attributed with the cart's analytics data (source, campaign)."""

    ports: CheckoutPorts

    def track_conversion(self, order: Order, analytics: Mapping[str, str]) -> None:
        """Record that ``order`` converted (the seed's ``TrackConversion``)."""
        self.ports.analytics.track(
            AnalyticsEvent(
                name="conversion",
                occurred_at=self.ports.clock.now(),
                order_token=order.token,
                user_id=order.user_id,
                amount=order.total,
                currency=order.currency.code,
                properties=analytics,
            )
        )
