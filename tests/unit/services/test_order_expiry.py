from __future__ import annotations

from datetime import timedelta

import attrs

from checkout_core.domain.discounts import Coupon
from checkout_core.domain.money import Rate
from checkout_core.domain.orders import OrderStatus
from checkout_core.domain.payment_events import PaymentEvent, PaymentEventKind
from checkout_core.services import OrderExpiry, OrderReceipt
from tests.unit.services.test_webhooks import deliver
from tests.unit.services.world import World, ok

ONCE = Coupon(code="ONCE", percent_off=Rate.percent(10), usage_limit=1)


def place(world: World, key: str, *, coupon: str | None = None) -> OrderReceipt:
    cart = world.seed_cart()
    if coupon is not None:
        ok(world.checkout.discounts.apply(cart.token, coupon, "user_a"))
    return ok(world.checkout.orders.create_from_cart(cart.token, key, "user_a")).receipt


def uses(world: World, code: str) -> int:
    return world.store.coupon_uses.get(code, 0)


def test_a_stale_order_expires_and_gives_its_coupon_use_back(world: World) -> None:
    world.add_coupon(ONCE)
    receipt = place(world, "key-1", coupon="ONCE")
    assert uses(world, "ONCE") == 1
    world.clock.advance(timedelta(minutes=61))

    assert ok(world.checkout.orders.expire_stale()) == OrderExpiry(expired=1, coupons_released=1)

    assert world.store.orders[receipt.order_token].status is OrderStatus.EXPIRED
    assert uses(world, "ONCE") == 0
    assert world.events() == ["order.expired"]
    # Expired now, the order is not taken again.
    world.clock.advance(timedelta(hours=2))
    assert ok(world.checkout.orders.expire_stale()) == OrderExpiry(expired=0, coupons_released=0)
    assert world.events() == ["order.expired"]


def test_an_order_updated_within_the_hour_is_left_to_be_paid(world: World) -> None:
    receipt = place(world, "key-1")
    world.clock.advance(timedelta(minutes=59))

    assert ok(world.checkout.orders.expire_stale()).expired == 0
    assert world.store.orders[receipt.order_token].status is OrderStatus.AWAITING_PAYMENT


def test_a_failed_payment_left_for_the_hour_expires_too(world: World) -> None:
    receipt = place(world, "key-1")
    ok(deliver(world, "evt_1", PaymentEventKind.FAILED, receipt.provider_ref))
    world.clock.advance(timedelta(minutes=30))
    assert ok(world.checkout.orders.expire_stale(older_than=timedelta(minutes=20))).expired == 1


def test_paid_and_free_orders_never_expire(world: World) -> None:
    paid = place(world, "key-1")
    ok(deliver(world, "evt_1", PaymentEventKind.CAPTURED, paid.provider_ref, amount=paid.total))
    ok(world.checkout.orders.create_from_cart(world.free_cart().token, "key-2", "user_b"))
    world.clock.advance(timedelta(hours=2))

    assert ok(world.checkout.orders.expire_stale()).expired == 0
    assert world.store.orders[paid.order_token].status is OrderStatus.PAID


def test_a_captured_payment_wins_over_expiry(world: World) -> None:
    world.add_coupon(ONCE)
    receipt = place(world, "key-1", coupon="ONCE")
    # The capture is recorded on the payment; its order is about to follow.
    (payment,) = world.store.payments.values()
    captured = payment.apply(PaymentEvent.captured(payment.amount, world.clock.now())).payment
    world.store.payments[payment.id] = captured
    world.clock.advance(timedelta(hours=2))

    assert ok(world.checkout.orders.expire_stale()) == OrderExpiry(expired=0, coupons_released=0)

    assert world.store.orders[receipt.order_token].status is OrderStatus.AWAITING_PAYMENT
    assert uses(world, "ONCE") == 1
    assert world.events() == []


def test_stale_orders_expire_in_batches_that_report_their_progress(world: World) -> None:
    receipts = [place(world, f"key-{index}") for index in range(5)]
    (kept,) = [
        payment
        for payment in world.store.payments.values()
        if payment.order_token == receipts[2].order_token
    ]
    world.store.payments[kept.id] = kept.apply(
        PaymentEvent.captured(kept.amount, world.clock.now())
    ).payment
    world.clock.advance(timedelta(hours=2))
    progress: list[int] = []

    expiry = ok(world.checkout.orders.expire_stale(batch_size=2, on_progress=progress.append))

    assert expiry == OrderExpiry(expired=4, coupons_released=0)
    assert progress == [2, 1, 1]
    assert world.events() == ["order.expired"] * 4


def test_expire_and_cancel_still_end_one_order(world: World) -> None:
    first, second = place(world, "key-1"), place(world, "key-2")

    assert ok(world.checkout.orders.expire(first.order_token)).status is OrderStatus.EXPIRED
    assert ok(world.checkout.orders.cancel(second.order_token)).status is OrderStatus.CANCELLED
    assert world.events() == ["order.expired", "order.cancelled"]
    assert attrs.asdict(ok(world.checkout.orders.expire_stale())) == {
        "expired": 0,
        "coupons_released": 0,
    }
