from __future__ import annotations

from datetime import timedelta

import attrs

from checkout_adapters.memory import InMemoryBreakerStore
from checkout_adapters.resilience import GuardedGateway
from checkout_core.domain.gateway import ProviderPaymentState, ProviderStatus
from checkout_core.domain.orders import OrderStatus
from checkout_core.domain.payment_events import PaymentEventKind
from checkout_core.domain.payments import PaymentStatus
from checkout_core.errors import PaymentsUnavailable
from checkout_core.services import Checkout, OrderReceipt, OrphanReport, PaymentReconciliation
from tests.unit.services.test_webhooks import deliver
from tests.unit.services.world import World, ok, refused

STUCK = timedelta(minutes=20)


def place(world: World, key: str = "key-1") -> OrderReceipt:
    cart = world.seed_cart()
    return ok(world.checkout.orders.create_from_cart(cart.token, key, "user_a")).receipt


def provider_says(
    world: World, receipt: OrderReceipt, state: ProviderPaymentState, *, amount: int = 0
) -> None:
    assert receipt.provider_ref is not None
    world.gateway.set_status(
        ProviderStatus(
            receipt.provider_ref,
            state,
            amount_captured=amount,
            failure_code="card_declined" if state is ProviderPaymentState.FAILED else None,
        )
    )


def reconcile(world: World, **options: object) -> PaymentReconciliation:
    return ok(world.checkout.reconciliation.reconcile_payments(**options))  # type: ignore[arg-type]


def test_a_capture_whose_webhook_never_came_marks_the_order_paid_once(world: World) -> None:
    receipt = place(world)
    provider_says(world, receipt, ProviderPaymentState.CAPTURED, amount=receipt.total)
    world.clock.advance(STUCK)

    assert reconcile(world) == PaymentReconciliation(
        checked=1, captured=1, failed=0, unchanged=0, errors=0
    )
    assert world.store.orders[receipt.order_token].status is OrderStatus.PAID
    assert world.events() == ["order.paid"]
    # Settled now, the payment is not asked about again, and nothing is applied twice.
    assert reconcile(world).checked == 0
    assert world.events() == ["order.paid"]


def test_a_failure_the_provider_reports_is_applied_as_its_webhook_would_be(world: World) -> None:
    receipt = place(world)
    provider_says(world, receipt, ProviderPaymentState.FAILED)
    world.clock.advance(STUCK)

    assert reconcile(world).failed == 1
    assert world.store.orders[receipt.order_token].status is OrderStatus.PAYMENT_FAILED
    (payment,) = world.store.payments.values()
    assert (payment.status, payment.failure_code) == (PaymentStatus.FAILED, "card_declined")
    assert world.events() == ["order.payment_failed"]
    # Still failed at the provider: a repeat changes nothing.
    world.clock.advance(STUCK)
    assert reconcile(world) == PaymentReconciliation(
        checked=1, captured=0, failed=0, unchanged=1, errors=0
    )
    assert world.events() == ["order.payment_failed"]


def test_a_capture_after_a_reported_failure_is_found(world: World) -> None:
    receipt = place(world)
    ok(deliver(world, "evt_1", PaymentEventKind.FAILED, receipt.provider_ref))
    provider_says(world, receipt, ProviderPaymentState.CAPTURED, amount=receipt.total)
    world.clock.advance(STUCK)

    assert reconcile(world).captured == 1
    assert world.store.orders[receipt.order_token].status is OrderStatus.PAID
    assert world.events() == ["order.payment_failed", "order.paid"]


def test_a_session_still_open_or_too_recent_is_left_as_it_is(world: World) -> None:
    receipt = place(world)
    world.clock.advance(timedelta(minutes=5))
    assert reconcile(world).checked == 0
    world.clock.advance(STUCK)

    assert reconcile(world) == PaymentReconciliation(
        checked=1, captured=0, failed=0, unchanged=1, errors=0
    )
    assert world.store.orders[receipt.order_token].status is OrderStatus.AWAITING_PAYMENT
    assert world.events() == []


def test_payments_older_than_a_day_are_not_asked_about_again(world: World) -> None:
    place(world)
    world.clock.advance(timedelta(hours=25))

    assert reconcile(world).checked == 0


def test_a_gateway_fault_on_one_payment_is_counted_and_the_run_goes_on(world: World) -> None:
    receipts = [place(world, f"key-{index}") for index in range(3)]
    for receipt in receipts:
        provider_says(world, receipt, ProviderPaymentState.CAPTURED, amount=receipt.total)
    world.clock.advance(STUCK)
    world.gateway.fail_next(1)
    progress: list[int] = []

    outcome = reconcile(world, batch_size=2, on_progress=progress.append)

    assert outcome == PaymentReconciliation(checked=3, captured=2, failed=0, unchanged=0, errors=1)
    assert progress == [2, 1]
    statuses = sorted(world.store.orders[r.order_token].status for r in receipts)
    assert statuses == [OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID, OrderStatus.PAID]
    # The next run picks up the one the fault left.
    assert reconcile(world).captured == 1


def test_a_capture_of_the_wrong_amount_flags_the_order_and_alerts(world: World) -> None:
    receipt = place(world)
    provider_says(world, receipt, ProviderPaymentState.CAPTURED, amount=receipt.total - 1)
    world.clock.advance(STUCK)

    assert reconcile(world).errors == 1
    order = world.store.orders[receipt.order_token]
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert order.review_reason is not None
    assert len(world.alerts.alerts) == 1
    assert world.events() == []


def guarded(world: World) -> tuple[Checkout, InMemoryBreakerStore]:
    """The world's checkout behind a circuit breaker, and the breakers it keeps."""
    breakers = InMemoryBreakerStore()
    gateway = GuardedGateway(world.gateway, world.clock, breakers, sleep=lambda _: None)
    ports = attrs.evolve(world.checkout.ports, gateway=gateway)
    return Checkout.build(ports, world.checkout.settings), breakers


def open_breaker(world: World, breakers: InMemoryBreakerStore) -> None:
    for _ in range(5):
        breakers.update(
            "gateway:fake", lambda breaker: (None, breaker.record_failure(world.clock.now()))
        )


def test_an_open_breaker_stops_the_run_before_asking_anything(world: World) -> None:
    receipt = place(world)
    provider_says(world, receipt, ProviderPaymentState.CAPTURED, amount=receipt.total)
    world.clock.advance(STUCK)
    checkout, breakers = guarded(world)
    open_breaker(world, breakers)
    progress: list[int] = []

    outcome = ok(checkout.reconciliation.reconcile_payments(on_progress=progress.append))

    assert outcome == PaymentReconciliation(
        checked=0, captured=0, failed=0, unchanged=0, errors=0, interrupted=True
    )
    assert progress == [0]
    assert world.store.orders[receipt.order_token].status is OrderStatus.AWAITING_PAYMENT
    assert ok(checkout.reconciliation.retry_payment_sessions()) == 0


def test_a_session_the_gateway_could_not_open_is_opened_by_the_retry(world: World) -> None:
    cart = world.seed_cart()
    world.gateway.fail_next(1)
    error = refused(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a"))
    assert isinstance(error, PaymentsUnavailable)
    # A request may still be opening it: the retry leaves new payments alone for a minute.
    assert ok(world.checkout.reconciliation.retry_payment_sessions()) == 0
    world.clock.advance(timedelta(minutes=2))
    progress: list[int] = []

    assert (
        ok(world.checkout.reconciliation.retry_payment_sessions(on_progress=progress.append)) == 1
    )

    (payment,) = world.store.payments.values()
    assert payment.provider_ref is not None
    assert payment.checkout_url is not None
    assert progress == [1]
    # The same session was asked for, under the payment's own idempotency key.
    first, second = world.gateway.requests
    assert first == second
    assert ok(world.checkout.reconciliation.retry_payment_sessions()) == 0
    # The buyer coming back finds the session.
    again = ok(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a")).receipt
    assert again.provider_ref == payment.provider_ref


def test_a_session_that_fails_again_is_left_for_the_next_run(world: World) -> None:
    cart = world.seed_cart()
    world.gateway.fail_next(2)
    refused(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a"))
    world.clock.advance(timedelta(minutes=2))

    assert ok(world.checkout.reconciliation.retry_payment_sessions()) == 0
    assert ok(world.checkout.reconciliation.retry_payment_sessions()) == 1


def test_a_healthy_checkout_has_no_orphans(world: World) -> None:
    receipt = place(world)
    ok(
        deliver(
            world, "evt_1", PaymentEventKind.CAPTURED, receipt.provider_ref, amount=receipt.total
        )
    )
    ok(world.checkout.orders.create_from_cart(world.free_cart().token, "key-2", "user_b"))

    report = ok(world.checkout.reconciliation.orphans())

    assert report == OrphanReport(0, 0, 0, 0, 0)
    assert report.total == 0


def test_orphans_are_counted_by_kind(world: World) -> None:
    store = world.store
    paid = place(world, "key-1")
    lost = place(world, "key-2")
    free = ok(
        world.checkout.orders.create_from_cart(world.free_cart().token, "key-3", "user_b")
    ).receipt
    # Records as a broken host or a failed manual fix might leave them.
    order = store.orders[paid.order_token]
    store.orders[paid.order_token] = order.mark_paid(world.clock.now())
    gone = store.orders.pop(lost.order_token)
    del store.order_tokens_by_cart[gone.cart_token]
    store.enrollments.clear()
    store.enrollment_keys_by_order.clear()

    report = ok(world.checkout.reconciliation.orphans())

    assert report == OrphanReport(
        payments_without_order=1,
        paid_without_capture=1,
        completed_without_enrollments=1,
        outbox_unsent=0,
        carts_ordered_without_order=1,
    )
    assert report.total == 4
    assert free.status == OrderStatus.COMPLETED
