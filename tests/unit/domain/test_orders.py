from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import attrs
import pytest

from checkout_core.domain.money import Currency
from checkout_core.domain.orders import TRANSITIONS, Order, OrderStatus
from checkout_core.errors import (
    IllegalOrderTransition,
    InvalidAmount,
    InvalidRequest,
    RefundExceedsCaptured,
)
from tests.strategies import build_estimate

if TYPE_CHECKING:
    from checkout_core.domain.pricing import Estimate

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=30)
PRICING = build_estimate([9_999_00, 4_393_00], coupon_code="WELCOME10")
TOTAL = PRICING.total
S = OrderStatus
REFUND_STATES = {S.PARTIALLY_REFUNDED, S.REFUNDED}


def placed(pricing: Estimate = PRICING) -> Order:
    return Order.place("ord_1", "cart_1", "usr_1", pricing, NOW)


def order_in(status: OrderStatus, pricing: Estimate = PRICING) -> Order:
    refunded = {S.PARTIALLY_REFUNDED: 100, S.REFUNDED: pricing.total}.get(status, 0)
    return attrs.evolve(placed(pricing), status=status, refunded_amount=refunded)


def test_an_order_that_needs_payment_is_placed_pending() -> None:
    order = placed()

    assert order.status is OrderStatus.PENDING
    assert order.requires_payment
    assert order.total == TOTAL == (9_999_00 + 4_393_00) * 118 // 100
    assert order.currency == Currency.of("INR")
    assert order.refunded_amount == 0
    assert order.refundable_amount == TOTAL
    assert order.created_at == order.updated_at == NOW
    assert (order.token, order.cart_token, order.user_id) == ("ord_1", "cart_1", "usr_1")


def test_an_order_keeps_the_coupon_its_pricing_applied() -> None:
    assert placed().coupon_code == "WELCOME10"
    assert placed(build_estimate([100])).coupon_code is None


def test_a_free_order_goes_straight_to_completed() -> None:
    order = placed(build_estimate([0, 0]))

    assert order.status is OrderStatus.COMPLETED
    assert not order.requires_payment
    assert order.total == 0


def test_an_order_holds_its_pricing_as_a_snapshot() -> None:
    order = placed()

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        order.pricing = build_estimate([1])  # type: ignore[misc]
    assert order.mark_payment_failed(LATER).pricing is PRICING


def test_the_table_names_every_status() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)
    assert all(targets <= set(OrderStatus) for targets in TRANSITIONS.values())


def test_the_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[S.REFUNDED] = frozenset({S.PAID})  # type: ignore[index]


MOVES = [
    (start, target)
    for start, target in itertools.product(OrderStatus, OrderStatus)
    if target not in REFUND_STATES and start is not target
]


@pytest.mark.parametrize(("start", "target"), MOVES)
def test_every_move_follows_the_table(start: OrderStatus, target: OrderStatus) -> None:
    # Only a free order may complete from pending; the guard has its own test.
    free = (start, target) == (S.PENDING, S.COMPLETED)
    order = order_in(start, build_estimate([0]) if free else PRICING)
    if target in TRANSITIONS[start]:
        moved = order.transition_to(target, LATER)

        assert moved.status is target
        assert moved.updated_at == LATER
    else:
        with pytest.raises(IllegalOrderTransition) as raised:
            order.transition_to(target, LATER)

        assert raised.value.code == 3002
        assert f"from {start} to {target}" in str(raised.value.detail)


@pytest.mark.parametrize("status", [s for s in OrderStatus if s is not S.PARTIALLY_REFUNDED])
def test_a_move_to_the_current_status_is_a_no_op(status: OrderStatus) -> None:
    order = order_in(status)

    assert order.transition_to(status, LATER) is order


def test_the_table_is_exactly_the_one_the_issue_asks_for() -> None:
    expected = {
        S.PENDING: {S.AWAITING_PAYMENT, S.COMPLETED, S.PAYMENT_FAILED, S.CANCELLED, S.EXPIRED},
        S.AWAITING_PAYMENT: {S.PAID, S.PAYMENT_FAILED, S.CANCELLED, S.EXPIRED},
        S.PAYMENT_FAILED: {S.AWAITING_PAYMENT, S.PAID, S.CANCELLED, S.EXPIRED},
        S.EXPIRED: {S.PAID},
        S.CANCELLED: {S.PAID},
        S.PAID: {S.COMPLETED, S.PARTIALLY_REFUNDED, S.REFUNDED},
        S.COMPLETED: {S.PARTIALLY_REFUNDED, S.REFUNDED},
        S.PARTIALLY_REFUNDED: {S.PARTIALLY_REFUNDED, S.REFUNDED},
        S.REFUNDED: set(),
    }

    assert expected == TRANSITIONS


def test_an_order_that_needs_payment_cannot_complete_unpaid() -> None:
    with pytest.raises(IllegalOrderTransition, match="is due"):
        placed().complete(LATER)


@pytest.mark.parametrize("status", sorted(REFUND_STATES))
def test_a_refund_status_is_reached_only_with_an_amount(status: OrderStatus) -> None:
    with pytest.raises(InvalidRequest):
        order_in(S.PAID).transition_to(status, LATER)


def test_a_refund_status_the_table_forbids_is_an_illegal_move() -> None:
    with pytest.raises(IllegalOrderTransition):
        order_in(S.PENDING).transition_to(S.REFUNDED, LATER)


def test_a_status_is_read_from_its_name() -> None:
    moved = placed().transition_to("awaiting_payment", LATER)  # type: ignore[arg-type]

    assert moved.status is S.AWAITING_PAYMENT


@pytest.mark.parametrize(
    ("method", "start", "target"),
    [
        ("await_payment", S.PENDING, S.AWAITING_PAYMENT),
        ("await_payment", S.PAYMENT_FAILED, S.AWAITING_PAYMENT),
        ("mark_paid", S.AWAITING_PAYMENT, S.PAID),
        ("mark_payment_failed", S.AWAITING_PAYMENT, S.PAYMENT_FAILED),
        ("complete", S.PAID, S.COMPLETED),
        ("expire", S.AWAITING_PAYMENT, S.EXPIRED),
        ("cancel", S.PENDING, S.CANCELLED),
    ],
)
def test_each_named_move_goes_where_its_name_says(
    method: str, start: OrderStatus, target: OrderStatus
) -> None:
    moved = getattr(order_in(start), method)(LATER)

    assert moved.status is target


@pytest.mark.parametrize("start", [S.EXPIRED, S.CANCELLED, S.PAYMENT_FAILED])
def test_a_late_capture_is_still_recorded_as_paid(start: OrderStatus) -> None:
    assert order_in(start).mark_paid(LATER).status is S.PAID


def test_a_duplicate_paid_webhook_changes_nothing() -> None:
    order = order_in(S.PAID)

    assert order.mark_paid(LATER) is order


def test_a_failure_after_payment_is_an_illegal_move() -> None:
    with pytest.raises(IllegalOrderTransition):
        order_in(S.PAID).mark_payment_failed(LATER)


@pytest.mark.parametrize("start", [S.PAID, S.COMPLETED])
def test_a_partial_refund_partially_refunds_the_order(start: OrderStatus) -> None:
    order = order_in(start).record_refund(500_00, LATER)

    assert order.status is S.PARTIALLY_REFUNDED
    assert order.refunded_amount == 500_00
    assert order.refundable_amount == TOTAL - 500_00
    assert order.updated_at == LATER


def test_refunds_that_add_up_to_the_total_refund_the_order() -> None:
    order = order_in(S.PAID).record_refund(500_00, LATER)
    order = order.record_refund(300_00, LATER).record_refund(TOTAL - 800_00, LATER)

    assert order.status is S.REFUNDED
    assert order.refunded_amount == TOTAL
    assert order.is_final


def test_a_refund_beyond_the_total_is_refused() -> None:
    order = order_in(S.PARTIALLY_REFUNDED)

    with pytest.raises(RefundExceedsCaptured) as raised:
        order.record_refund(TOTAL - 99, LATER)

    assert raised.value.code == 4004


def test_a_refunded_order_cannot_be_refunded_again() -> None:
    with pytest.raises(RefundExceedsCaptured):
        order_in(S.REFUNDED).record_refund(1, LATER)


@pytest.mark.parametrize(
    "start", [S.PENDING, S.AWAITING_PAYMENT, S.PAYMENT_FAILED, S.EXPIRED, S.CANCELLED]
)
def test_an_unpaid_order_cannot_be_refunded(start: OrderStatus) -> None:
    with pytest.raises(IllegalOrderTransition, match=f"from {start} to"):
        order_in(start).record_refund(1, LATER)


@pytest.mark.parametrize("amount", [0, -1, True])
def test_a_refund_is_of_a_positive_amount(amount: int) -> None:
    with pytest.raises(InvalidAmount) as raised:
        order_in(S.PAID).record_refund(amount, LATER)

    assert raised.value.code == 1004


@pytest.mark.parametrize("status", list(OrderStatus))
def test_only_a_refunded_order_is_final(status: OrderStatus) -> None:
    assert order_in(status).is_final is (status is S.REFUNDED)


def test_an_order_cannot_hold_more_refunded_than_its_total() -> None:
    with pytest.raises(RefundExceedsCaptured):
        attrs.evolve(placed(), refunded_amount=TOTAL + 1)


def test_an_order_needs_a_token() -> None:
    with pytest.raises(InvalidRequest):
        Order.place("", "cart_1", "usr_1", PRICING, NOW)


def test_an_order_refuses_naive_times() -> None:
    with pytest.raises(InvalidRequest, match="timezone-aware"):
        Order.place("ord_1", "cart_1", None, PRICING, datetime(2026, 3, 1))  # noqa: DTZ001 - under test
