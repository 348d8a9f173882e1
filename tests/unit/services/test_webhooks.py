from __future__ import annotations

from returns.result import Result

from checkout_core.domain.orders import OrderStatus
from checkout_core.domain.payment_events import PaymentEventKind
from checkout_core.domain.webhooks import InboxStatus
from checkout_core.errors import CheckoutError, WebhookRejected
from checkout_core.services import OrderReceipt, WebhookOutcome
from tests.unit.services.world import World, ok, refused


def paid_order(world: World) -> OrderReceipt:
    cart = world.seed_cart()
    return ok(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a")).receipt


def deliver(
    world: World,
    event_id: str,
    kind: PaymentEventKind,
    ref: str | None,
    *,
    amount: int | None = None,
    failure_code: str | None = None,
) -> Result[WebhookOutcome, CheckoutError]:
    headers, body = world.gateway.webhook(
        event_id=event_id,
        type=f"payment.{kind}",
        provider_ref=ref,
        kind=kind,
        amount=amount,
        failure_code=failure_code,
    )
    return world.checkout.webhooks.handle(headers, body)


def test_a_captured_payment_marks_the_order_paid_and_queues_order_paid(world: World) -> None:
    receipt = paid_order(world)
    outcome = ok(
        deliver(
            world, "evt_1", PaymentEventKind.CAPTURED, receipt.provider_ref, amount=receipt.total
        )
    )
    assert (outcome.status, outcome.duplicate) == (InboxStatus.APPLIED, False)
    assert outcome.payment is PaymentEventKind.CAPTURED
    assert world.store.orders[receipt.order_token].status is OrderStatus.PAID
    assert world.events() == ["order.paid"]


def test_a_repeated_delivery_is_acknowledged_and_applied_once(world: World) -> None:
    receipt = paid_order(world)
    for _ in range(3):
        outcome = ok(
            deliver(
                world,
                "evt_1",
                PaymentEventKind.CAPTURED,
                receipt.provider_ref,
                amount=receipt.total,
            )
        )
    assert outcome.duplicate
    assert world.events() == ["order.paid"]


def test_a_second_capture_event_with_another_id_changes_nothing(world: World) -> None:
    receipt = paid_order(world)
    ok(
        deliver(
            world, "evt_1", PaymentEventKind.CAPTURED, receipt.provider_ref, amount=receipt.total
        )
    )
    again = ok(
        deliver(
            world, "evt_2", PaymentEventKind.CAPTURED, receipt.provider_ref, amount=receipt.total
        )
    )
    assert (again.status, again.payment) == (InboxStatus.IGNORED, None)
    assert world.events() == ["order.paid"]


def test_failed_then_captured_ends_paid_and_captured_then_failed_stays_paid(world: World) -> None:
    receipt = paid_order(world)
    ref = receipt.provider_ref
    ok(deliver(world, "evt_1", PaymentEventKind.FAILED, ref, failure_code="BAD_REQUEST_ERROR"))
    assert world.store.orders[receipt.order_token].status is OrderStatus.PAYMENT_FAILED
    ok(deliver(world, "evt_2", PaymentEventKind.CAPTURED, ref, amount=receipt.total))
    late = ok(deliver(world, "evt_3", PaymentEventKind.FAILED, ref))
    assert late.status is InboxStatus.IGNORED
    assert world.store.orders[receipt.order_token].status is OrderStatus.PAID


def test_a_capture_of_another_amount_flags_the_order_and_raises_an_alert(world: World) -> None:
    receipt = paid_order(world)
    outcome = ok(
        deliver(world, "evt_1", PaymentEventKind.CAPTURED, receipt.provider_ref, amount=100)
    )
    assert outcome.status is InboxStatus.FLAGGED
    order = world.store.orders[receipt.order_token]
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert order.review_reason is not None
    assert world.events() == []
    (alert,) = world.alerts.alerts
    assert alert.severity == "critical"
    assert "evt_1" in alert.detail


def test_an_event_for_an_unknown_payment_is_acknowledged_and_kept(world: World) -> None:
    outcome = ok(deliver(world, "evt_1", PaymentEventKind.CAPTURED, "fake_nobody", amount=100))
    assert outcome.status is InboxStatus.UNMATCHED
    kept = world.store.inbox[("fake", "evt_1")]
    assert (kept.status, kept.type) == (InboxStatus.UNMATCHED, "payment.captured")
    assert '"fake_nobody"' in kept.body


def test_a_forged_or_re_serialised_delivery_is_rejected_and_changes_nothing(world: World) -> None:
    receipt = paid_order(world)
    headers, body = world.gateway.webhook(
        event_id="evt_1", type="payment.captured", provider_ref=receipt.provider_ref,
        kind=PaymentEventKind.CAPTURED, amount=receipt.total,
    )  # fmt: skip
    forged = dict.fromkeys(headers, "0" * 64)
    error = refused(world.checkout.webhooks.handle(forged, body))
    assert isinstance(error, WebhookRejected)
    assert (error.code, error.http_status) == (4006, 400)
    reserialised = body.replace(b'": ', b'":')
    assert isinstance(
        refused(world.checkout.webhooks.handle(headers, reserialised)), WebhookRejected
    )
    assert world.store.inbox == {}
    assert world.store.orders[receipt.order_token].status is OrderStatus.AWAITING_PAYMENT


def test_an_event_the_checkout_does_not_act_on_is_recorded_and_ignored(world: World) -> None:
    headers, body = world.gateway.webhook(
        event_id="evt_1", type="refund.created", provider_ref=None, kind=None
    )
    assert ok(world.checkout.webhooks.handle(headers, body)).status is InboxStatus.IGNORED
