"""Domain events: what happened to an order, as its consumers need to hear it.

Each event is a frozen value with a stable ``name`` (``"order.paid"``) and
its own ``event_id``, which consumers use to ignore a delivery they already
handled. An event carries everything its consumer needs, so the enrollment
worker or the mailer never has to read the order back. Each has an ``of``
constructor that takes the facts from the aggregates.
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar, Final, TypeAlias

from attrs import frozen

from checkout_core.domain.catalog import Period
from checkout_core.errors import InvalidRequest

if TYPE_CHECKING:
    from collections.abc import Mapping

    from checkout_core.domain.orders import Order
    from checkout_core.domain.payments import Payment

__all__ = [
    "EVENT_TYPES",
    "DomainEvent",
    "NotificationRequested",
    "OrderCancelled",
    "OrderCompleted",
    "OrderExpired",
    "OrderPaid",
    "OrderRefunded",
    "OrderedOffering",
    "PaymentFailed",
]


@frozen
class OrderedOffering:
    """One offering of an order and the period it was bought for."""

    offering_id: str
    period: Period


def _offerings(order: Order) -> tuple[OrderedOffering, ...]:
    return tuple(OrderedOffering(line.offering_id, line.period) for line in order.pricing.lines)


@frozen
class OrderPaid:
    """The provider captured the money for an order; its buyer is to be enrolled."""

    name: ClassVar[str] = "order.paid"

    event_id: str
    occurred_at: datetime
    order_token: str
    user_id: str | None
    amount: int
    currency: str
    provider: str
    payment_id: str
    offerings: tuple[OrderedOffering, ...]

    @classmethod
    def of(cls, event_id: str, order: Order, payment: Payment, now: datetime) -> OrderPaid:
        """The event for ``order`` paid by ``payment``."""
        if payment.order_token != order.token:
            raise InvalidRequest(f"payment {payment.id} is not for order {order.token}")
        if not payment.is_captured:
            raise InvalidRequest(f"payment {payment.id} is {payment.status}; nothing was taken")
        return cls(
            event_id=event_id,
            occurred_at=now,
            order_token=order.token,
            user_id=order.user_id,
            amount=payment.captured_amount,
            currency=payment.currency.code,
            provider=payment.provider,
            payment_id=payment.id,
            offerings=_offerings(order),
        )


@frozen
class OrderCompleted:
    """A free order was placed and completed; its buyer is to be enrolled."""

    name: ClassVar[str] = "order.completed"

    event_id: str
    occurred_at: datetime
    order_token: str
    user_id: str | None
    offerings: tuple[OrderedOffering, ...]

    @classmethod
    def of(cls, event_id: str, order: Order, now: datetime) -> OrderCompleted:
        """The event for the completed ``order``."""
        return cls(event_id, now, order.token, order.user_id, _offerings(order))


@frozen
class PaymentFailed:
    """The provider reported an order's payment failed; the buyer may retry."""

    name: ClassVar[str] = "order.payment_failed"

    event_id: str
    occurred_at: datetime
    order_token: str
    payment_id: str
    failure_code: str | None
    failure_reason: str | None

    @classmethod
    def of(cls, event_id: str, payment: Payment, now: datetime) -> PaymentFailed:
        """The event for the failed ``payment``."""
        return cls(
            event_id=event_id,
            occurred_at=now,
            order_token=payment.order_token,
            payment_id=payment.id,
            failure_code=payment.failure_code,
            failure_reason=payment.failure_reason,
        )


@frozen
class OrderExpired:
    """An order was left unpaid too long; its coupon redemption is to be released."""

    name: ClassVar[str] = "order.expired"

    event_id: str
    occurred_at: datetime
    order_token: str
    coupon_code: str | None

    @classmethod
    def of(cls, event_id: str, order: Order, now: datetime) -> OrderExpired:
        """The event for the expired ``order``."""
        return cls(event_id, now, order.token, order.coupon_code)


@frozen
class OrderCancelled:
    """The buyer or the host gave an unpaid order up; its coupon redemption is released."""

    name: ClassVar[str] = "order.cancelled"

    event_id: str
    occurred_at: datetime
    order_token: str
    coupon_code: str | None

    @classmethod
    def of(cls, event_id: str, order: Order, now: datetime) -> OrderCancelled:
        """The event for the cancelled ``order``."""
        return cls(event_id, now, order.token, order.coupon_code)


@frozen
class OrderRefunded:
    """Money was given back for an order: ``amount`` now, ``refunded_amount`` in all."""

    name: ClassVar[str] = "order.refunded"

    event_id: str
    occurred_at: datetime
    order_token: str
    amount: int
    refunded_amount: int
    currency: str

    @classmethod
    def of(cls, event_id: str, order: Order, amount: int, now: datetime) -> OrderRefunded:
        """The event for a refund of ``amount`` already recorded on ``order``."""
        return cls(
            event_id=event_id,
            occurred_at=now,
            order_token=order.token,
            amount=amount,
            refunded_amount=order.refunded_amount,
            currency=order.currency.code,
        )


@frozen
class NotificationRequested:
    """A message is to be sent to a buyer (a welcome, a confirmation), queued with the change."""

    name: ClassVar[str] = "notification.requested"

    event_id: str
    occurred_at: datetime
    order_token: str
    user_id: str | None
    template: str

    @classmethod
    def of(cls, event_id: str, order: Order, template: str, now: datetime) -> NotificationRequested:
        """The request to send ``template`` about ``order`` to its buyer."""
        return cls(event_id, now, order.token, order.user_id, template)


DomainEvent: TypeAlias = (
    OrderPaid
    | OrderCompleted
    | PaymentFailed
    | OrderExpired
    | OrderCancelled
    | OrderRefunded
    | NotificationRequested
)
"""Any domain event."""

_EVENT_CLASSES: tuple[type[DomainEvent], ...] = (
    OrderPaid,
    OrderCompleted,
    PaymentFailed,
    OrderExpired,
    OrderCancelled,
    OrderRefunded,
    NotificationRequested,
)

EVENT_TYPES: Final[Mapping[str, type[DomainEvent]]] = MappingProxyType(
    {event.name: event for event in _EVENT_CLASSES}
)
"""Each event class by its name, for reading events back from the outbox."""
