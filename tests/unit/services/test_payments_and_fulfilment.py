from __future__ import annotations

from attrs import evolve

from checkout_core.domain.events import NotificationRequested
from checkout_core.domain.messages import AnalyticsEvent
from checkout_core.domain.orders import OrderStatus
from checkout_core.domain.payment_events import PaymentEvent
from checkout_core.domain.payments import Outcome, PaymentStatus
from checkout_core.errors import OrderNotFound, PaymentAmountMismatch, PaymentNotFound
from checkout_core.services import Checkout, OrderReceipt
from tests.unit.services.world import World, ok, refused


def place_paid_order(world: World) -> OrderReceipt:
    cart = world.seed_cart()
    return ok(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a")).receipt


def test_a_capture_marks_the_order_paid_once_and_queues_order_paid(world: World) -> None:
    receipt = place_paid_order(world)
    assert receipt.provider_ref is not None
    payments = world.checkout.payments
    change = ok(payments.mark_paid("fake", receipt.provider_ref, receipt.total))
    assert (change.outcome, change.payment.status) == (Outcome.APPLIED, PaymentStatus.CAPTURED)
    assert world.store.orders[receipt.order_token].status is OrderStatus.PAID
    again = ok(payments.mark_paid("fake", receipt.provider_ref, receipt.total))
    assert again.outcome is Outcome.DUPLICATE
    assert world.events() == ["order.paid"]


def test_a_capture_of_the_wrong_amount_is_refused(world: World) -> None:
    receipt = place_paid_order(world)
    assert receipt.provider_ref is not None
    error = refused(world.checkout.payments.mark_paid("fake", receipt.provider_ref, 100))
    assert isinstance(error, PaymentAmountMismatch)
    assert world.store.orders[receipt.order_token].status is OrderStatus.AWAITING_PAYMENT


def test_a_failure_then_a_late_capture_ends_paid(world: World) -> None:
    receipt = place_paid_order(world)
    assert receipt.provider_ref is not None
    now = world.clock.now()
    payments = world.checkout.payments
    ok(payments.update_status("fake", receipt.provider_ref, PaymentEvent.failed(now, "BAD_CARD")))
    assert world.store.orders[receipt.order_token].status is OrderStatus.PAYMENT_FAILED
    ok(
        payments.update_status(
            "fake", receipt.provider_ref, PaymentEvent.captured(receipt.total, now)
        )
    )
    assert world.store.orders[receipt.order_token].status is OrderStatus.PAID
    late = ok(payments.update_status("fake", receipt.provider_ref, PaymentEvent.failed(now)))
    assert late.outcome is Outcome.IGNORED
    assert world.events() == ["order.payment_failed", "order.paid"]


def test_a_refund_is_recorded_on_the_order(world: World) -> None:
    receipt = place_paid_order(world)
    assert receipt.provider_ref is not None
    now = world.clock.now()
    payments = world.checkout.payments
    ok(payments.mark_paid("fake", receipt.provider_ref, receipt.total))
    ok(
        payments.update_status(
            "fake", receipt.provider_ref, PaymentEvent.refunded("rfnd_1", 1000, now)
        )
    )
    order = world.store.orders[receipt.order_token]
    assert (order.status, order.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 1000)
    assert world.events()[-1] == "order.refunded"


def test_a_report_for_an_unknown_payment_is_not_found(world: World) -> None:
    error = refused(world.checkout.payments.mark_paid("fake", "fake_nope", 1))
    assert isinstance(error, PaymentNotFound)
    assert error.http_status == 404


def test_enrolling_a_paid_order_completes_it_and_is_idempotent(world: World) -> None:
    receipt = place_paid_order(world)
    assert receipt.provider_ref is not None
    ok(world.checkout.payments.mark_paid("fake", receipt.provider_ref, receipt.total))
    first = ok(world.checkout.enrollments.create_enrollment(receipt.order_token))
    second = ok(world.checkout.enrollments.create_enrollment(receipt.order_token))
    assert first == second
    assert [(e.offering_id, e.user_id) for e in first] == [("int_123", "user_a")]
    assert world.store.orders[receipt.order_token].status is OrderStatus.COMPLETED


def test_an_unpaid_order_is_not_enrolled(world: World) -> None:
    receipt = place_paid_order(world)
    error = refused(world.checkout.enrollments.create_enrollment(receipt.order_token))
    assert error.code == 1001
    assert isinstance(refused(world.checkout.enrollments.create_enrollment("nope")), OrderNotFound)


def test_notifications_and_conversions_go_through_their_ports(world: World) -> None:
    receipt = place_paid_order(world)
    order = world.store.orders[receipt.order_token]
    world.checkout.notifications.send_confirmation(order)
    (sent,) = world.notifications.sent
    assert (sent.template, sent.user_id, sent.order_token) == (
        "confirmation",
        "user_a",
        order.token,
    )
    assert dict(sent.context) == {"currency": "INR", "total": "1979600"}
    world.checkout.analytics.track_conversion(order, {"source": "google"})
    (event,) = world.analytics.events
    assert dict(event.properties) == {"source": "google"}
    assert event.amount == 1_979_600


def test_a_queued_notification_is_delivered_through_the_sender(world: World) -> None:
    cart = world.free_cart()
    ok(world.checkout.orders.create_from_cart(cart.token, "key-free", "user_a"))
    requested = [e for e in world.store.outbox_events() if isinstance(e, NotificationRequested)]
    world.checkout.notifications.send(requested[0])
    (sent,) = world.notifications.sent
    assert (sent.template, sent.user_id) == ("welcome", "user_a")


class BrokenTracker:
    def track(self, event: AnalyticsEvent) -> None:
        raise ConnectionError(event.name)


def test_a_failing_tracker_never_fails_a_placed_order(world: World) -> None:
    checkout = Checkout.build(evolve(world.checkout.ports, analytics=BrokenTracker()))
    cart = world.free_cart()
    placed = ok(checkout.orders.create_from_cart(cart.token, "key-free", "user_a"))
    assert placed.receipt.status == "completed"
    assert world.events() == ["order.completed", "notification.requested"]
