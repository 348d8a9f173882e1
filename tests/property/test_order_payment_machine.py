"""Orders and payments under provider events that repeat, arrive late and come out of order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from checkout_core.domain.orders import TRANSITIONS, Order, OrderStatus
from checkout_core.domain.payment_events import PaymentEvent, PaymentEventKind
from checkout_core.domain.payments import Payment, PaymentStatus
from checkout_core.domain.pricing import Estimate
from checkout_core.errors import (
    IllegalOrderTransition,
    IllegalPaymentTransition,
    PaymentAmountMismatch,
    RefundExceedsCaptured,
)
from tests.strategies import estimates, failure_codes, refund_ids

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PAID_FAMILY = frozenset(
    {OrderStatus.PAID, OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}
)
HOST_MOVES = (
    OrderStatus.AWAITING_PAYMENT,
    OrderStatus.COMPLETED,
    OrderStatus.EXPIRED,
    OrderStatus.CANCELLED,
)


class OrderAndPayment(RuleBasedStateMachine):
    """One order and its payment, driven by a provider that repeats and reorders itself."""

    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.delivered: list[PaymentEvent] = []
        self.order: Order
        self.payment: Payment
        self.highest_capture = 0
        self.ever_captured = False

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    @initialize(pricing=estimates())
    def place_and_open_a_session(self, pricing: Estimate) -> None:
        order = Order.place("ord_1", "cart_1", "usr_1", pricing, self.now)
        self.order = order.await_payment(self.now)
        self.payment = Payment.create(
            "pay_1",
            order_token=order.token,
            provider="sandbox",
            amount=order.total,
            currency=order.currency,
            now=self.now,
        ).attach_session("sandbox_order_1", self.now)

    def deliver(self, event: PaymentEvent) -> None:
        """What the webhook handler does: apply to the payment, then move the order."""
        before = self.payment
        try:
            change = before.apply(event)
        except RefundExceedsCaptured:
            assert event.kind is PaymentEventKind.REFUNDED
            assert event.refund_id not in before.refund_ids
            assert event.amount is not None
            assert event.amount > before.refundable_amount
            return
        except IllegalPaymentTransition:
            assert event.kind is PaymentEventKind.REFUNDED
            assert not before.is_captured
            return
        except PaymentAmountMismatch:
            assert event.kind is PaymentEventKind.CAPTURED
            assert event.amount != before.amount
            assert not before.is_captured
            return
        self.delivered.append(event)
        self.payment = change.payment
        if not change.applied:
            assert change.payment is before
            return
        now = self.tick()
        match event.kind:
            case PaymentEventKind.CAPTURED:
                # Money taken is recorded whatever the order's status: this must never raise.
                self.order = self.order.mark_paid(now)
            case PaymentEventKind.REFUNDED:
                assert event.amount is not None
                self.order = self.order.record_refund(event.amount, now)
            case PaymentEventKind.FAILED:
                if self.order.status not in PAID_FAMILY:
                    self.try_move(OrderStatus.PAYMENT_FAILED)
            case PaymentEventKind.AUTHORIZED:
                pass

    def try_move(self, target: OrderStatus) -> None:
        """Move the order, and check it refuses exactly the moves the table forbids."""
        start = self.order
        legal = target is start.status or target in TRANSITIONS[start.status]
        try:
            self.order = start.transition_to(target, self.tick())
        except IllegalOrderTransition:
            assert not legal
        else:
            assert legal
            assert self.order.status is target

    @rule()
    def provider_authorizes(self) -> None:
        self.deliver(PaymentEvent.authorized(self.tick()))

    @rule()
    def provider_captures(self) -> None:
        self.deliver(PaymentEvent.captured(self.payment.amount, self.tick()))

    @rule(
        error=st.integers(min_value=-1000, max_value=-1) | st.integers(min_value=1, max_value=1000)
    )
    def provider_captures_a_wrong_amount(self, error: int) -> None:
        self.deliver(PaymentEvent.captured(max(0, self.payment.amount + error), self.tick()))

    @rule(code=failure_codes())
    def provider_fails(self, code: str | None) -> None:
        self.deliver(PaymentEvent.failed(self.tick(), code, code and f"{code} from the provider"))

    @rule(refund_id=refund_ids(), share=st.integers(min_value=1, max_value=120))
    def provider_refunds(self, refund_id: str, share: int) -> None:
        # A share of the amount due, past 100% now and then to hit the ceiling.
        amount = max(1, self.payment.amount * share // 100)
        self.deliver(PaymentEvent.refunded(refund_id, amount, self.tick()))

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def provider_repeats_an_event(self, data: st.DataObject) -> None:
        self.deliver(data.draw(st.sampled_from(self.delivered)))

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def provider_replays_events_out_of_order(self, data: st.DataObject) -> None:
        for event in data.draw(st.permutations(self.delivered))[:5]:
            self.deliver(event)

    @rule(status=st.sampled_from(HOST_MOVES))
    def host_moves_the_order(self, status: OrderStatus) -> None:
        self.try_move(status)

    @invariant()
    def statuses_are_defined(self) -> None:
        assert self.order.status in set(OrderStatus)
        assert self.payment.status in set(PaymentStatus)

    @invariant()
    def captured_money_is_never_uncaptured(self) -> None:
        assert self.payment.captured_amount >= self.highest_capture
        assert self.payment.captured_amount in {0, self.payment.amount}
        self.highest_capture = self.payment.captured_amount
        if self.ever_captured:
            assert self.payment.is_captured
        self.ever_captured = self.payment.is_captured

    @invariant()
    def refunds_never_exceed_the_capture(self) -> None:
        assert 0 <= self.payment.refunded_amount <= self.payment.captured_amount
        assert self.order.refunded_amount == self.payment.refunded_amount

    @invariant()
    def the_order_is_paid_exactly_when_money_was_taken(self) -> None:
        assert (self.order.status in PAID_FAMILY) is self.payment.is_captured

    @invariant()
    def the_order_is_refunded_only_with_its_payment(self) -> None:
        if self.order.status is OrderStatus.REFUNDED:
            assert self.payment.status is PaymentStatus.REFUNDED
        if self.payment.status is PaymentStatus.REFUNDED:
            assert self.order.status is OrderStatus.REFUNDED


OrderAndPayment.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestOrderAndPayment = OrderAndPayment.TestCase
