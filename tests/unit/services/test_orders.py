from __future__ import annotations

from checkout_core.domain.cart import CartStatus
from checkout_core.domain.discounts import Coupon
from checkout_core.domain.money import Rate
from checkout_core.domain.orders import OrderStatus
from checkout_core.errors import (
    AuthenticationRequired,
    CouponExhausted,
    CouponInvalid,
    IdempotencyKeyInvalid,
    IdempotencyKeyMismatch,
    IllegalOrderTransition,
    PaymentsUnavailable,
)
from tests.unit.services.world import World, ok, refused


def test_a_free_order_is_completed_enrolled_and_welcomed_in_one_go(world: World) -> None:
    cart = world.free_cart()
    placed = ok(world.checkout.orders.create_from_cart(cart.token, "key-free", "user_a"))
    receipt = placed.receipt
    assert (receipt.status, receipt.total, receipt.payment_id) == ("completed", 0, None)
    assert len(receipt.enrollment_ids) == 1
    assert receipt.enrollment_ids[0].startswith("enr_")
    assert world.events() == ["order.completed", "notification.requested"]
    assert world.gateway.requests == []
    (conversion,) = world.analytics.events
    assert (conversion.name, conversion.order_token) == ("conversion", receipt.order_token)
    world.cache.invalidate(cart.token)
    assert ok(world.checkout.carts.get_cart(cart.token)).status is CartStatus.CONVERTED


def test_a_paid_order_awaits_payment_with_a_session_at_the_gateway(world: World) -> None:
    cart = world.seed_cart()
    ok(world.checkout.discounts.apply(cart.token, "SAVE20", "user_a"))
    receipt = ok(world.checkout.orders.create_from_cart(cart.token, "key-paid", "user_a")).receipt
    assert receipt.status == "awaiting_payment"
    assert (receipt.sub_total, receipt.tax_total, receipt.total) == (1_342_080, 241_620, 1_583_700)
    assert receipt.provider == "fake"
    assert receipt.checkout_url == f"https://pay.invalid/{receipt.provider_ref}"
    (request,) = world.gateway.requests
    assert (request.amount, request.order_token) == (1_583_700, receipt.order_token)
    assert sum(line.amount for line in request.lines) == 1_583_700
    assert world.events() == []


def test_the_same_key_replays_the_stored_answer(world: World) -> None:
    cart = world.seed_cart()
    first = ok(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a"))
    again = ok(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a"))
    assert (first.replayed, again.replayed) == (False, True)
    assert again.receipt == first.receipt
    assert len(world.gateway.requests) == 1


def test_another_key_for_the_same_cart_gets_the_same_order(world: World) -> None:
    cart = world.seed_cart()
    first = ok(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a")).receipt
    second = ok(world.checkout.orders.create_from_cart(cart.token, "key-2", "user_a")).receipt
    assert second == first


def test_a_key_used_for_another_cart_is_a_mismatch(world: World) -> None:
    first, second = world.seed_cart(), world.seed_cart()
    ok(world.checkout.orders.create_from_cart(first.token, "key-1", "user_a"))
    error = refused(world.checkout.orders.create_from_cart(second.token, "key-1", "user_a"))
    assert isinstance(error, IdempotencyKeyMismatch)
    assert (error.code, error.http_status) == (5002, 422)


def test_an_invalid_key_or_an_anonymous_buyer_is_refused(world: World) -> None:
    cart = world.seed_cart()
    assert isinstance(
        refused(world.checkout.orders.create_from_cart(cart.token, "has space", "u")),
        IdempotencyKeyInvalid,
    )
    error = refused(world.checkout.orders.create_from_cart(cart.token, "key-1", None))
    assert isinstance(error, AuthenticationRequired)
    assert error.http_status == 401


def test_the_coupon_is_redeemed_with_the_order_and_refused_when_used_up(world: World) -> None:
    world.add_coupon(Coupon(code="ONCE", percent_off=Rate.percent(10), usage_limit=1))
    first, second = world.seed_cart(), world.seed_cart()
    ok(world.checkout.discounts.apply(first.token, "ONCE", "user_a"))
    ok(world.checkout.discounts.apply(second.token, "ONCE", "user_b"))
    ok(world.checkout.orders.create_from_cart(first.token, "key-a", "user_a"))
    error = refused(world.checkout.orders.create_from_cart(second.token, "key-b", "user_b"))
    assert isinstance(error, CouponExhausted)
    world.cache.invalidate(second.token)
    assert ok(world.checkout.carts.get_cart(second.token)).status is CartStatus.ACTIVE
    assert len(world.gateway.requests) == 1


def test_a_coupon_that_vanished_is_refused_at_order_time(world: World) -> None:
    cart = world.seed_cart()
    ok(world.checkout.discounts.apply(cart.token, "SAVE20", "user_a"))
    world.store.coupons.clear()
    error = refused(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a"))
    assert isinstance(error, CouponInvalid)


def test_a_gateway_fault_keeps_the_order_and_a_retry_finishes_it(world: World) -> None:
    cart = world.seed_cart()
    world.gateway.fail_next(1, retryable=True)
    error = refused(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a"))
    assert isinstance(error, PaymentsUnavailable)
    assert (error.code, error.http_status) == (4005, 503)
    (order,) = world.store.orders.values()
    assert order.status is OrderStatus.AWAITING_PAYMENT
    (payment,) = world.store.payments.values()
    assert payment.provider_ref is None
    retried = ok(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a"))
    assert retried.receipt.order_token == order.token
    assert retried.receipt.checkout_url is not None
    assert len(world.store.orders) == 1
    # The retry asks for the very same session, under the same idempotency key.
    first, second = world.gateway.requests
    assert first == second


def test_an_unpaid_order_expires_and_gives_its_coupon_use_back(world: World) -> None:
    world.add_coupon(Coupon(code="ONCE", percent_off=Rate.percent(10), usage_limit=1))
    cart = world.seed_cart()
    ok(world.checkout.discounts.apply(cart.token, "ONCE", "user_a"))
    receipt = ok(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a")).receipt
    expired = ok(world.checkout.orders.expire(receipt.order_token))
    assert expired.status is OrderStatus.EXPIRED
    assert world.events() == ["order.expired"]
    assert ok(world.checkout.orders.expire(receipt.order_token)) == expired
    other = world.seed_cart()
    assert ok(world.checkout.discounts.apply(other.token, "ONCE", "user_b")).code == "ONCE"


def test_a_cancelled_order_gives_its_coupon_use_back_and_a_paid_one_cannot_be_cancelled(
    world: World,
) -> None:
    world.add_coupon(Coupon(code="ONCE", percent_off=Rate.percent(10), usage_limit=1))
    cart = world.seed_cart()
    ok(world.checkout.discounts.apply(cart.token, "ONCE", "user_a"))
    receipt = ok(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a")).receipt
    cancelled = ok(world.checkout.orders.cancel(receipt.order_token))
    assert cancelled.status is OrderStatus.CANCELLED
    assert world.events() == ["order.cancelled"]
    other = world.seed_cart()
    assert ok(world.checkout.discounts.apply(other.token, "ONCE", "user_b")).code == "ONCE"
    paid = world.seed_cart()
    placed = ok(world.checkout.orders.create_from_cart(paid.token, "key-2", "user_c")).receipt
    assert placed.provider_ref is not None
    ok(world.checkout.payments.mark_paid("fake", placed.provider_ref, placed.total))
    error = refused(world.checkout.orders.cancel(placed.order_token))
    assert isinstance(error, IllegalOrderTransition)
    assert error.code == 3002
