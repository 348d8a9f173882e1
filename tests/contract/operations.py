"""The contract of the repositories' queries for the scheduled jobs, on every store.

An adapter's test module subclasses :class:`OperationsContract` (under a
name starting with ``Test``), provides the fixture ``uow_factory`` over an
empty store and the fixture ``relay_outbox`` that publishes the store's
unsent events as its relay does, and says with ``relays_outbox`` whether
its outbox waits for a relay (SQL) or is read by its consumers directly
(memory).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import ClassVar, TypeAlias

import attrs
import pytest

from checkout_core.domain.cart import CartStatus
from checkout_core.domain.enrollments import Enrollment
from checkout_core.domain.events import NotificationRequested, OrderCompleted, OrderPaid
from checkout_core.domain.orders import Order, OrderStatus
from checkout_core.domain.payment_events import PaymentEvent
from checkout_core.domain.payments import Payment
from checkout_core.domain.redelivery import RelayedEvent
from checkout_core.domain.webhooks import InboxEntry, InboxStatus
from checkout_core.ports import UnitOfWork, UnitOfWorkFactory
from tests.contract.unit_of_work import (
    NOW,
    make_cart,
    make_enrollment,
    make_order,
    make_payment,
    read,
    write,
)

__all__ = ["OperationsContract", "RelayOutbox"]

RelayOutbox: TypeAlias = Callable[[datetime], list[str]]
"""Publishes every event of the outbox not marked sent, oldest first, marking each sent at
the time given; returns the ids of the events published."""

_MINUTE = timedelta(minutes=1)
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


def _order(token: str, status: OrderStatus, at: datetime) -> Order:
    """An order of its own cart, in ``status`` since ``at``."""
    order = make_order(token, cart_token=f"cart_of_{token}")
    return attrs.evolve(order, status=status, updated_at=at)


def _payment(
    payment_id: str,
    order_token: str,
    *,
    at: datetime,
    ref: str | None = None,
    provider: str = "fake",
) -> Payment:
    """A new payment created at ``at``, with the session ``ref`` when given."""
    payment = attrs.evolve(make_payment(payment_id, order_token=order_token), provider=provider)
    payment = attrs.evolve(payment, created_at=at, updated_at=at)
    return payment if ref is None else payment.attach_session(ref, at)


def _store(uow: UnitOfWork, *records: Order | Payment) -> None:
    for record in records:
        if isinstance(record, Order):
            uow.carts.add(make_cart(record.cart_token, status=CartStatus.CONVERTED))
            uow.orders.add(record)
        else:
            uow.payments.add(record)


def _ids(payments: list[Payment]) -> list[str]:
    return [payment.id for payment in payments]


def _tokens(orders: list[Order]) -> list[str]:
    return [order.token for order in orders]


_CONSUMER = "consumer:enrollment"


def _claim(
    event_id: str,
    at: datetime,
    *,
    status: InboxStatus = InboxStatus.CLAIMED,
    type: str = "order.paid",  # noqa: A002 - the entries' field is named type
    provider: str = _CONSUMER,
) -> InboxEntry:
    """A consumer's record of ``event_id``, claimed (or in ``status``) since ``at``."""
    return InboxEntry(provider, event_id, type, at, status, body="")


def _paid(event_id: str, order_token: str, at: datetime = NOW) -> OrderPaid:
    """The ``order.paid`` of ``order_token`` (what the consumer needs of it is not read here)."""
    return OrderPaid(event_id, at, order_token, "usr_1", 100_00, "INR", "fake", "pay_1", ())


class OperationsContract:
    """What every store answers to the jobs' queries, proved on a fresh store per test."""

    relays_outbox: ClassVar[bool]

    @pytest.fixture
    def uow_factory(self) -> UnitOfWorkFactory:
        """Units of work over an empty store; every subclass provides it."""
        raise NotImplementedError

    @pytest.fixture
    def relay_outbox(self) -> RelayOutbox:
        """The store's relay, publishing to a queue of its own; every subclass provides it."""
        raise NotImplementedError

    # Payments to reconcile.

    def test_unsettled_payments_are_those_with_a_session_and_no_money_in_the_window(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        old = NOW - 2 * _HOUR
        captured = _payment("pay_captured", "ord_1", at=old, ref="ref_c")
        captured = captured.apply(PaymentEvent.captured(captured.amount, old)).payment
        failed = _payment("pay_failed", "ord_1", at=old, ref="ref_f")
        failed = failed.apply(PaymentEvent.failed(old, "card_declined")).payment
        authorized = _payment("pay_auth", "ord_1", at=old, ref="ref_a")
        authorized = authorized.apply(PaymentEvent.authorized(old)).payment
        write(
            uow_factory,
            lambda uow: _store(
                uow,
                _order("ord_1", OrderStatus.AWAITING_PAYMENT, old),
                _payment("pay_open", "ord_1", at=old, ref="ref_o"),
                authorized,
                failed,
                captured,
                _payment("pay_no_session", "ord_1", at=old),
                _payment("pay_other", "ord_1", at=old, ref="ref_x", provider="razorpay"),
                _payment("pay_recent", "ord_1", at=NOW, ref="ref_r"),
                _payment("pay_ancient", "ord_1", at=NOW - 2 * _DAY, ref="ref_z"),
            ),
        )

        found = read(
            uow_factory,
            lambda uow: uow.payments.unsettled(
                "fake", changed_from=NOW - _DAY, changed_before=NOW - _HOUR, after=None, limit=10
            ),
        )

        assert _ids(found) == ["pay_auth", "pay_failed", "pay_open"]
        assert found[2] == _payment("pay_open", "ord_1", at=old, ref="ref_o")

    def test_unsettled_payments_come_in_batches_by_time_then_id(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # Two share an instant: the id breaks the tie, and the cursor must not skip either.
        times = {"pay_c": 3, "pay_a": 1, "pay_b2": 2, "pay_b1": 2, "pay_d": 4}
        write(
            uow_factory,
            lambda uow: _store(
                uow,
                _order("ord_1", OrderStatus.AWAITING_PAYMENT, NOW),
                *(
                    _payment(pid, "ord_1", at=NOW - _DAY + minutes * _MINUTE, ref=f"ref_{pid}")
                    for pid, minutes in times.items()
                ),
            ),
        )
        batches: list[list[str]] = []
        after: Payment | None = None
        while True:
            batch = read(
                uow_factory,
                lambda uow, after=after: uow.payments.unsettled(  # type: ignore[misc]
                    "fake", changed_from=NOW - _DAY, changed_before=NOW, after=after, limit=2
                ),
            )
            batches.append(_ids(batch))
            if len(batch) < 2:
                break
            after = batch[-1]

        assert batches == [["pay_a", "pay_b1"], ["pay_b2", "pay_c"], ["pay_d"]]

    def test_sessionless_payments_are_new_ones_without_a_session_whose_order_waits(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        at = NOW - _HOUR
        write(
            uow_factory,
            lambda uow: _store(
                uow,
                _order("ord_waiting", OrderStatus.AWAITING_PAYMENT, at),
                _order("ord_expired", OrderStatus.EXPIRED, at),
                _payment("pay_1", "ord_waiting", at=at),
                _payment("pay_2", "ord_waiting", at=at, ref="ref_2"),
                _payment("pay_3", "ord_expired", at=at),
                _payment("pay_4", "ord_waiting", at=NOW),
            ),
        )

        found = read(
            uow_factory,
            lambda uow: uow.payments.sessionless(
                "fake", changed_from=NOW - _DAY, changed_before=NOW - _MINUTE, after=None, limit=10
            ),
        )

        assert _ids(found) == ["pay_1"]

    def test_payments_without_an_order_are_counted_since_a_time(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(
            uow_factory,
            lambda uow: _store(
                uow,
                _order("ord_1", OrderStatus.AWAITING_PAYMENT, NOW),
                _payment("pay_1", "ord_1", at=NOW),
                _payment("pay_lost", "ord_gone", at=NOW),
                _payment("pay_old", "ord_gone", at=NOW - 2 * _DAY),
            ),
        )

        assert read(uow_factory, lambda uow: uow.payments.count_without_order(NOW - _DAY)) == 1

    # Orders to expire.

    def test_stale_unpaid_orders_are_locked_in_batches_oldest_first(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        stale = NOW - 2 * _HOUR
        write(
            uow_factory,
            lambda uow: _store(
                uow,
                _order("ord_b", OrderStatus.AWAITING_PAYMENT, stale),
                _order("ord_a", OrderStatus.AWAITING_PAYMENT, stale),
                _order("ord_failed", OrderStatus.PAYMENT_FAILED, stale + _MINUTE),
                _order("ord_pending", OrderStatus.PENDING, stale - _MINUTE),
                _order("ord_fresh", OrderStatus.AWAITING_PAYMENT, NOW),
                _order("ord_paid", OrderStatus.PAID, stale),
                _order("ord_expired", OrderStatus.EXPIRED, stale),
            ),
        )

        with uow_factory() as uow:
            first = uow.orders.lock_stale_unpaid(NOW - _HOUR, after=None, limit=2)
            rest = uow.orders.lock_stale_unpaid(NOW - _HOUR, after=first[-1], limit=10)

        assert [order.token for order in first] == ["ord_pending", "ord_a"]
        assert [order.token for order in rest] == ["ord_b", "ord_failed"]
        assert rest[1] == _order("ord_failed", OrderStatus.PAYMENT_FAILED, stale + _MINUTE)

    def test_paid_orders_without_a_captured_payment_are_counted(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        captured = _payment("pay_1", "ord_ok", at=NOW, ref="ref_1")
        captured = captured.apply(PaymentEvent.captured(captured.amount, NOW)).payment
        write(
            uow_factory,
            lambda uow: _store(
                uow,
                _order("ord_ok", OrderStatus.PAID, NOW),
                captured,
                _order("ord_unbacked", OrderStatus.COMPLETED, NOW),
                _payment("pay_2", "ord_unbacked", at=NOW, ref="ref_2"),
                _order("ord_bare", OrderStatus.PAID, NOW),
                _order("ord_waiting", OrderStatus.AWAITING_PAYMENT, NOW),
                _order("ord_old", OrderStatus.PAID, NOW - 2 * _DAY),
            ),
        )

        assert read(uow_factory, lambda uow: uow.orders.count_paid_without_capture(NOW - _DAY)) == 2

    def test_completed_orders_without_enrollments_are_counted(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        enrollment: Enrollment = make_enrollment("enr_1", "int_123", order_token="ord_enrolled")
        write(
            uow_factory,
            lambda uow: _store(
                uow,
                _order("ord_enrolled", OrderStatus.COMPLETED, NOW),
                _order("ord_empty", OrderStatus.COMPLETED, NOW),
                _order("ord_paid", OrderStatus.PAID, NOW),
                _order("ord_old", OrderStatus.COMPLETED, NOW - 2 * _DAY),
            ),
            lambda uow: uow.enrollments.add_missing([enrollment]),
        )

        counted = read(
            uow_factory, lambda uow: uow.orders.count_completed_without_enrollments(NOW - _DAY)
        )

        assert counted == 1

    # Carts.

    def test_abandoned_carts_are_counted_by_sale_over_a_window_of_expiry(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        carts = [
            make_cart("active_past", expires_at=NOW - _HOUR),
            make_cart("marked", expires_at=NOW - 2 * _HOUR, status=CartStatus.EXPIRED),
            attrs.evolve(make_cart("no_sale", expires_at=NOW - _HOUR), sale_slug=None),
            make_cart("ordered", expires_at=NOW - _HOUR, status=CartStatus.CONVERTED),
            make_cart("live", expires_at=NOW + _HOUR),
            make_cart("long_ago", expires_at=NOW - 3 * _DAY, status=CartStatus.EXPIRED),
        ]
        write(uow_factory, *(lambda uow, cart=cart: uow.carts.add(cart) for cart in carts))

        day = read(uow_factory, lambda uow: uow.carts.count_abandoned(NOW - _DAY, NOW))
        week = read(uow_factory, lambda uow: uow.carts.count_abandoned(NOW - 7 * _DAY, NOW))

        assert day == {"summer2024": 2, None: 1}
        assert week == {"summer2024": 3, None: 1}

    def test_carts_marked_ordered_without_an_order_are_counted(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(
            uow_factory,
            lambda uow: _store(uow, _order("ord_1", OrderStatus.AWAITING_PAYMENT, NOW)),
            lambda uow: uow.carts.add(make_cart("lost", status=CartStatus.CONVERTED)),
            lambda uow: uow.carts.add(make_cart("active")),
            lambda uow: uow.carts.add(
                make_cart("old", expires_at=NOW - 3 * _DAY, status=CartStatus.CONVERTED)
            ),
        )

        counted = read(uow_factory, lambda uow: uow.carts.count_converted_without_order(NOW))

        assert counted == 1

    # The outbox.

    def test_events_waiting_for_a_relay_are_counted_once_old_enough(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        order = make_order()
        write(
            uow_factory,
            lambda uow: uow.outbox.append(OrderCompleted.of("evt_old", order, NOW - 2 * _HOUR)),
            lambda uow: uow.outbox.append(OrderCompleted.of("evt_new", order, NOW)),
        )

        counted = read(uow_factory, lambda uow: uow.outbox.count_unsent(NOW - _HOUR))

        assert counted == (1 if self.relays_outbox else 0)

    # Paid orders whose event a broker may have lost.

    def test_stalled_paid_orders_are_the_paid_ones_last_updated_in_the_window(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        window_from, window_before = NOW - 7 * _DAY, NOW - 10 * _MINUTE
        write(
            uow_factory,
            lambda uow: _store(
                uow,
                _order("ord_b", OrderStatus.PAID, NOW - _HOUR),
                _order("ord_a", OrderStatus.PAID, NOW - _HOUR),
                _order("ord_first", OrderStatus.PAID, window_from),
                _order("ord_just_paid", OrderStatus.PAID, window_before),
                _order("ord_long_ago", OrderStatus.PAID, window_from - _MINUTE),
                _order("ord_completed", OrderStatus.COMPLETED, NOW - _HOUR),
                _order("ord_waiting", OrderStatus.AWAITING_PAYMENT, NOW - _HOUR),
                _order("ord_refunded", OrderStatus.REFUNDED, NOW - _HOUR),
            ),
        )

        found = read(
            uow_factory,
            lambda uow: uow.orders.stalled_paid(window_from, window_before, after=None, limit=10),
        )

        assert _tokens(found) == ["ord_first", "ord_a", "ord_b"]
        assert found[1] == _order("ord_a", OrderStatus.PAID, NOW - _HOUR)

    def test_stalled_paid_orders_come_in_batches_by_time_then_token(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        # Two share an instant: the token breaks the tie, and the cursor must not skip either.
        minutes = {"ord_c": 30, "ord_a": 50, "ord_b2": 40, "ord_b1": 40, "ord_d": 20}
        write(
            uow_factory,
            lambda uow: _store(
                uow,
                *(
                    _order(token, OrderStatus.PAID, NOW - ago * _MINUTE)
                    for token, ago in minutes.items()
                ),
            ),
        )
        batches: list[list[str]] = []
        after: Order | None = None
        while True:
            batch = read(
                uow_factory,
                lambda uow, after=after: uow.orders.stalled_paid(  # type: ignore[misc]
                    NOW - _DAY, NOW, after=after, limit=2
                ),
            )
            batches.append(_tokens(batch))
            if len(batch) < 2:
                break
            after = batch[-1]

        assert batches == [["ord_a", "ord_b1"], ["ord_b2", "ord_c"], ["ord_d"]]

    def test_relayed_events_are_those_of_the_orders_named_that_a_relay_marked_sent(
        self, uow_factory: UnitOfWorkFactory, relay_outbox: RelayOutbox
    ) -> None:
        write(
            uow_factory,
            lambda uow: uow.outbox.append(_paid("evt_1", "ord_1", NOW - _HOUR)),
            lambda uow: uow.outbox.append(
                NotificationRequested("evt_2", NOW, "ord_1", "usr_1", "welcome")
            ),
            lambda uow: uow.outbox.append(_paid("evt_3", "ord_3")),
        )
        assert relay_outbox(NOW + _MINUTE) == ["evt_1", "evt_2", "evt_3"]
        write(uow_factory, lambda uow: uow.outbox.append(_paid("evt_4", "ord_4")))

        found = read(
            uow_factory,
            lambda uow: uow.outbox.relayed("order.paid", ["ord_1", "ord_2", "ord_4"]),
        )

        assert found == [RelayedEvent("evt_1", "ord_1", NOW - _HOUR, NOW + _MINUTE)]
        assert read(uow_factory, lambda uow: uow.outbox.relayed("order.paid", [])) == []

    def test_relayed_events_are_found_by_their_ids_once_a_relay_marked_them_sent(
        self, uow_factory: UnitOfWorkFactory, relay_outbox: RelayOutbox
    ) -> None:
        write(
            uow_factory,
            lambda uow: uow.outbox.append(_paid("evt_1", "ord_1", NOW - _HOUR)),
            lambda uow: uow.outbox.append(_paid("evt_2", "ord_2")),
        )
        relay_outbox(NOW)
        write(uow_factory, lambda uow: uow.outbox.append(_paid("evt_3", "ord_3")))

        found = read(
            uow_factory, lambda uow: uow.outbox.relayed_events(["evt_3", "evt_1", "evt_9"])
        )

        assert found == [RelayedEvent("evt_1", "ord_1", NOW - _HOUR, NOW)]
        assert read(uow_factory, lambda uow: uow.outbox.relayed_events([])) == []

    def test_stale_claims_are_the_claimed_entries_of_a_consumer_and_type_in_the_window(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        window_from, window_before = NOW - 7 * _DAY, NOW - 10 * _MINUTE
        entries = [
            _claim("evt_b", NOW - _HOUR),
            _claim("evt_a", NOW - _HOUR),
            _claim("evt_first", window_from),
            _claim("evt_fresh", window_before),
            _claim("evt_long_ago", window_from - _MINUTE),
            _claim("evt_done", NOW - _HOUR, status=InboxStatus.APPLIED),
            _claim("evt_other_type", NOW - _HOUR, type="notification.requested"),
            _claim("evt_other_consumer", NOW - _HOUR, provider="consumer:analytics"),
        ]
        write(uow_factory, *(lambda uow, e=entry: uow.inbox.record(e) for entry in entries))

        found = read(
            uow_factory,
            lambda uow: uow.inbox.stale_claims(
                _CONSUMER, "order.paid", window_from, window_before, after=None, limit=10
            ),
        )

        assert [entry.event_id for entry in found] == ["evt_first", "evt_a", "evt_b"]
        assert found[1] == entries[1]

    def test_stale_claims_come_in_batches_by_claim_time_then_event_id(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        minutes = {"evt_c": 30, "evt_a": 50, "evt_b2": 40, "evt_b1": 40, "evt_d": 20}
        claims = [_claim(event_id, NOW - ago * _MINUTE) for event_id, ago in minutes.items()]
        write(uow_factory, *(lambda uow, e=claim: uow.inbox.record(e) for claim in claims))
        batches: list[list[str]] = []
        after: InboxEntry | None = None
        while True:
            batch = read(
                uow_factory,
                lambda uow, after=after: uow.inbox.stale_claims(  # type: ignore[misc]
                    _CONSUMER, "order.paid", NOW - _DAY, NOW, after=after, limit=2
                ),
            )
            batches.append([entry.event_id for entry in batch])
            if len(batch) < 2:
                break
            after = batch[-1]

        assert batches == [["evt_a", "evt_b1"], ["evt_b2", "evt_c"], ["evt_d"]]

    def test_a_resent_event_is_published_again_by_the_relay_before_newer_ones(
        self, uow_factory: UnitOfWorkFactory, relay_outbox: RelayOutbox
    ) -> None:
        write(
            uow_factory,
            lambda uow: uow.outbox.append(_paid("evt_1", "ord_1")),
            lambda uow: uow.outbox.append(_paid("evt_2", "ord_2")),
        )
        relay_outbox(NOW)
        write(uow_factory, lambda uow: uow.outbox.append(_paid("evt_3", "ord_3")))
        (relayed,) = read(uow_factory, lambda uow: uow.outbox.relayed("order.paid", ["ord_1"]))

        with uow_factory() as uow:
            resent = uow.outbox.resend([relayed])
            uow.commit()

        assert resent == 1
        assert read(uow_factory, lambda uow: uow.outbox.relayed("order.paid", ["ord_1"])) == []
        assert relay_outbox(NOW + _HOUR) == ["evt_1", "evt_3"]
        again = read(uow_factory, lambda uow: uow.outbox.relayed("order.paid", ["ord_1"]))
        assert again == [RelayedEvent("evt_1", "ord_1", NOW, NOW + _HOUR)]

    def test_an_event_relayed_again_since_it_was_read_is_not_resent(
        self, uow_factory: UnitOfWorkFactory, relay_outbox: RelayOutbox
    ) -> None:
        write(uow_factory, lambda uow: uow.outbox.append(_paid("evt_1", "ord_1")))
        relay_outbox(NOW)
        (stale,) = read(uow_factory, lambda uow: uow.outbox.relayed("order.paid", ["ord_1"]))
        write(uow_factory, lambda uow: uow.outbox.resend([stale]))
        relay_outbox(NOW + _HOUR)

        with uow_factory() as uow:
            resent = uow.outbox.resend([stale])
            uow.commit()

        assert resent == 0
        found = read(uow_factory, lambda uow: uow.outbox.relayed("order.paid", ["ord_1"]))
        assert found == [RelayedEvent("evt_1", "ord_1", NOW, NOW + _HOUR)]
        assert relay_outbox(NOW + 2 * _HOUR) == []

    def test_a_resend_rolled_back_leaves_the_event_marked_sent(
        self, uow_factory: UnitOfWorkFactory, relay_outbox: RelayOutbox
    ) -> None:
        write(uow_factory, lambda uow: uow.outbox.append(_paid("evt_1", "ord_1")))
        relay_outbox(NOW)
        (relayed,) = read(uow_factory, lambda uow: uow.outbox.relayed("order.paid", ["ord_1"]))

        with uow_factory() as uow:
            assert uow.outbox.resend([relayed]) == 1

        assert read(uow_factory, lambda uow: uow.outbox.relayed("order.paid", ["ord_1"])) == [
            relayed
        ]
        assert relay_outbox(NOW + _HOUR) == []
