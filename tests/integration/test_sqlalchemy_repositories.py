from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta, timezone
from typing import Any

import attrs
import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from checkout_adapters.sqlalchemy import SqlOutboxReader, SqlUnitOfWorkFactory, tables
from checkout_core.domain.cart import CartStatus
from checkout_core.domain.events import OrderCompleted, OrderExpired
from checkout_core.domain.orders import Order
from checkout_core.errors import CartNotActive, CouponUserLimitReached
from checkout_core.ports import UnitOfWork
from tests.contract.unit_of_work import (
    NOW,
    make_cart,
    make_claim,
    make_coupon,
    make_enrollment,
    make_order,
    make_redemption,
    read,
    write,
)
from tests.integration.sql_support import estimate_with_every_note

_HOUR = timedelta(hours=1)


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements ``engine`` runs in the block, transaction control left out."""
    seen: list[str] = []

    def record(*arguments: Any) -> None:
        statement: str = arguments[2]
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_an_order_keeps_an_estimate_with_notes_through_the_database(engine: Engine) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    order = Order.place("ord_1", "cart_1", "usr_1", estimate_with_every_note(), NOW)
    write(factory, lambda uow: uow.carts.add(make_cart()), lambda uow: uow.orders.add(order))

    stored = read(factory, lambda uow: uow.orders.get("ord_1"))

    assert stored == order
    assert stored is not None
    assert stored.pricing.notes == order.pricing.notes


def test_a_second_order_for_a_cart_is_translated_from_the_integrity_error(engine: Engine) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    write(factory, lambda uow: uow.carts.add(make_cart()), lambda uow: uow.orders.add(make_order()))

    with factory() as uow:
        with pytest.raises(CartNotActive) as raised:
            uow.orders.add(make_order("ord_2"))
        # PostgreSQL has aborted the transaction: the caller rolls back and goes on.
        uow.rollback()
        assert uow.orders.get_by_cart("cart_1") == make_order()

    assert isinstance(raised.value.__cause__, IntegrityError)


def test_another_integrity_error_of_an_order_is_not_taken_for_a_used_cart(engine: Engine) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    write(factory, lambda uow: uow.orders.add(make_order()))

    with factory() as uow, pytest.raises(IntegrityError):
        uow.orders.add(make_order(cart_token="cart_2"))


def test_the_database_refuses_a_coupon_used_beyond_its_limit(engine: Engine) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    write(factory, lambda uow: uow.discounts.add_coupon(make_coupon(usage_limit=2)))
    overuse = text("UPDATE coupons SET used = usage_limit + 1 WHERE code = 'SAVE20'")

    with engine.connect() as connection, pytest.raises(IntegrityError):
        connection.execute(overuse)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE coupons SET used = -1",
        "UPDATE orders SET refunded_amount = total + 1",
        "UPDATE orders SET status = 'lost'",
        "UPDATE carts SET status = 'abandoned'",
    ],
)
def test_the_database_refuses_values_no_aggregate_can_hold(engine: Engine, statement: str) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    write(
        factory,
        lambda uow: uow.carts.add(make_cart()),
        lambda uow: uow.orders.add(make_order()),
        lambda uow: uow.discounts.add_coupon(make_coupon()),
    )

    with engine.connect() as connection, pytest.raises(IntegrityError):
        connection.execute(text(statement))


def test_a_redemption_needs_a_coupon_that_exists(engine: Engine) -> None:
    insert = text(
        "INSERT INTO coupon_redemptions (coupon_code, order_token, status, redeemed_at) "
        "VALUES ('GHOST', 'ord_1', 'active', CURRENT_TIMESTAMP)"
    )

    with engine.connect() as connection, pytest.raises(IntegrityError):
        connection.execute(insert)


def test_stale_carts_are_expired_in_batches_until_none_is_left(engine: Engine) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    stale = [make_cart(f"cart_{index}", expires_at=NOW - index * _HOUR) for index in range(7)]
    write(factory, *(lambda uow, cart=cart: uow.carts.add(cart) for cart in stale))

    counts = []
    for _ in range(5):
        with factory() as uow:
            counts.append(uow.carts.expire_stale(NOW, 3))
            uow.commit()

    assert counts == [3, 3, 1, 0, 0]
    assert read(factory, lambda uow: uow.carts.expire_stale(NOW, 0)) == 0


def test_finished_carts_are_deleted_in_batches_until_none_is_left(engine: Engine) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    finished = [
        make_cart(f"cart_{index}", expires_at=NOW - _HOUR, status=status)
        for index, status in enumerate([CartStatus.EXPIRED, CartStatus.CONVERTED] * 3)
    ]
    write(factory, *(lambda uow, cart=cart: uow.carts.add(cart) for cart in finished))

    counts = []
    for _ in range(4):
        with factory() as uow:
            counts.append(uow.carts.delete_expired_before(NOW, 4))
            uow.commit()

    assert counts == [4, 2, 0, 0]
    assert read(factory, lambda uow: uow.carts.delete_expired_before(NOW, 0)) == 0


def test_two_postgres_cleaners_take_different_carts_without_waiting(
    postgres_engine: Engine,
) -> None:
    factory = SqlUnitOfWorkFactory(postgres_engine)
    write(
        factory,
        *(
            lambda uow, index=index: uow.carts.add(make_cart(f"cart_{index}", expires_at=NOW))
            for index in range(5)
        ),
    )

    with factory() as first, factory() as second:
        # The first holds its batch locked; the second skips it instead of waiting.
        assert first.carts.expire_stale(NOW, 2) == 2
        assert second.carts.expire_stale(NOW, 2) == 2
        first.commit()
        second.commit()

    statuses = read(factory, lambda uow: [uow.carts.get(f"cart_{index}") for index in range(5)])
    assert [cart.status if cart else None for cart in statuses].count(CartStatus.EXPIRED) == 4


def test_concurrent_redemptions_by_one_buyer_never_exceed_the_per_user_limit(
    engine: Engine,
) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    tokens = [f"ord_{index}" for index in range(6)]
    write(factory, lambda uow: uow.discounts.add_coupon(make_coupon(per_user_limit=2)))
    start = threading.Barrier(len(tokens))

    def redeem(token: str) -> bool:
        start.wait()
        try:
            with factory() as uow:
                uow.discounts.redeem(make_redemption(token, "usr_1"))
                uow.commit()
        except CouponUserLimitReached:
            return False
        return True

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        redeemed = list(pool.map(redeem, tokens))

    found = read(factory, lambda uow: uow.discounts.coupon("SAVE20", user_id="usr_1"))
    assert redeemed.count(True) == 2
    assert found is not None
    assert (found[1].total, found[1].by_user) == (2, 2)


def test_each_repository_method_is_one_statement(engine: Engine) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    cart = make_cart()
    enrollments = [make_enrollment("enr_1", "int_123"), make_enrollment("enr_2", "int_456")]
    calls: dict[str, Callable[[UnitOfWork], object]] = {
        "carts.add": lambda uow: uow.carts.add(cart),
        "carts.get": lambda uow: uow.carts.get("cart_1", for_update=True),
        "carts.update": lambda uow: uow.carts.update(cart.convert()),
        "carts.expire_stale": lambda uow: uow.carts.expire_stale(NOW, 10),
        "orders.add": lambda uow: uow.orders.add(make_order()),
        "orders.get_by_cart": lambda uow: uow.orders.get_by_cart("cart_1"),
        "discounts.add_coupon": lambda uow: uow.discounts.add_coupon(make_coupon()),
        "discounts.coupon": lambda uow: uow.discounts.coupon("save20", user_id="usr_1"),
        "enrollments.add_missing": lambda uow: uow.enrollments.add_missing(enrollments),
        "enrollments.for_order": lambda uow: uow.enrollments.for_order("ord_1"),
        "idempotency.claim": lambda uow: uow.idempotency.claim(make_claim(), replacing=None),
        "idempotency.complete": lambda uow: uow.idempotency.complete(
            make_claim().complete(201, "{}")
        ),
        "outbox.append": lambda uow: uow.outbox.append(OrderCompleted.of("e", make_order(), NOW)),
    }

    counts = {}
    with factory() as uow:
        for name, call in calls.items():
            with _statements(engine) as seen:
                call(uow)
            counts[name] = len(seen)

    assert counts == dict.fromkeys(calls, 1)


def test_redeeming_takes_two_statements_three_with_a_per_user_limit(engine: Engine) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    write(factory, lambda uow: uow.discounts.add_coupon(make_coupon(per_user_limit=3)))
    write(factory, lambda uow: uow.discounts.add_coupon(make_coupon(code="OPEN")))

    with factory() as uow:
        with _statements(engine) as redeeming:
            uow.discounts.redeem(make_redemption("ord_1"))
        with _statements(engine) as unlimited:
            uow.discounts.redeem(attrs.evolve(make_redemption("ord_1"), coupon_code="OPEN"))
        with _statements(engine) as repeating:
            uow.discounts.redeem(make_redemption("ord_1"))
        with _statements(engine) as releasing:
            assert uow.discounts.release("SAVE20", "ord_1", NOW)

    # A repeat for the same order is rare: it takes the use, finds it held, gives it back.
    assert (len(redeeming), len(unlimited), len(repeating), len(releasing)) == (3, 2, 4, 2)


def test_times_are_stored_as_instants_and_read_back_in_utc(engine: Engine) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    india = timezone(timedelta(hours=5, minutes=30))
    cart = attrs.evolve(make_cart(), expires_at=(NOW + _HOUR).astimezone(india))
    write(factory, lambda uow: uow.carts.add(cart))

    stored = read(factory, lambda uow: uow.carts.get("cart_1"))

    assert stored == cart
    assert stored is not None
    assert stored.expires_at.utcoffset() == timedelta(0)
    assert read(factory, lambda uow: uow.carts.expire_stale(NOW + _HOUR, 10)) == 1


def test_a_naive_time_is_refused_before_it_reaches_the_database(engine: Engine) -> None:
    naive = NOW.replace(tzinfo=None)

    with engine.connect() as connection, pytest.raises(StatementError, match="timezone-aware"):
        connection.execute(select(tables.carts).where(tables.carts.c.expires_at < naive))


def test_stored_json_is_plain_documents_any_reader_understands(engine: Engine) -> None:
    write(SqlUnitOfWorkFactory(engine), lambda uow: uow.carts.add(make_cart()))

    with engine.connect() as connection:
        lines, analytics = connection.execute(
            select(tables.carts.c.lines, tables.carts.c.analytics)
        ).one()

    assert lines[0] == {"offering_id": "int_123", "period": {"value": 3, "unit": "month"}}
    assert analytics == [["source", "google"], ["campaign", "summer_sale"]]


def test_the_outbox_reader_gives_back_the_events_and_forgets_those_sent(engine: Engine) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    completed = OrderCompleted.of("evt_1", make_order(), NOW)
    expired = OrderExpired.of("evt_2", make_order(), NOW)
    write(factory, lambda uow: uow.outbox.append(completed), lambda uow: uow.outbox.append(expired))
    reader = SqlOutboxReader(engine)

    pending = reader.pending()
    sent = reader.mark_sent([pending[0].id], NOW)

    assert [(entry.name, entry.event) for entry in pending] == [
        ("order.completed", completed),
        ("order.expired", expired),
    ]
    assert pending[0].id < pending[1].id
    assert sent == 1
    assert reader.mark_sent([pending[0].id], NOW) == 0
    assert reader.mark_sent([], NOW) == 0
    assert [entry.event for entry in reader.pending()] == [expired]
    assert reader.pending(limit=0) == []


def test_an_event_appended_twice_is_refused(engine: Engine) -> None:
    completed = OrderCompleted.of("evt_1", make_order(), NOW)
    factory = SqlUnitOfWorkFactory(engine)
    write(factory, lambda uow: uow.outbox.append(completed))

    with factory() as uow, pytest.raises(IntegrityError):
        uow.outbox.append(completed)
