"""The contract of ``ports.UnitOfWork``: its transaction and every repository in it.

An adapter's test module subclasses :class:`UnitOfWorkContract` (under a
name starting with ``Test``), sets ``programming_errors`` and provides the
two fixtures ``uow_factory`` and ``read_outbox``, each giving a fresh, empty
store for every test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import ClassVar, TypeAlias, TypeVar

import attrs
import pytest

from checkout_adapters.demo import demo_catalog
from checkout_core.domain.cart import Cart, CartLine, CartStatus
from checkout_core.domain.catalog import Period
from checkout_core.domain.discounts import Coupon, CouponRedemption, CouponUsage
from checkout_core.domain.enrollments import Enrollment
from checkout_core.domain.events import (
    DomainEvent,
    NotificationRequested,
    OrderCompleted,
    OrderExpired,
    OrderPaid,
    OrderRefunded,
    PaymentFailed,
)
from checkout_core.domain.idempotency import IdempotencyRecord
from checkout_core.domain.money import Currency, Rate, Rounding
from checkout_core.domain.orders import Order, OrderStatus
from checkout_core.domain.payment_events import PaymentEvent
from checkout_core.domain.payments import Payment
from checkout_core.domain.webhooks import InboxEntry, InboxStatus
from checkout_core.errors import (
    CartNotActive,
    CouponExhausted,
    CouponInvalid,
    CouponUserLimitReached,
)
from checkout_core.ports import UnitOfWork, UnitOfWorkFactory
from tests.strategies import build_estimate

__all__ = [
    "CART_TOKEN",
    "INR",
    "NOW",
    "ORDER_TOKEN",
    "OutboxReader",
    "UnitOfWorkContract",
    "make_cart",
    "make_claim",
    "make_coupon",
    "make_enrollment",
    "make_order",
    "make_payment",
    "make_redemption",
    "read",
    "write",
]

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
INR = Currency.of("INR")
CART_TOKEN = "cart_1"
ORDER_TOKEN = "ord_1"
_HOUR = timedelta(hours=1)
_T = TypeVar("_T")

OutboxReader: TypeAlias = Callable[[], Sequence[tuple[str, str]]]
"""Reads back the (name, event_id) of every event committed to the outbox, oldest first."""


# Builders: valid aggregates with every field worth storing set.


def make_cart(
    token: str = CART_TOKEN,
    *,
    expires_at: datetime = NOW + timedelta(hours=24),
    status: CartStatus = CartStatus.ACTIVE,
    owner_id: str | None = "usr_1",
    coupon_code: str | None = "SAVE20",
) -> Cart:
    """A cart of two demo internships under the summer sale, expiring at ``expires_at``."""
    cart = Cart.open(
        token=token,
        lines=[
            CartLine("int_123", Period(3, "month")),
            CartLine("int_456", Period(1, "month")),
        ],
        offerings=demo_catalog().offerings,
        now=expires_at - timedelta(hours=24),
        sale_slug="summer2024",
        analytics_data=[("source", "google"), ("campaign", "summer_sale")],
    )
    return attrs.evolve(cart, owner_id=owner_id, coupon_code=coupon_code, status=status)


def make_order(
    token: str = ORDER_TOKEN, *, cart_token: str = CART_TOKEN, user_id: str | None = "usr_1"
) -> Order:
    """A pending order of two lines, with GST and a coupon, placed at ``NOW``."""
    pricing = build_estimate([1_677_600, 250_00], INR, coupon_code="SAVE20")
    return Order.place(token, cart_token, user_id, pricing, NOW)


def make_payment(
    payment_id: str = "pay_1", *, order_token: str = ORDER_TOKEN, created_at: datetime = NOW
) -> Payment:
    """A new payment of an order, through the ``fake`` provider."""
    return Payment.create(
        payment_id,
        order_token=order_token,
        provider="fake",
        amount=19_796_68,
        currency=INR,
        now=created_at,
    )


def make_coupon(
    code: str = "SAVE20", *, usage_limit: int | None = None, per_user_limit: int | None = None
) -> Coupon:
    """A 20% coupon with the given limits."""
    return Coupon(
        code=code,
        percent_off=Rate.percent(20),
        usage_limit=usage_limit,
        per_user_limit=per_user_limit,
    )


def make_redemption(
    order_token: str, user_id: str | None = "usr_1", *, code: str = "SAVE20"
) -> CouponRedemption:
    """An order's use of the coupon ``code`` at ``NOW``."""
    return CouponRedemption(
        coupon_code=code, order_token=order_token, user_id=user_id, redeemed_at=NOW
    )


def make_enrollment(
    enrollment_id: str,
    offering_id: str,
    *,
    order_token: str = ORDER_TOKEN,
    created_at: datetime = NOW,
) -> Enrollment:
    """An enrollment of ``usr_1`` in ``offering_id`` for two months."""
    return Enrollment(
        id=enrollment_id,
        user_id="usr_1",
        offering_id=offering_id,
        period=Period(2, "month"),
        order_token=order_token,
        created_at=created_at,
    )


def make_claim(
    key: str = "key_1", fingerprint: str = "fp_1", *, now: datetime = NOW
) -> IdempotencyRecord:
    """An in-progress idempotency record begun at ``now``."""
    return IdempotencyRecord.begin(key, fingerprint, now)


def _every_event(order: Order, payment: Payment) -> list[DomainEvent]:
    paid = order.await_payment(NOW).mark_paid(NOW)
    captured = payment.apply(PaymentEvent.captured(payment.amount, NOW)).payment
    failed = payment.apply(PaymentEvent.failed(NOW, "card_declined", "declined")).payment
    return [
        OrderPaid.of("evt_1", paid, attrs.evolve(captured, order_token=order.token), NOW),
        OrderCompleted.of("evt_2", order, NOW),
        PaymentFailed.of("evt_3", failed, NOW),
        OrderExpired.of("evt_4", order, NOW),
        OrderRefunded.of("evt_5", paid.record_refund(100, NOW), 100, NOW),
        NotificationRequested.of("evt_6", order, "welcome", NOW),
    ]


# Running one transaction.


def write(uow_factory: UnitOfWorkFactory, *steps: Callable[[UnitOfWork], object]) -> None:
    """Run ``steps`` in one unit of work and commit."""
    with uow_factory() as uow:
        for step in steps:
            step(uow)
        uow.commit()


def make_inbox_entry(event_id: str = "evt_1") -> InboxEntry:
    """A captured-payment delivery of the fake provider, just received."""
    return InboxEntry(
        provider="fake",
        event_id=event_id,
        type="payment.captured",
        received_at=NOW,
        status=InboxStatus.APPLIED,
        body='{"amount": 100, "note": "₹"}',
    )


def read_and_commit(uow_factory: UnitOfWorkFactory, step: Callable[[UnitOfWork], _T]) -> _T:
    """Run ``step`` in a unit of work of its own, commit, and return what it returned."""
    with uow_factory() as uow:
        result = step(uow)
        uow.commit()
    return result


def read(uow_factory: UnitOfWorkFactory, query: Callable[[UnitOfWork], _T]) -> _T:
    """Run ``query`` in a unit of work of its own, without committing."""
    with uow_factory() as uow:
        return query(uow)


def _place(uow: UnitOfWork, *order_tokens: str) -> None:
    # Each order with the converted cart it came from, as the checkout stores them.
    for token in order_tokens:
        cart_token = f"cart_of_{token}"
        uow.carts.add(make_cart(cart_token, status=CartStatus.CONVERTED))
        uow.orders.add(make_order(token, cart_token=cart_token))


class _Fault(Exception):
    """Raised inside a unit of work to leave it by an exception."""


class UnitOfWorkContract:
    """What every ``UnitOfWork`` adapter does, proved on a fresh store per test.

    Subclasses provide:

    * ``programming_errors``: the exceptions the adapter raises for a
      programming error (adding a key that is stored, updating one that is
      not); ``(ValueError,)`` in memory.
    * the fixture ``uow_factory() -> UnitOfWorkFactory`` over an empty store;
    * the fixture ``read_outbox() -> OutboxReader`` over the same store.
    """

    programming_errors: ClassVar[tuple[type[Exception], ...]]

    @pytest.fixture
    def uow_factory(self) -> UnitOfWorkFactory:
        """Units of work over an empty store; every subclass provides it."""
        raise NotImplementedError

    @pytest.fixture
    def read_outbox(self) -> OutboxReader:
        """The events committed to the outbox of ``uow_factory``'s store, as (name, id)."""
        raise NotImplementedError

    # The transaction.

    def _write_everything(self, uow: UnitOfWork) -> None:
        _place(uow, "ord_1")
        uow.payments.add(make_payment().attach_session("ref_1", NOW))
        uow.discounts.add_coupon(make_coupon())
        uow.discounts.redeem(make_redemption("ord_1"))
        uow.enrollments.add_missing([make_enrollment("enr_1", "int_123")])
        uow.idempotency.claim(make_claim(), replacing=None)
        uow.outbox.append(OrderCompleted.of("evt_1", make_order(), NOW))

    def _assert_nothing_stored(
        self, uow_factory: UnitOfWorkFactory, read_outbox: OutboxReader
    ) -> None:
        with uow_factory() as uow:
            assert uow.carts.get("cart_of_ord_1") is None
            assert uow.orders.get("ord_1") is None
            assert uow.orders.get_by_cart("cart_of_ord_1") is None
            assert uow.payments.get("pay_1") is None
            assert uow.payments.latest_for_order("ord_1") is None
            assert uow.payments.get_by_provider_ref("fake", "ref_1") is None
            assert uow.discounts.coupon("SAVE20", user_id="usr_1") is None
            assert uow.enrollments.for_order("ord_1") == []
            assert uow.idempotency.get("key_1") is None
        assert list(read_outbox()) == []

    def test_what_a_unit_of_work_commits_is_seen_by_the_next_one(
        self, uow_factory: UnitOfWorkFactory, read_outbox: OutboxReader
    ) -> None:
        write(uow_factory, self._write_everything)

        with uow_factory() as uow:
            assert uow.carts.get("cart_of_ord_1") is not None
            assert uow.orders.get("ord_1") == make_order(cart_token="cart_of_ord_1")
            assert uow.payments.get_by_provider_ref("fake", "ref_1") is not None
            assert uow.discounts.coupon("SAVE20", user_id="usr_1") == (
                make_coupon(),
                CouponUsage(total=1, by_user=1),
            )
            assert uow.enrollments.for_order("ord_1") == [make_enrollment("enr_1", "int_123")]
            assert uow.idempotency.get("key_1") == make_claim()
        assert list(read_outbox()) == [("order.completed", "evt_1")]

    def test_a_unit_of_work_reads_its_own_writes_before_committing(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        with uow_factory() as uow:
            self._write_everything(uow)
            paid = make_order(cart_token="cart_of_ord_1").await_payment(NOW)
            uow.orders.update(paid)

            assert uow.orders.get("ord_1") == paid
            assert uow.orders.get_by_cart("cart_of_ord_1") == paid
            assert uow.payments.latest_for_order("ord_1") == make_payment().attach_session(
                "ref_1", NOW
            )
            assert uow.discounts.coupon("SAVE20", user_id="usr_1") == (
                make_coupon(),
                CouponUsage(total=1, by_user=1),
            )
            assert uow.enrollments.for_order("ord_1") == [make_enrollment("enr_1", "int_123")]
            assert uow.idempotency.get("key_1") == make_claim()

    def test_leaving_the_block_without_commit_leaves_nothing_behind(
        self, uow_factory: UnitOfWorkFactory, read_outbox: OutboxReader
    ) -> None:
        with uow_factory() as uow:
            self._write_everything(uow)

        self._assert_nothing_stored(uow_factory, read_outbox)

    def test_an_exception_in_the_block_rolls_everything_back_and_propagates(
        self, uow_factory: UnitOfWorkFactory, read_outbox: OutboxReader
    ) -> None:
        def fail_midway() -> None:
            with uow_factory() as uow:
                self._write_everything(uow)
                raise _Fault

        with pytest.raises(_Fault):
            fail_midway()

        self._assert_nothing_stored(uow_factory, read_outbox)

    def test_a_rollback_forgets_every_write_of_the_transaction(
        self, uow_factory: UnitOfWorkFactory, read_outbox: OutboxReader
    ) -> None:
        with uow_factory() as uow:
            self._write_everything(uow)
            uow.rollback()

        self._assert_nothing_stored(uow_factory, read_outbox)

    def test_changes_to_stored_records_are_undone_without_commit(
        self, uow_factory: UnitOfWorkFactory, read_outbox: OutboxReader
    ) -> None:
        stale = make_cart("cart_stale", expires_at=NOW - _HOUR)
        swept = make_cart("cart_swept", expires_at=NOW - _HOUR, status=CartStatus.EXPIRED)
        write(
            uow_factory,
            self._write_everything,
            lambda uow: uow.carts.add(stale),
            lambda uow: uow.carts.add(swept),
            lambda uow: uow.idempotency.claim(make_claim("key_2"), replacing=None),
        )
        before = read(uow_factory, self._snapshot)

        with uow_factory() as uow:
            uow.carts.update(make_cart("cart_of_ord_1").without_coupon())
            assert uow.carts.expire_stale(NOW, 10) == 1
            assert uow.carts.delete_expired_before(NOW, 10) == 2
            uow.orders.update(make_order(cart_token="cart_of_ord_1").await_payment(NOW))
            payment = make_payment("pay_2").attach_session("ref_2", NOW)
            uow.payments.add(payment)
            uow.payments.update(
                make_payment()
                .attach_session("ref_1", NOW)
                .apply(PaymentEvent.failed(NOW, "card_declined"))
                .payment
            )
            assert uow.discounts.release("SAVE20", "ord_1", NOW)
            uow.enrollments.add_missing([make_enrollment("enr_2", "int_456")])
            uow.idempotency.complete(make_claim().complete(201, "{}"))
            uow.idempotency.release("key_2", "fp_1")
            uow.outbox.append(OrderExpired.of("evt_2", make_order(), NOW))

        assert read(uow_factory, self._snapshot) == before
        assert (
            read(uow_factory, lambda uow: uow.payments.get_by_provider_ref("fake", "ref_2")) is None
        )
        assert list(read_outbox()) == [("order.completed", "evt_1")]

    @staticmethod
    def _snapshot(uow: UnitOfWork) -> tuple[object, ...]:
        return (
            [uow.carts.get(token) for token in ("cart_of_ord_1", "cart_stale", "cart_swept")],
            uow.orders.get("ord_1"),
            uow.payments.get("pay_1"),
            uow.payments.get("pay_2"),
            uow.payments.latest_for_order("ord_1"),
            uow.discounts.coupon("SAVE20", user_id="usr_1"),
            uow.enrollments.for_order("ord_1"),
            uow.idempotency.get("key_1"),
            uow.idempotency.get("key_2"),
        )

    # Carts.

    def test_a_cart_reads_back_as_it_was_stored(self, uow_factory: UnitOfWorkFactory) -> None:
        cart = make_cart()
        write(uow_factory, lambda uow: uow.carts.add(cart))

        stored = read(uow_factory, lambda uow: uow.carts.get("cart_1"))

        assert stored == cart
        assert stored is not None
        assert stored.offering_ids == ("int_123", "int_456")

    def test_an_anonymous_cart_without_coupon_or_sale_reads_back(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        cart = attrs.evolve(
            make_cart(owner_id=None, coupon_code=None), sale_slug=None, analytics_data=()
        )
        write(uow_factory, lambda uow: uow.carts.add(cart))

        assert read(uow_factory, lambda uow: uow.carts.get("cart_1")) == cart

    def test_an_unknown_cart_is_none(self, uow_factory: UnitOfWorkFactory) -> None:
        assert read(uow_factory, lambda uow: uow.carts.get("nope")) is None

    def test_a_cart_read_for_update_is_the_cart_read_plainly(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(uow_factory, lambda uow: uow.carts.add(make_cart()))

        with uow_factory() as uow:
            assert uow.carts.get("cart_1", for_update=True) == uow.carts.get("cart_1")
            assert uow.carts.get("nope", for_update=True) is None

    def test_an_updated_cart_reads_back_in_its_new_state(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(uow_factory, lambda uow: uow.carts.add(make_cart(owner_id=None)))
        changed = make_cart(owner_id=None).bind_to("usr_9").without_coupon().convert()

        write(uow_factory, lambda uow: uow.carts.update(changed))

        assert read(uow_factory, lambda uow: uow.carts.get("cart_1")) == changed

    def test_adding_a_cart_twice_is_refused(self, uow_factory: UnitOfWorkFactory) -> None:
        write(uow_factory, lambda uow: uow.carts.add(make_cart()))

        with uow_factory() as uow, pytest.raises(self.programming_errors):
            uow.carts.add(make_cart(owner_id="usr_2"))

        assert read(uow_factory, lambda uow: uow.carts.get("cart_1")) == make_cart()

    def test_updating_a_cart_never_stored_is_refused(self, uow_factory: UnitOfWorkFactory) -> None:
        with uow_factory() as uow, pytest.raises(self.programming_errors):
            uow.carts.update(make_cart())

    def test_expiring_stale_carts_expires_the_active_ones_whose_time_is_up(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        carts = {
            "past": make_cart("past", expires_at=NOW - _HOUR),
            "due": make_cart("due", expires_at=NOW),
            "future": make_cart("future", expires_at=NOW + _HOUR),
            "ordered": make_cart("ordered", expires_at=NOW - _HOUR, status=CartStatus.CONVERTED),
            "gone": make_cart("gone", expires_at=NOW - _HOUR, status=CartStatus.EXPIRED),
        }
        write(uow_factory, *(lambda uow, cart=cart: uow.carts.add(cart) for cart in carts.values()))

        with uow_factory() as uow:
            assert uow.carts.expire_stale(NOW, 100) == 2
            uow.commit()

        with uow_factory() as uow:
            stored = {token: uow.carts.get(token) for token in carts}
        assert stored == {
            "past": carts["past"].expire(),
            "due": carts["due"].expire(),
            "future": carts["future"],
            "ordered": carts["ordered"],
            "gone": carts["gone"],
        }

    def test_expiring_stale_carts_expires_at_most_the_limit_at_a_time(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        tokens = [f"cart_{index}" for index in range(5)]
        write(
            uow_factory,
            *(
                lambda uow, token=token: uow.carts.add(make_cart(token, expires_at=NOW))
                for token in tokens
            ),
        )

        counts = []
        for _ in range(4):
            with uow_factory() as uow:
                counts.append(uow.carts.expire_stale(NOW, 2))
                uow.commit()

        assert counts == [2, 2, 1, 0]
        statuses = read(uow_factory, lambda uow: [uow.carts.get(token) for token in tokens])
        assert all(cart is not None and cart.status is CartStatus.EXPIRED for cart in statuses)

    def test_sweeping_deletes_expired_and_converted_carts_that_expired_before_the_cutoff(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        expired, converted = CartStatus.EXPIRED, CartStatus.CONVERTED
        carts = [
            make_cart("expired", expires_at=NOW - _HOUR, status=expired),
            make_cart("converted", expires_at=NOW - _HOUR, status=converted),
            make_cart("active", expires_at=NOW - _HOUR),
            make_cart("at_cutoff", expires_at=NOW, status=expired),
            make_cart("after_cutoff", expires_at=NOW + _HOUR, status=converted),
        ]
        write(uow_factory, *(lambda uow, cart=cart: uow.carts.add(cart) for cart in carts))

        with uow_factory() as uow:
            assert uow.carts.delete_expired_before(NOW, 100) == 2
            uow.commit()

        with uow_factory() as uow:
            left = {cart.token for cart in carts if uow.carts.get(cart.token) is not None}
        assert left == {"active", "at_cutoff", "after_cutoff"}

    def test_sweeping_deletes_at_most_the_limit_at_a_time(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        tokens = [f"cart_{index}" for index in range(3)]
        write(
            uow_factory,
            *(
                lambda uow, token=token: uow.carts.add(
                    make_cart(token, expires_at=NOW - _HOUR, status=CartStatus.EXPIRED)
                )
                for token in tokens
            ),
        )

        counts = []
        for _ in range(3):
            with uow_factory() as uow:
                counts.append(uow.carts.delete_expired_before(NOW, 2))
                uow.commit()

        assert counts == [2, 1, 0]
        assert (
            read(uow_factory, lambda uow: [uow.carts.get(token) for token in tokens]) == [None] * 3
        )

    # Orders.

    def test_an_order_reads_back_by_token_and_by_cart(self, uow_factory: UnitOfWorkFactory) -> None:
        order = make_order()
        write(
            uow_factory, lambda uow: uow.carts.add(make_cart()), lambda uow: uow.orders.add(order)
        )

        with uow_factory() as uow:
            assert uow.orders.get("ord_1") == order
            assert uow.orders.get_by_cart("cart_1") == order

    def test_orders_read_back_many_at_once_and_unknown_ones_are_left_out(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(uow_factory, lambda uow: _place(uow, "ord_2", "ord_1", "ord_3"))

        with uow_factory() as uow:
            found = uow.orders.get_many(["ord_3", "nope", "ord_1"], for_update=True)
            assert found == {"ord_1": uow.orders.get("ord_1"), "ord_3": uow.orders.get("ord_3")}
            assert uow.orders.get_many(["ord_2"]) == {"ord_2": uow.orders.get("ord_2")}
            assert uow.orders.get_many([]) == {}

    def test_completing_paid_orders_leaves_the_others_as_they_are(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(uow_factory, lambda uow: _place(uow, "ord_1", "ord_2", "ord_3"))
        paid = make_order("ord_1", cart_token="cart_of_ord_1").await_payment(NOW).mark_paid(NOW)
        paid_too = make_order("ord_2", cart_token="cart_of_ord_2").await_payment(NOW)
        paid_too = paid_too.mark_paid(NOW)
        write(
            uow_factory,
            lambda uow: uow.orders.update(paid),
            lambda uow: uow.orders.update(paid_too),
        )
        later = NOW + _HOUR

        completed = read_and_commit(
            uow_factory,
            lambda uow: uow.orders.complete_paid(["ord_1", "ord_2", "ord_3", "x"], later),
        )

        assert completed == 2
        with uow_factory() as uow:
            assert uow.orders.get("ord_1") == paid.complete(later)
            assert uow.orders.get("ord_2") == paid_too.complete(later)
            assert uow.orders.get("ord_3") == make_order("ord_3", cart_token="cart_of_ord_3")
            assert uow.orders.complete_paid([], later) == 0

    def test_an_anonymous_free_order_reads_back(self, uow_factory: UnitOfWorkFactory) -> None:
        order = Order.place("ord_1", "cart_1", None, build_estimate([0], INR), NOW)
        write(
            uow_factory, lambda uow: uow.carts.add(make_cart()), lambda uow: uow.orders.add(order)
        )

        assert read(uow_factory, lambda uow: uow.orders.get("ord_1")) == order
        assert order.status is OrderStatus.COMPLETED

    def test_unknown_orders_are_none(self, uow_factory: UnitOfWorkFactory) -> None:
        with uow_factory() as uow:
            assert uow.orders.get("nope") is None
            assert uow.orders.get("nope", for_update=True) is None
            assert uow.orders.get_by_cart("nope") is None

    def test_carts_read_back_many_at_once_and_unknown_ones_are_left_out(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(uow_factory, lambda uow: _place(uow, "ord_1", "ord_2"))

        with uow_factory() as uow:
            found = uow.carts.get_many(["cart_of_ord_2", "nope", "cart_of_ord_1"])
            assert found == {
                "cart_of_ord_1": uow.carts.get("cart_of_ord_1"),
                "cart_of_ord_2": uow.carts.get("cart_of_ord_2"),
            }
            assert uow.carts.get_many([]) == {}

    def test_an_order_read_for_update_is_the_order_read_plainly(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(uow_factory, lambda uow: _place(uow, "ord_1"))

        with uow_factory() as uow:
            assert uow.orders.get("ord_1", for_update=True) == uow.orders.get("ord_1")

    def test_an_updated_order_reads_back_in_its_new_state(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(
            uow_factory,
            lambda uow: uow.carts.add(make_cart()),
            lambda uow: uow.orders.add(make_order()),
        )
        later = NOW + _HOUR
        refunded = make_order().await_payment(later).mark_paid(later).record_refund(500, later)

        write(uow_factory, lambda uow: uow.orders.update(refunded))

        with uow_factory() as uow:
            assert uow.orders.get("ord_1") == refunded
            assert uow.orders.get_by_cart("cart_1") == refunded

    def test_a_second_order_for_a_cart_is_refused_as_cart_not_active(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(
            uow_factory,
            lambda uow: uow.carts.add(make_cart()),
            lambda uow: uow.orders.add(make_order()),
        )

        with uow_factory() as uow, pytest.raises(CartNotActive):
            uow.orders.add(make_order("ord_2"))

        with uow_factory() as uow:
            assert uow.orders.get_by_cart("cart_1") == make_order()
            assert uow.orders.get("ord_2") is None

    def test_adding_an_order_twice_is_refused(self, uow_factory: UnitOfWorkFactory) -> None:
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1"),
            lambda uow: uow.carts.add(make_cart("cart_2")),
        )

        with uow_factory() as uow, pytest.raises(self.programming_errors):
            uow.orders.add(make_order("ord_1", cart_token="cart_2"))

        assert read(uow_factory, lambda uow: uow.orders.get_by_cart("cart_2")) is None

    def test_updating_an_order_never_stored_is_refused(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        with uow_factory() as uow, pytest.raises(self.programming_errors):
            uow.orders.update(make_order())

    # Payments.

    @pytest.mark.parametrize(
        "payment",
        [
            pytest.param(make_payment(), id="created"),
            pytest.param(
                make_payment()
                .attach_session("ref_1", NOW)
                .apply(PaymentEvent.failed(NOW + _HOUR, "card_declined", "Declined by the bank"))
                .payment,
                id="failed",
            ),
            pytest.param(
                make_payment()
                .attach_session("ref_1", NOW)
                .apply(PaymentEvent.captured(19_796_68, NOW + _HOUR))
                .payment.apply(PaymentEvent.refunded("rfnd_1", 100_00, NOW + 2 * _HOUR))
                .payment.apply(PaymentEvent.refunded("rfnd_2", 50_00, NOW + 2 * _HOUR))
                .payment,
                id="partially-refunded",
            ),
        ],
    )
    def test_a_payment_reads_back_as_it_was_stored(
        self, uow_factory: UnitOfWorkFactory, payment: Payment
    ) -> None:
        write(uow_factory, lambda uow: _place(uow, "ord_1"), lambda uow: uow.payments.add(payment))

        assert read(uow_factory, lambda uow: uow.payments.get("pay_1")) == payment

    def test_unknown_payments_are_none(self, uow_factory: UnitOfWorkFactory) -> None:
        with uow_factory() as uow:
            assert uow.payments.get("pay_404") is None
            assert uow.payments.get("pay_404", for_update=True) is None
            assert uow.payments.get_by_provider_ref("fake", "ref_404") is None
            assert uow.payments.latest_for_order("ord_404") is None

    def test_a_payment_read_for_update_is_the_payment_read_plainly(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        payment = make_payment().attach_session("ref_1", NOW)
        write(uow_factory, lambda uow: _place(uow, "ord_1"), lambda uow: uow.payments.add(payment))

        with uow_factory() as uow:
            assert uow.payments.get("pay_1", for_update=True) == payment
            assert uow.payments.get_by_provider_ref("fake", "ref_1", for_update=True) == payment

    def test_a_payment_is_found_by_its_provider_reference_once_attached(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1"),
            lambda uow: uow.payments.add(make_payment()),
        )
        attached = make_payment().attach_session("ref_1", NOW + _HOUR)

        write(uow_factory, lambda uow: uow.payments.update(attached))

        with uow_factory() as uow:
            assert uow.payments.get("pay_1") == attached
            assert uow.payments.get_by_provider_ref("fake", "ref_1") == attached
            assert uow.payments.get_by_provider_ref("razorpay", "ref_1") is None
            assert uow.payments.get_by_provider_ref("fake", "ref_2") is None

    def test_the_latest_payment_of_an_order_is_the_one_created_last(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        newer = make_payment("pay_2", created_at=NOW + _HOUR)
        older = make_payment("pay_1", created_at=NOW)
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1", "ord_2"),
            lambda uow: uow.payments.add(newer),
            lambda uow: uow.payments.add(older),
            lambda uow: uow.payments.add(
                make_payment("pay_3", order_token="ord_2", created_at=NOW + 2 * _HOUR)
            ),
        )

        assert read(uow_factory, lambda uow: uow.payments.latest_for_order("ord_1")) == newer

    def test_of_payments_created_at_one_instant_the_latest_is_the_one_stored_last(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1"),
            lambda uow: uow.payments.add(make_payment("pay_b")),
        )
        write(uow_factory, lambda uow: uow.payments.add(make_payment("pay_a")))

        latest = read(uow_factory, lambda uow: uow.payments.latest_for_order("ord_1"))

        assert latest is not None
        assert latest.id == "pay_a"

    def test_adding_a_payment_twice_is_refused(self, uow_factory: UnitOfWorkFactory) -> None:
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1"),
            lambda uow: uow.payments.add(make_payment()),
        )

        with uow_factory() as uow, pytest.raises(self.programming_errors):
            uow.payments.add(make_payment(created_at=NOW + _HOUR))

        assert read(uow_factory, lambda uow: uow.payments.get("pay_1")) == make_payment()

    def test_updating_a_payment_never_stored_is_refused(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        with uow_factory() as uow, pytest.raises(self.programming_errors):
            uow.payments.update(make_payment())

    # Discounts.

    @pytest.mark.parametrize(
        "coupon",
        [
            pytest.param(
                Coupon(
                    code="SUMMER_10-X",
                    percent_off=Rate.percent("12.5"),
                    currency=INR,
                    max_discount=500_00,
                    min_subtotal=1_000_00,
                    valid_from=NOW - timedelta(days=30),
                    valid_until=NOW + timedelta(days=30),
                    usage_limit=100,
                    per_user_limit=2,
                    offering_ids=frozenset({"int_123", "int_456"}),
                    stacks_with_sale=False,
                    active=False,
                    rounding=Rounding.HALF_EVEN,
                ),
                id="percent-with-every-rule",
            ),
            pytest.param(
                Coupon(code="FLAT500", amount_off=500_00, currency=INR), id="fixed-amount"
            ),
            pytest.param(make_coupon(), id="percent-without-rules"),
        ],
    )
    def test_a_coupon_reads_back_with_its_rules_and_no_usage(
        self, uow_factory: UnitOfWorkFactory, coupon: Coupon
    ) -> None:
        write(uow_factory, lambda uow: uow.discounts.add_coupon(coupon))

        found = read(uow_factory, lambda uow: uow.discounts.coupon(coupon.code, user_id="usr_1"))

        assert found == (coupon, CouponUsage(total=0, by_user=0))

    def test_a_coupon_is_found_whatever_the_case_and_spacing_of_its_code(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(uow_factory, lambda uow: uow.discounts.add_coupon(make_coupon()))

        found = read(uow_factory, lambda uow: uow.discounts.coupon("  save20 ", user_id=None))

        assert found == (make_coupon(), CouponUsage())

    @pytest.mark.parametrize("code", ["SAVE30", "", "not a code!", "x" * 65])
    def test_an_unknown_or_malformed_code_finds_no_coupon(
        self, uow_factory: UnitOfWorkFactory, code: str
    ) -> None:
        write(uow_factory, lambda uow: uow.discounts.add_coupon(make_coupon()))

        assert read(uow_factory, lambda uow: uow.discounts.coupon(code, user_id="usr_1")) is None

    def test_redemptions_are_counted_in_all_and_by_the_buyer_asking(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1", "ord_2", "ord_3", "ord_4"),
            lambda uow: uow.discounts.add_coupon(make_coupon()),
            lambda uow: uow.discounts.redeem(make_redemption("ord_1", "usr_1")),
            lambda uow: uow.discounts.redeem(make_redemption("ord_2", "usr_1")),
            lambda uow: uow.discounts.redeem(make_redemption("ord_3", "usr_2")),
            lambda uow: uow.discounts.redeem(make_redemption("ord_4", None)),
        )

        with uow_factory() as uow:
            usages = {
                user: found[1]
                for user in ("usr_1", "usr_2", "usr_3", None)
                if (found := uow.discounts.coupon("SAVE20", user_id=user)) is not None
            }
        assert usages == {
            "usr_1": CouponUsage(total=4, by_user=2),
            "usr_2": CouponUsage(total=4, by_user=1),
            "usr_3": CouponUsage(total=4, by_user=0),
            None: CouponUsage(total=4, by_user=0),
        }

    def test_redeeming_an_unknown_coupon_is_invalid(self, uow_factory: UnitOfWorkFactory) -> None:
        write(uow_factory, lambda uow: _place(uow, "ord_1"))

        with uow_factory() as uow, pytest.raises(CouponInvalid):
            uow.discounts.redeem(make_redemption("ord_1", code="NOPE10"))

    def test_redeeming_again_for_the_same_order_changes_nothing(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1"),
            lambda uow: uow.discounts.add_coupon(make_coupon(usage_limit=1, per_user_limit=1)),
            lambda uow: uow.discounts.redeem(make_redemption("ord_1")),
        )

        write(uow_factory, lambda uow: uow.discounts.redeem(make_redemption("ord_1")))

        found = read(uow_factory, lambda uow: uow.discounts.coupon("SAVE20", user_id="usr_1"))
        assert found is not None
        assert found[1] == CouponUsage(total=1, by_user=1)

    def test_a_coupon_at_its_usage_limit_is_exhausted(self, uow_factory: UnitOfWorkFactory) -> None:
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1", "ord_2", "ord_3"),
            lambda uow: uow.discounts.add_coupon(make_coupon(usage_limit=2)),
            lambda uow: uow.discounts.redeem(make_redemption("ord_1", "usr_1")),
            lambda uow: uow.discounts.redeem(make_redemption("ord_2", "usr_2")),
        )

        with uow_factory() as uow, pytest.raises(CouponExhausted):
            uow.discounts.redeem(make_redemption("ord_3", "usr_3"))

        found = read(uow_factory, lambda uow: uow.discounts.coupon("SAVE20", user_id="usr_3"))
        assert found is not None
        assert found[1] == CouponUsage(total=2, by_user=0)

    def test_a_buyer_at_the_per_user_limit_is_refused_while_others_may_redeem(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1", "ord_2", "ord_3"),
            lambda uow: uow.discounts.add_coupon(make_coupon(per_user_limit=1)),
            lambda uow: uow.discounts.redeem(make_redemption("ord_1", "usr_1")),
        )

        with uow_factory() as uow, pytest.raises(CouponUserLimitReached):
            uow.discounts.redeem(make_redemption("ord_2", "usr_1"))
        write(uow_factory, lambda uow: uow.discounts.redeem(make_redemption("ord_3", "usr_2")))

        found = read(uow_factory, lambda uow: uow.discounts.coupon("SAVE20", user_id="usr_1"))
        assert found is not None
        assert found[1] == CouponUsage(total=2, by_user=1)

    def test_the_total_limit_is_checked_before_the_per_user_limit(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1", "ord_2"),
            lambda uow: uow.discounts.add_coupon(make_coupon(usage_limit=1, per_user_limit=1)),
            lambda uow: uow.discounts.redeem(make_redemption("ord_1", "usr_1")),
        )

        with uow_factory() as uow, pytest.raises(CouponExhausted):
            uow.discounts.redeem(make_redemption("ord_2", "usr_1"))

    def test_releasing_gives_a_redemption_back_once(self, uow_factory: UnitOfWorkFactory) -> None:
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1", "ord_2"),
            lambda uow: uow.discounts.add_coupon(make_coupon()),
            lambda uow: uow.discounts.redeem(make_redemption("ord_1", "usr_1")),
            lambda uow: uow.discounts.redeem(make_redemption("ord_2", "usr_1")),
        )

        with uow_factory() as uow:
            released = [uow.discounts.release("SAVE20", "ord_1", NOW) for _ in range(2)]
            uow.commit()
        again = []
        with uow_factory() as uow:
            again.append(uow.discounts.release("save20", "ord_1", NOW))
            usage = uow.discounts.coupon("SAVE20", user_id="usr_1")

        assert released == [True, False]
        assert again == [False]
        assert usage is not None
        assert usage[1] == CouponUsage(total=1, by_user=1)

    def test_releasing_what_was_never_redeemed_gives_nothing_back(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1", "ord_2"),
            lambda uow: uow.discounts.add_coupon(make_coupon()),
            lambda uow: uow.discounts.redeem(make_redemption("ord_1")),
        )

        with uow_factory() as uow:
            assert uow.discounts.release("SAVE20", "ord_2", NOW) is False
            assert uow.discounts.release("NOPE10", "ord_1", NOW) is False
            assert uow.discounts.release("not a code!", "ord_1", NOW) is False
            found = uow.discounts.coupon("SAVE20", user_id="usr_1")
        assert found is not None
        assert found[1] == CouponUsage(total=1, by_user=1)

    def test_a_released_redemption_no_longer_counts_against_the_limits(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1", "ord_2"),
            lambda uow: uow.discounts.add_coupon(make_coupon(usage_limit=1, per_user_limit=1)),
            lambda uow: uow.discounts.redeem(make_redemption("ord_1", "usr_1")),
            lambda uow: uow.discounts.release("SAVE20", "ord_1", NOW),
        )

        write(uow_factory, lambda uow: uow.discounts.redeem(make_redemption("ord_2", "usr_1")))

        found = read(uow_factory, lambda uow: uow.discounts.coupon("SAVE20", user_id="usr_1"))
        assert found is not None
        assert found[1] == CouponUsage(total=1, by_user=1)

    def test_a_released_redemption_is_active_again_when_redeemed_again(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1"),
            lambda uow: uow.discounts.add_coupon(make_coupon(usage_limit=1)),
            lambda uow: uow.discounts.redeem(make_redemption("ord_1", "usr_1")),
            lambda uow: uow.discounts.release("SAVE20", "ord_1", NOW),
        )

        write(uow_factory, lambda uow: uow.discounts.redeem(make_redemption("ord_1", "usr_1")))

        with uow_factory() as uow:
            found = uow.discounts.coupon("SAVE20", user_id="usr_1")
            assert found is not None
            assert found[1] == CouponUsage(total=1, by_user=1)
            assert uow.discounts.release("SAVE20", "ord_1", NOW) is True

    def test_concurrent_redemptions_never_exceed_the_usage_limit(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        tokens = [f"ord_{index}" for index in range(8)]
        write(
            uow_factory,
            lambda uow: _place(uow, *tokens),
            lambda uow: uow.discounts.add_coupon(make_coupon(usage_limit=3)),
        )
        start = threading.Barrier(len(tokens))

        def redeem(token: str) -> bool:
            start.wait()
            try:
                with uow_factory() as uow:
                    uow.discounts.redeem(make_redemption(token, f"usr_{token}"))
                    uow.commit()
            except CouponExhausted:
                return False
            return True

        with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
            redeemed = list(pool.map(redeem, tokens))

        found = read(uow_factory, lambda uow: uow.discounts.coupon("SAVE20", user_id=None))
        assert redeemed.count(True) == 3
        assert found is not None
        assert found[1].total == 3

    # Enrollments.

    def test_adding_missing_enrollments_stores_and_returns_the_new_ones(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        first = make_enrollment("enr_1", "int_123")
        second = make_enrollment("enr_2", "int_456")
        write(uow_factory, lambda uow: _place(uow, "ord_1"))

        with uow_factory() as uow:
            added = uow.enrollments.add_missing([first, second])
            uow.commit()

        assert added == [first, second]
        assert read(uow_factory, lambda uow: uow.enrollments.for_order("ord_1")) == [first, second]

    def test_adding_missing_enrollments_skips_those_already_stored(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        first = make_enrollment("enr_1", "int_123")
        write(
            uow_factory,
            lambda uow: _place(uow, "ord_1"),
            lambda uow: uow.enrollments.add_missing([first]),
        )
        later = NOW + _HOUR
        repeat = make_enrollment("enr_3", "int_123", created_at=later)
        second = make_enrollment("enr_4", "int_456", created_at=later)

        with uow_factory() as uow:
            added = uow.enrollments.add_missing([repeat, second])
            again = uow.enrollments.add_missing([repeat, second])
            uow.commit()

        assert added == [second]
        assert again == []
        assert read(uow_factory, lambda uow: uow.enrollments.for_order("ord_1")) == [first, second]

    def test_enrollments_are_listed_by_order_in_the_order_they_were_made(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(uow_factory, lambda uow: _place(uow, "ord_1", "ord_2"))
        other = make_enrollment("enr_1", "int_123", order_token="ord_2")
        earlier = make_enrollment("enr_2", "int_456", order_token="ord_1")
        later = make_enrollment("enr_3", "int_123", order_token="ord_1", created_at=NOW + _HOUR)
        write(uow_factory, lambda uow: uow.enrollments.add_missing([other, earlier]))
        write(uow_factory, lambda uow: uow.enrollments.add_missing([later]))

        with uow_factory() as uow:
            assert uow.enrollments.for_order("ord_1") == [earlier, later]
            assert uow.enrollments.for_order("ord_2") == [other]
            assert uow.enrollments.for_order("ord_3") == []

    # Idempotency.

    def test_a_claim_on_a_free_key_holds_it(self, uow_factory: UnitOfWorkFactory) -> None:
        with uow_factory() as uow:
            assert uow.idempotency.claim(make_claim(), replacing=None) is True
            uow.commit()

        with uow_factory() as uow:
            assert uow.idempotency.get("key_1") == make_claim()
            assert uow.idempotency.get("key_2") is None

    def test_a_claim_on_a_held_key_fails_and_changes_nothing(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(uow_factory, lambda uow: uow.idempotency.claim(make_claim(), replacing=None))
        rival = make_claim(fingerprint="fp_2", now=NOW + _HOUR)

        with uow_factory() as uow:
            assert uow.idempotency.claim(rival, replacing=None) is False
            uow.commit()

        assert read(uow_factory, lambda uow: uow.idempotency.get("key_1")) == make_claim()

    def test_a_claim_replacing_the_stored_record_takes_the_key_over(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        abandoned = make_claim()
        write(uow_factory, lambda uow: uow.idempotency.claim(abandoned, replacing=None))
        takeover = make_claim(now=NOW + timedelta(minutes=5))

        with uow_factory() as uow:
            assert uow.idempotency.claim(takeover, replacing=abandoned) is True
            uow.commit()

        assert read(uow_factory, lambda uow: uow.idempotency.get("key_1")) == takeover

    def test_a_claim_replacing_a_record_no_longer_stored_fails(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        abandoned = make_claim()
        first = make_claim(now=NOW + timedelta(minutes=5))
        second = make_claim(now=NOW + timedelta(minutes=6))
        write(uow_factory, lambda uow: uow.idempotency.claim(abandoned, replacing=None))
        write(uow_factory, lambda uow: uow.idempotency.claim(first, replacing=abandoned))

        with uow_factory() as uow:
            assert uow.idempotency.claim(second, replacing=abandoned) is False
            uow.commit()

        assert read(uow_factory, lambda uow: uow.idempotency.get("key_1")) == first

    def test_a_completed_record_reads_back_with_its_response(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        completed = make_claim().complete(201, '{"status": 201, "success": true}')
        write(uow_factory, lambda uow: uow.idempotency.claim(make_claim(), replacing=None))

        write(uow_factory, lambda uow: uow.idempotency.complete(completed))

        assert read(uow_factory, lambda uow: uow.idempotency.get("key_1")) == completed

    def test_a_record_completed_with_an_empty_body_keeps_it_empty(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        completed = make_claim().complete(204, "")
        write(
            uow_factory,
            lambda uow: uow.idempotency.claim(make_claim(), replacing=None),
            lambda uow: uow.idempotency.complete(completed),
        )

        assert read(uow_factory, lambda uow: uow.idempotency.get("key_1")) == completed

    def test_releasing_a_claim_frees_its_key(self, uow_factory: UnitOfWorkFactory) -> None:
        write(uow_factory, lambda uow: uow.idempotency.claim(make_claim(), replacing=None))

        write(uow_factory, lambda uow: uow.idempotency.release("key_1", "fp_1"))

        with uow_factory() as uow:
            assert uow.idempotency.get("key_1") is None
            assert uow.idempotency.claim(make_claim(fingerprint="fp_2"), replacing=None) is True

    def test_releasing_keeps_claims_of_other_requests_and_completed_records(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        completed = make_claim("key_2").complete(200, "{}")
        write(
            uow_factory,
            lambda uow: uow.idempotency.claim(make_claim("key_1"), replacing=None),
            lambda uow: uow.idempotency.claim(make_claim("key_2"), replacing=None),
            lambda uow: uow.idempotency.complete(completed),
        )

        write(
            uow_factory,
            lambda uow: uow.idempotency.release("key_1", "fp_other"),
            lambda uow: uow.idempotency.release("key_2", "fp_1"),
            lambda uow: uow.idempotency.release("key_404", "fp_1"),
        )

        with uow_factory() as uow:
            assert uow.idempotency.get("key_1") == make_claim("key_1")
            assert uow.idempotency.get("key_2") == completed
            assert uow.idempotency.get("key_404") is None

    def test_concurrent_claims_on_one_key_have_one_winner(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        rivals = [make_claim(fingerprint=f"fp_{index}") for index in range(8)]
        start = threading.Barrier(len(rivals))

        def claim(record: IdempotencyRecord) -> bool:
            start.wait()
            with uow_factory() as uow:
                won = uow.idempotency.claim(record, replacing=None)
                uow.commit()
            return won

        with ThreadPoolExecutor(max_workers=len(rivals)) as pool:
            won = list(pool.map(claim, rivals))

        assert won.count(True) == 1
        winner = rivals[won.index(True)]
        assert read(uow_factory, lambda uow: uow.idempotency.get("key_1")) == winner

    # The webhook inbox.

    def test_a_delivery_is_recorded_once_and_its_fate_kept(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        entry = make_inbox_entry()
        first = read_and_commit(uow_factory, lambda uow: uow.inbox.record(entry))
        again = read_and_commit(uow_factory, lambda uow: uow.inbox.record(entry))
        assert (first, again) == (True, False)
        write(
            uow_factory,
            lambda uow: uow.inbox.mark("fake", "evt_1", InboxStatus.UNMATCHED, "no payment"),
        )
        stored = read(uow_factory, lambda uow: uow.inbox.get("fake", "evt_1"))
        assert stored == attrs.evolve(entry, status=InboxStatus.UNMATCHED, detail="no payment")
        assert read(uow_factory, lambda uow: uow.inbox.get("other", "evt_1")) is None

    def test_deliveries_are_recorded_read_and_marked_many_at_once(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(uow_factory, lambda uow: uow.inbox.record(make_inbox_entry("evt_1")))
        entries = [make_inbox_entry(f"evt_{n}") for n in (1, 2, 3)]

        recorded = read_and_commit(uow_factory, lambda uow: uow.inbox.record_many(entries))
        found = read(uow_factory, lambda uow: uow.inbox.get_many("fake", ["evt_3", "evt_1", "x"]))
        marked = read_and_commit(
            uow_factory,
            lambda uow: uow.inbox.mark_many("fake", ["evt_2", "evt_3", "x"], InboxStatus.CLAIMED),
        )

        assert recorded == 2
        assert found == {"evt_1": entries[0], "evt_3": entries[2]}
        assert marked == 2
        stored = read(uow_factory, lambda uow: uow.inbox.get_many("fake", ["evt_1", "evt_2"]))
        assert stored["evt_1"] == entries[0]
        assert stored["evt_2"] == attrs.evolve(entries[1], status=InboxStatus.CLAIMED)
        assert read(uow_factory, lambda uow: uow.inbox.get_many("other", ["evt_1"])) == {}
        assert read_and_commit(uow_factory, lambda uow: uow.inbox.record_many([])) == 0

    def test_a_delivery_can_be_claimed_again_since_a_new_time(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        write(uow_factory, lambda uow: uow.inbox.record(make_inbox_entry()))
        later = NOW + timedelta(minutes=1)
        write(uow_factory, lambda uow: uow.inbox.reclaim("fake", "evt_1", later))
        stored = read(uow_factory, lambda uow: uow.inbox.get("fake", "evt_1"))
        assert stored is not None
        assert (stored.status, stored.received_at) == (InboxStatus.CLAIMED, later)

    def test_a_rolled_back_delivery_is_not_recorded(self, uow_factory: UnitOfWorkFactory) -> None:
        with uow_factory() as uow:
            assert uow.inbox.record(make_inbox_entry())
        assert read(uow_factory, lambda uow: uow.inbox.get("fake", "evt_1")) is None

    def test_concurrent_deliveries_of_one_event_record_it_once(
        self, uow_factory: UnitOfWorkFactory
    ) -> None:
        start = threading.Barrier(8)

        def deliver(_: int) -> bool:
            start.wait()
            with uow_factory() as uow:
                recorded = uow.inbox.record(make_inbox_entry())
                uow.commit()
            return recorded

        with ThreadPoolExecutor(max_workers=8) as pool:
            recorded = list(pool.map(deliver, range(8)))

        assert recorded.count(True) == 1

    # The outbox.

    def test_committed_events_are_read_back_in_the_order_they_were_appended(
        self, uow_factory: UnitOfWorkFactory, read_outbox: OutboxReader
    ) -> None:
        order = make_order()
        write(
            uow_factory,
            lambda uow: uow.outbox.append(OrderCompleted.of("evt_2", order, NOW)),
            lambda uow: uow.outbox.append(OrderExpired.of("evt_1", order, NOW)),
        )
        write(uow_factory, lambda uow: uow.outbox.append(OrderExpired.of("evt_0", order, NOW)))

        assert list(read_outbox()) == [
            ("order.completed", "evt_2"),
            ("order.expired", "evt_1"),
            ("order.expired", "evt_0"),
        ]

    def test_every_kind_of_event_can_be_queued(
        self, uow_factory: UnitOfWorkFactory, read_outbox: OutboxReader
    ) -> None:
        events = _every_event(make_order(), make_payment())

        write(uow_factory, *(lambda uow, event=event: uow.outbox.append(event) for event in events))

        assert list(read_outbox()) == [(event.name, event.event_id) for event in events]

    def test_events_of_a_rolled_back_transaction_are_never_seen(
        self, uow_factory: UnitOfWorkFactory, read_outbox: OutboxReader
    ) -> None:
        order = make_order()
        with uow_factory() as uow:
            uow.outbox.append(OrderCompleted.of("evt_1", order, NOW))
        write(uow_factory, lambda uow: uow.outbox.append(OrderExpired.of("evt_2", order, NOW)))

        assert list(read_outbox()) == [("order.expired", "evt_2")]
