from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import attrs
import pytest

from checkout_core.domain.money import Currency
from checkout_core.domain.payment_events import PaymentEvent, PaymentEventKind
from checkout_core.domain.payments import (
    CAPTURED_STATES,
    Outcome,
    Payment,
    PaymentChange,
    PaymentStatus,
)
from checkout_core.errors import (
    CurrencyMismatch,
    IllegalPaymentTransition,
    InvalidAmount,
    InvalidRequest,
    PaymentAmountMismatch,
    RefundExceedsCaptured,
)

if TYPE_CHECKING:
    from collections.abc import Callable

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
INR = Currency.of("INR")
DUE = 16_983_00
ORDER = "ord_1"


def new_payment() -> Payment:
    return Payment.create(
        "pay_1", order_token=ORDER, provider="razorpay", amount=DUE, currency=INR, now=NOW
    )


def authorized(at: datetime = LATER) -> PaymentEvent:
    return PaymentEvent.authorized(at)


def captured(amount: int = DUE, at: datetime = LATER) -> PaymentEvent:
    return PaymentEvent.captured(amount, at)


def failed(at: datetime = LATER) -> PaymentEvent:
    return PaymentEvent.failed(at, "BAD_REQUEST_ERROR", "Payment was declined by the bank")


def refunded(refund_id: str, amount: int, at: datetime = LATER) -> PaymentEvent:
    return PaymentEvent.refunded(refund_id, amount, at)


def payment_in(status: PaymentStatus) -> Payment:
    steps = {
        PaymentStatus.CREATED: [],
        PaymentStatus.AUTHORIZED: [authorized()],
        PaymentStatus.FAILED: [failed()],
        PaymentStatus.CAPTURED: [captured()],
        PaymentStatus.PARTIALLY_REFUNDED: [captured(), refunded("rfnd_1", 100)],
        PaymentStatus.REFUNDED: [captured(), refunded("rfnd_1", DUE)],
    }[status]
    payment = new_payment()
    for event in steps:
        payment = payment.apply(event).payment
    assert payment.status is status
    return payment


def test_a_new_payment_is_created_with_nothing_taken() -> None:
    payment = new_payment()

    assert payment.status is PaymentStatus.CREATED
    assert (payment.captured_amount, payment.refunded_amount, payment.attempts) == (0, 0, 0)
    assert payment.refund_ids == frozenset()
    assert payment.provider_ref is None
    assert payment.created_at == payment.updated_at == NOW
    assert not payment.is_captured
    assert payment.refundable_amount == 0


@pytest.mark.parametrize("amount", [0, -1])
def test_a_payment_is_of_a_positive_amount(amount: int) -> None:
    with pytest.raises(InvalidAmount) as raised:
        Payment.create(
            "pay_1", order_token=ORDER, provider="razorpay", amount=amount, currency=INR, now=NOW
        )

    assert raised.value.code == 1004


def test_a_payment_needs_a_provider() -> None:
    with pytest.raises(InvalidRequest):
        Payment.create("pay_1", order_token=ORDER, provider="", amount=1, currency=INR, now=NOW)


def test_a_payment_id_starts_with_pay() -> None:
    with pytest.raises(InvalidRequest, match="pay_"):
        Payment.create("ord_1", order_token=ORDER, provider="p", amount=1, currency=INR, now=NOW)


def test_a_payment_refuses_naive_times() -> None:
    with pytest.raises(InvalidRequest, match="timezone-aware"):
        Payment.create(
            "pay_1",
            order_token=ORDER,
            provider="p",
            amount=1,
            currency=INR,
            now=datetime(2026, 3, 1),  # noqa: DTZ001 - the naive time under test
        )


def test_a_payment_cannot_hold_more_refunded_than_captured() -> None:
    with pytest.raises(RefundExceedsCaptured):
        attrs.evolve(new_payment(), refunded_amount=1)


def test_a_session_is_attached_once() -> None:
    payment = new_payment().attach_session("order_Nx1", LATER)

    assert payment.provider_ref == "order_Nx1"
    assert payment.updated_at == LATER
    assert payment.attach_session("order_Nx1", LATER + timedelta(1)) is payment


def test_a_session_cannot_be_swapped_for_another() -> None:
    payment = new_payment().attach_session("order_Nx1", LATER)

    with pytest.raises(IllegalPaymentTransition) as raised:
        payment.attach_session("order_Other", LATER)

    assert raised.value.code == 4002


def test_an_empty_session_reference_is_refused() -> None:
    with pytest.raises(InvalidRequest):
        new_payment().attach_session("", LATER)


# Every state against every non-refund event: the outcome and the state after it.
APPLIED, DUPLICATE, IGNORED = Outcome.APPLIED, Outcome.DUPLICATE, Outcome.IGNORED
S = PaymentStatus
TABLE = [
    (S.CREATED, PaymentEventKind.AUTHORIZED, APPLIED, S.AUTHORIZED),
    (S.CREATED, PaymentEventKind.CAPTURED, APPLIED, S.CAPTURED),
    (S.CREATED, PaymentEventKind.FAILED, APPLIED, S.FAILED),
    (S.AUTHORIZED, PaymentEventKind.AUTHORIZED, DUPLICATE, S.AUTHORIZED),
    (S.AUTHORIZED, PaymentEventKind.CAPTURED, APPLIED, S.CAPTURED),
    (S.AUTHORIZED, PaymentEventKind.FAILED, APPLIED, S.FAILED),
    (S.FAILED, PaymentEventKind.AUTHORIZED, APPLIED, S.AUTHORIZED),
    (S.FAILED, PaymentEventKind.CAPTURED, APPLIED, S.CAPTURED),
    (S.FAILED, PaymentEventKind.FAILED, DUPLICATE, S.FAILED),
    (S.CAPTURED, PaymentEventKind.AUTHORIZED, IGNORED, S.CAPTURED),
    (S.CAPTURED, PaymentEventKind.CAPTURED, DUPLICATE, S.CAPTURED),
    (S.CAPTURED, PaymentEventKind.FAILED, IGNORED, S.CAPTURED),
    (S.PARTIALLY_REFUNDED, PaymentEventKind.AUTHORIZED, IGNORED, S.PARTIALLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, PaymentEventKind.CAPTURED, IGNORED, S.PARTIALLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, PaymentEventKind.FAILED, IGNORED, S.PARTIALLY_REFUNDED),
    (S.REFUNDED, PaymentEventKind.AUTHORIZED, IGNORED, S.REFUNDED),
    (S.REFUNDED, PaymentEventKind.CAPTURED, IGNORED, S.REFUNDED),
    (S.REFUNDED, PaymentEventKind.FAILED, IGNORED, S.REFUNDED),
]
EVENTS: dict[PaymentEventKind, Callable[[], PaymentEvent]] = {
    PaymentEventKind.AUTHORIZED: authorized,
    PaymentEventKind.CAPTURED: captured,
    PaymentEventKind.FAILED: failed,
}


@pytest.mark.parametrize(("start", "kind", "outcome", "end"), TABLE)
def test_provider_events_follow_the_transition_table(
    start: PaymentStatus, kind: PaymentEventKind, outcome: Outcome, end: PaymentStatus
) -> None:
    payment = payment_in(start)

    change = payment.apply(EVENTS[kind]())

    assert change.outcome is outcome
    assert change.payment.status is end
    if outcome is not APPLIED:
        assert change.payment is payment
        assert not change.applied


def test_a_capture_after_a_failure_wins() -> None:
    payment = payment_in(PaymentStatus.FAILED)

    change = payment.apply(captured())

    assert change.applied
    assert change.payment.status is PaymentStatus.CAPTURED
    assert change.payment.captured_amount == DUE
    assert change.payment.failure_code is None
    assert change.payment.failure_reason is None


def test_a_failure_after_a_capture_is_ignored() -> None:
    payment = payment_in(PaymentStatus.CAPTURED)

    change = payment.apply(failed())

    assert change == PaymentChange(payment, Outcome.IGNORED)


def test_a_failure_records_the_providers_code_and_reason() -> None:
    payment = new_payment().apply(failed()).payment

    assert payment.failure_code == "BAD_REQUEST_ERROR"
    assert payment.failure_reason == "Payment was declined by the bank"


def test_an_authorization_after_a_failure_clears_the_failure() -> None:
    payment = payment_in(PaymentStatus.FAILED).apply(authorized()).payment

    assert payment.status is PaymentStatus.AUTHORIZED
    assert payment.failure_code is None


def test_attempts_count_each_try_at_the_provider() -> None:
    payment = new_payment()
    for event in (authorized(), failed(), failed(), authorized(), captured()):
        payment = payment.apply(event).payment

    # authorized+failed is the first try; authorized+captured the second.
    assert payment.attempts == 2


@pytest.mark.parametrize("amount", [DUE - 1, DUE + 1, 0])
@pytest.mark.parametrize("start", [S.CREATED, S.AUTHORIZED, S.FAILED])
def test_a_capture_of_a_wrong_amount_is_refused(amount: int, start: PaymentStatus) -> None:
    with pytest.raises(PaymentAmountMismatch) as raised:
        payment_in(start).apply(captured(amount))

    assert raised.value.code == 4003


def test_a_capture_without_an_amount_is_refused() -> None:
    with pytest.raises(PaymentAmountMismatch):
        new_payment().apply(PaymentEvent(PaymentEventKind.CAPTURED, LATER))


def test_a_repeated_capture_is_a_duplicate_whatever_its_amount() -> None:
    payment = payment_in(PaymentStatus.CAPTURED)

    assert payment.apply(captured(DUE + 1)).outcome is Outcome.DUPLICATE


def test_a_capture_in_another_currency_is_refused() -> None:
    event = PaymentEvent.captured(DUE, LATER, Currency.of("USD"))

    with pytest.raises(CurrencyMismatch) as raised:
        new_payment().apply(event)

    assert raised.value.code == 1003


def test_a_capture_in_the_payments_currency_is_taken() -> None:
    change = new_payment().apply(PaymentEvent.captured(DUE, LATER, INR))

    assert change.payment.is_captured


def test_a_partial_refund_leaves_the_rest_refundable() -> None:
    payment = payment_in(PaymentStatus.CAPTURED)

    change = payment.apply(refunded("rfnd_1", 500_00))

    assert change.applied
    assert change.payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert change.payment.refunded_amount == 500_00
    assert change.payment.refundable_amount == DUE - 500_00
    assert change.payment.refund_ids == {"rfnd_1"}
    assert change.payment.captured_amount == DUE


def test_refunds_that_add_up_to_the_capture_refund_the_payment() -> None:
    payment = payment_in(PaymentStatus.CAPTURED)
    for refund_id, amount in (("rfnd_1", 500_00), ("rfnd_2", DUE - 600_00), ("rfnd_3", 100_00)):
        payment = payment.apply(refunded(refund_id, amount)).payment

    assert payment.status is PaymentStatus.REFUNDED
    assert payment.refunded_amount == DUE
    assert payment.refundable_amount == 0
    assert payment.is_captured


def test_a_full_refund_refunds_the_payment_at_once() -> None:
    payment = payment_in(PaymentStatus.CAPTURED).apply(refunded("rfnd_1", DUE)).payment

    assert payment.status is PaymentStatus.REFUNDED


def test_a_refund_delivered_twice_is_counted_once() -> None:
    payment = payment_in(PaymentStatus.PARTIALLY_REFUNDED)

    change = payment.apply(refunded("rfnd_1", 100))

    assert change == PaymentChange(payment, Outcome.DUPLICATE)
    assert change.payment.refunded_amount == 100


def test_a_refund_beyond_what_was_captured_is_refused() -> None:
    payment = payment_in(PaymentStatus.PARTIALLY_REFUNDED)

    with pytest.raises(RefundExceedsCaptured) as raised:
        payment.apply(refunded("rfnd_2", DUE - 99))

    assert raised.value.code == 4004


def test_a_refunded_payment_cannot_be_refunded_again() -> None:
    with pytest.raises(RefundExceedsCaptured):
        payment_in(PaymentStatus.REFUNDED).apply(refunded("rfnd_2", 1))


@pytest.mark.parametrize("start", [S.CREATED, S.AUTHORIZED, S.FAILED])
def test_money_not_captured_cannot_be_refunded(start: PaymentStatus) -> None:
    with pytest.raises(IllegalPaymentTransition) as raised:
        payment_in(start).apply(refunded("rfnd_1", 1))

    assert raised.value.code == 4002


def test_a_refund_in_another_currency_is_refused() -> None:
    event = PaymentEvent.refunded("rfnd_1", 1, LATER, Currency.of("EUR"))

    with pytest.raises(CurrencyMismatch):
        payment_in(PaymentStatus.CAPTURED).apply(event)


@pytest.mark.parametrize("amount", [0, -5])
def test_a_refund_is_of_a_positive_amount(amount: int) -> None:
    with pytest.raises(InvalidAmount) as raised:
        refunded("rfnd_1", amount)

    assert raised.value.code == 1004


def test_a_refund_event_needs_a_refund_id() -> None:
    with pytest.raises(InvalidRequest):
        PaymentEvent(PaymentEventKind.REFUNDED, LATER, amount=1)


def test_a_refund_event_needs_an_amount() -> None:
    with pytest.raises(InvalidAmount):
        PaymentEvent(PaymentEventKind.REFUNDED, LATER, refund_id="rfnd_1")


@pytest.mark.parametrize("amount", [-1, True])
def test_an_event_amount_is_a_non_negative_integer(amount: int) -> None:
    with pytest.raises(InvalidAmount):
        PaymentEvent(PaymentEventKind.CAPTURED, LATER, amount=amount)


def test_an_event_refuses_a_naive_time() -> None:
    with pytest.raises(InvalidRequest):
        PaymentEvent.authorized(datetime(2026, 3, 1))  # noqa: DTZ001 - the naive time under test


def test_an_event_kind_is_read_from_its_name() -> None:
    assert PaymentEvent("captured", LATER, amount=1).kind is PaymentEventKind.CAPTURED


def test_an_older_event_does_not_move_the_update_time_back() -> None:
    payment = new_payment().apply(authorized(LATER + timedelta(hours=1))).payment

    later = payment.apply(failed(LATER)).payment

    assert later.status is PaymentStatus.FAILED
    assert later.updated_at == LATER + timedelta(hours=1)


def test_a_newer_event_moves_the_update_time_forward() -> None:
    payment = new_payment().apply(captured(at=LATER)).payment

    assert payment.updated_at == LATER


@pytest.mark.parametrize("status", list(PaymentStatus))
def test_only_the_captured_family_counts_as_money_taken(status: PaymentStatus) -> None:
    assert payment_in(status).is_captured is (status in CAPTURED_STATES)
    assert {S.CAPTURED, S.PARTIALLY_REFUNDED, S.REFUNDED} == CAPTURED_STATES
