from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from checkout_core.domain.catalog import Period, PeriodUnit
from checkout_core.domain.events import (
    EVENT_TYPES,
    NotificationRequested,
    OrderCancelled,
    OrderCompleted,
    OrderedOffering,
    OrderExpired,
    OrderPaid,
    OrderRefunded,
    PaymentFailed,
)
from checkout_core.domain.orders import Order
from checkout_core.domain.payment_events import PaymentEvent
from checkout_core.domain.payments import Payment
from checkout_core.errors import InvalidRequest
from tests.strategies import build_estimate

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=10)
ORDER = "ord_1"
OFFERINGS = (
    OrderedOffering("off_0", Period(1, PeriodUnit.MONTH)),
    OrderedOffering("off_1", Period(2, PeriodUnit.MONTH)),
)


def order() -> Order:
    pricing = build_estimate([500_00, 700_00], coupon_code="WELCOME10")
    return Order.place("ord_1", "cart_1", "usr_1", pricing, NOW).await_payment(NOW)


def payment(for_order: Order) -> Payment:
    return Payment.create(
        "pay_1",
        order_token=for_order.token,
        provider="razorpay",
        amount=for_order.total,
        currency=for_order.currency,
        now=NOW,
    )


def test_every_event_has_its_stable_name() -> None:
    assert dict(EVENT_TYPES) == {
        "order.paid": OrderPaid,
        "order.completed": OrderCompleted,
        "order.payment_failed": PaymentFailed,
        "order.expired": OrderExpired,
        "order.refunded": OrderRefunded,
        "order.cancelled": OrderCancelled,
        "notification.requested": NotificationRequested,
    }


@pytest.mark.parametrize("event_type", list(EVENT_TYPES.values()))
def test_an_events_name_belongs_to_its_class_not_its_fields(event_type: type) -> None:
    fields = [field.name for field in attrs.fields(event_type)]

    assert "name" not in fields
    assert fields[:3] == ["event_id", "occurred_at", "order_token"]


def test_order_paid_carries_what_enrollment_and_the_receipt_need() -> None:
    paid_order = order()
    taken = payment(paid_order).apply(PaymentEvent.captured(paid_order.total, LATER)).payment

    event = OrderPaid.of("evt_1", paid_order.mark_paid(LATER), taken, LATER)

    assert event == OrderPaid(
        event_id="evt_1",
        occurred_at=LATER,
        order_token=ORDER,
        user_id="usr_1",
        amount=paid_order.total,
        currency="INR",
        provider="razorpay",
        payment_id="pay_1",
        offerings=OFFERINGS,
    )


def test_order_paid_refuses_a_payment_of_another_order() -> None:
    other = attrs.evolve(payment(order()), order_token=ORDER + "_other")

    with pytest.raises(InvalidRequest):
        OrderPaid.of("evt_1", order(), other, LATER)


def test_order_paid_refuses_a_payment_that_took_nothing() -> None:
    with pytest.raises(InvalidRequest, match="nothing was taken"):
        OrderPaid.of("evt_1", order(), payment(order()), LATER)


def test_order_completed_names_the_buyer_and_the_offerings() -> None:
    free = Order.place("ord_9", "cart_9", "usr_2", build_estimate([0, 0]), NOW)

    event = OrderCompleted.of("evt_2", free, NOW)

    assert event == OrderCompleted("evt_2", NOW, "ord_9", "usr_2", OFFERINGS)


def test_payment_failed_carries_the_providers_reason() -> None:
    failure = PaymentEvent.failed(LATER, "BAD_REQUEST_ERROR", "declined")
    failed = payment(order()).apply(failure).payment

    event = PaymentFailed.of("evt_3", failed, LATER)

    assert event == PaymentFailed("evt_3", LATER, "ord_1", "pay_1", "BAD_REQUEST_ERROR", "declined")


def test_order_expired_names_the_coupon_to_release() -> None:
    event = OrderExpired.of("evt_4", order().expire(LATER), LATER)

    assert event == OrderExpired("evt_4", LATER, "ord_1", "WELCOME10")


def test_order_refunded_carries_this_refund_and_all_refunds_so_far() -> None:
    refunded = order().mark_paid(LATER).record_refund(100_00, LATER).record_refund(50_00, LATER)

    event = OrderRefunded.of("evt_5", refunded, 50_00, LATER)

    assert event == OrderRefunded("evt_5", LATER, "ord_1", 50_00, 150_00, "INR")


def test_events_are_frozen() -> None:
    event = OrderExpired("evt_4", LATER, "ord_1", None)

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.coupon_code = "X"  # type: ignore[misc]
