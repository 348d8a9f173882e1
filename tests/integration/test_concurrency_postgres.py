"""Orders placed concurrently on PostgreSQL, by real threads and by processes.

Each test seeds the demo's catalog into the session's emptied database and
races callers released together by a barrier. Whatever the interleaving,
the database keeps the invariants: one order per idempotency key and per
cart, a coupon never used beyond its limit, and nothing of a transaction
that failed. Every answer is a ``Success`` or an expected ``Failure``; an
exception escaping any caller fails the test.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from functools import partial
from multiprocessing.queues import Queue
from types import TracebackType
from typing import Any, Self

import pytest
from returns.result import Failure, Success
from sqlalchemy import URL, Engine

from checkout_adapters.sqlalchemy import SqlUnitOfWorkFactory, make_engine
from checkout_core.domain.cart import CartLine
from checkout_core.domain.discounts import Coupon
from checkout_core.domain.money import Rate
from checkout_core.domain.orders import Order
from checkout_core.domain.payment_events import PaymentEventKind
from checkout_core.domain.webhooks import InboxStatus
from checkout_core.errors import (
    CheckoutError,
    CouponExhausted,
    IdempotencyKeyInProgress,
    IdempotencyKeyMismatch,
)
from checkout_core.ports import (
    CartRepository,
    Catalog,
    DiscountRepository,
    EnrollmentRepository,
    IdempotencyStore,
    OrderRepository,
    Outbox,
    PaymentRepository,
    UnitOfWork,
    UnitOfWorkFactory,
    WebhookInbox,
)
from checkout_core.services.receipts import OrderPlaced
from tests.integration.concurrency_support import (
    FREE_LINE,
    PAID_LINE,
    Placed,
    ProcessOrders,
    Race,
    Shop,
    add_coupon,
    build_checkout,
    count,
    open_cart,
    open_shop,
    place_in_process,
    race,
)

BUYER = "user_42"
ONE_USE = Coupon(code="ONEUSE", percent_off=Rate.percent(10), usage_limit=1)
# Enough connections that most racers hold one at once, and few enough that
# the server's default of 100 keeps room for everything else.
POOL_SIZE = 24
MAX_OVERFLOW = 16
PROCESSES = 4


@pytest.fixture
def racing_engine(postgres_engine: Engine, postgres_url: URL) -> Iterator[Engine]:
    # postgres_engine empties the database; this one has a pool wide enough for the racers.
    del postgres_engine
    engine = make_engine(postgres_url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)
    yield engine
    engine.dispose()


@pytest.fixture
def shop(racing_engine: Engine) -> Shop:
    return open_shop(racing_engine)


def tally(outcome: Race[Placed]) -> tuple[list[OrderPlaced], list[CheckoutError]]:
    """The orders placed and the errors answered; fails the test if anything escaped."""
    assert outcome.escaped == [], "\n".join(outcome.escaped)
    placed: list[OrderPlaced] = []
    refused: list[CheckoutError] = []
    for answer in outcome.answers:
        match answer:
            case Success(value):
                placed.append(value)
            case Failure(error):
                refused.append(error)
            case _:
                pytest.fail(f"a caller answered {answer!r}")
    return placed, refused


def kinds(errors: Sequence[CheckoutError]) -> set[type[CheckoutError]]:
    return {type(error) for error in errors}


def orders_of(engine: Engine, cart_token: str) -> int:
    return count(engine, "SELECT count(*) FROM orders WHERE cart_token = :t", t=cart_token)


def payments_of(engine: Engine, order_token: str) -> int:
    return count(engine, "SELECT count(*) FROM payments WHERE order_token = :t", t=order_token)


def coupon_used(engine: Engine, code: str) -> int:
    return count(engine, "SELECT used FROM coupons WHERE code = :c", c=code)


def active_redemptions(engine: Engine, code: str) -> int:
    return count(
        engine,
        "SELECT count(*) FROM coupon_redemptions WHERE coupon_code = :c AND status = 'active'",
        c=code,
    )


def cart_is(engine: Engine, cart_token: str, status: str) -> bool:
    found = count(
        engine,
        "SELECT count(*) FROM carts WHERE token = :t AND status = :s",
        t=cart_token,
        s=status,
    )
    return found == 1


def test_64_threads_with_one_key_place_one_order_and_agree_on_its_receipt(shop: Shop) -> None:
    cart = open_cart(shop.checkout, BUYER)
    key = "idem_race_64"
    place = partial(shop.checkout.orders.create_from_cart, cart, key, BUYER)

    placed, refused = tally(race([place] * 64))

    assert kinds(refused) <= {IdempotencyKeyInProgress}
    assert placed, "no caller placed the order"
    receipt = placed[0].receipt
    assert all(answer.receipt == receipt for answer in placed)
    assert sum(not answer.replayed for answer in placed) == 1
    assert receipt.provider_ref is not None
    assert orders_of(shop.engine, cart) == 1
    assert count(shop.engine, "SELECT count(*) FROM orders") == 1
    assert payments_of(shop.engine, receipt.order_token) == 1
    assert len(shop.gateway.sessions) == 1
    assert (
        count(
            shop.engine,
            "SELECT count(*) FROM idempotency_keys WHERE key = :k AND state = 'completed'",
            k=key,
        )
        == 1
    )

    match place():
        case Success(again):
            assert again.replayed
            assert again.receipt == receipt
        case other:
            pytest.fail(f"the key's answer was not replayed: {other!r}")

    another_cart = open_cart(shop.checkout, BUYER)
    match shop.checkout.orders.create_from_cart(another_cart, key, BUYER):
        case Failure(IdempotencyKeyMismatch()):
            pass
        case other:
            pytest.fail(f"a key reused for another cart was answered {other!r}")
    assert orders_of(shop.engine, another_cart) == 0
    assert cart_is(shop.engine, another_cart, "active")


def test_100_orders_sharing_a_coupon_with_one_use_redeem_it_once(shop: Shop) -> None:
    add_coupon(shop.checkout, ONE_USE)
    buyers = [f"user_{index}" for index in range(100)]
    carts = [open_cart(shop.checkout, buyer, coupon=ONE_USE.code) for buyer in buyers]
    callers = [
        partial(shop.checkout.orders.create_from_cart, cart, f"idem_coupon_{index}", buyer)
        for index, (cart, buyer) in enumerate(zip(carts, buyers, strict=True))
    ]

    placed, refused = tally(race(callers))

    assert len(placed) == 1
    assert len(refused) == 99
    assert kinds(refused) == {CouponExhausted}
    assert coupon_used(shop.engine, ONE_USE.code) == 1
    assert active_redemptions(shop.engine, ONE_USE.code) == 1
    order_token = placed[0].receipt.order_token
    with shop.engine.connect() as connection:
        winner = connection.exec_driver_sql("SELECT cart_token FROM orders").scalar_one()
    assert winner in carts
    assert (
        count(
            shop.engine,
            "SELECT count(*) FROM coupon_redemptions WHERE order_token = :t AND status = 'active'",
            t=order_token,
        )
        == 1
    )
    assert count(shop.engine, "SELECT count(*) FROM orders") == 1
    assert orders_of(shop.engine, winner) == 1
    assert cart_is(shop.engine, winner, "converted")
    losers = [cart for cart in carts if cart != winner]
    assert [cart for cart in losers if orders_of(shop.engine, cart) != 0] == []
    assert [cart for cart in losers if not cart_is(shop.engine, cart, "active")] == []
    # The refused requests gave their keys back; only the winner's answer is kept.
    assert count(shop.engine, "SELECT count(*) FROM idempotency_keys") == 1


def test_20_keys_racing_for_one_cart_place_one_order(shop: Shop) -> None:
    cart = open_cart(shop.checkout, BUYER)
    callers = [
        partial(shop.checkout.orders.create_from_cart, cart, f"idem_cart_{index}", BUYER)
        for index in range(20)
    ]

    placed, refused = tally(race(callers))

    assert kinds(refused) <= {IdempotencyKeyInProgress}
    assert placed, "no caller placed the order"
    assert count(shop.engine, "SELECT count(*) FROM orders") == 1
    with shop.engine.connect() as connection:
        order_token = connection.exec_driver_sql("SELECT token FROM orders").scalar_one()
    assert {answer.receipt.order_token for answer in placed} == {order_token}
    assert payments_of(shop.engine, order_token) == 1
    assert len(shop.gateway.sessions) == 1


def test_processes_racing_keep_one_redemption_and_one_order_per_key(
    shop: Shop, postgres_url: URL
) -> None:
    add_coupon(shop.checkout, ONE_USE)
    own_carts = [open_cart(shop.checkout, BUYER, coupon=ONE_USE.code) for _ in range(PROCESSES)]
    shared_cart = open_cart(shop.checkout, BUYER)
    url = postgres_url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results: Queue[Any] = context.Queue()
    processes = [
        context.Process(
            target=place_in_process,
            args=(
                ProcessOrders(url, BUYER, cart, f"idem_proc_{index}", shared_cart, "idem_shared"),
                barrier,
                results,
                index,
            ),
            name=f"racer-process-{index}",
        )
        for index, cart in enumerate(own_carts)
    ]
    for process in processes:
        process.start()
    try:
        reports = sorted(results.get(timeout=120) for _ in processes)
    finally:
        for process in processes:
            process.join(timeout=30)
        hung = [process for process in processes if process.is_alive()]
        for process in hung:
            process.terminate()
            process.join()
        results.close()
        results.join_thread()
    assert hung == []
    assert [process.exitcode for process in processes] == [0] * PROCESSES
    assert [tb for _, _, tb in reports if tb is not None] == []

    own = [answers[0] for _, answers, _ in reports]
    assert sorted(kind for kind, _, _ in own) == ["failure"] * 3 + ["success"]
    assert {detail for kind, detail, _ in own if kind == "failure"} == {"CouponExhausted"}
    assert coupon_used(shop.engine, ONE_USE.code) == 1
    assert active_redemptions(shop.engine, ONE_USE.code) == 1
    assert sum(orders_of(shop.engine, cart) for cart in own_carts) == 1
    assert sum(cart_is(shop.engine, cart, "active") for cart in own_carts) == 3

    shared = [answers[1] for _, answers, _ in reports]
    receipts = {detail for kind, detail, _ in shared if kind == "success"}
    failures = {detail for kind, detail, _ in shared if kind == "failure"}
    assert len(receipts) == 1, receipts
    assert failures <= {"IdempotencyKeyInProgress"}
    assert sum(not replayed for kind, _, replayed in shared if kind == "success") == 1
    assert orders_of(shop.engine, shared_cart) == 1


class _OrdersThatFailOnceWritten:
    """The real order repository, except that ``add`` raises once the order is written."""

    def __init__(self, real: OrderRepository) -> None:
        self._real = real
        self.written: list[Order] = []

    def add(self, order: Order) -> None:
        self._real.add(order)
        self.written.append(order)
        raise RuntimeError("injected right after the order was written")

    def get(self, token: str, *, for_update: bool = False) -> Order | None:
        return self._real.get(token, for_update=for_update)

    def get_many(self, tokens: Collection[str], *, for_update: bool = False) -> dict[str, Order]:
        return self._real.get_many(tokens, for_update=for_update)

    def complete_paid(self, tokens: Collection[str], now: datetime) -> int:
        return self._real.complete_paid(tokens, now)

    def get_by_cart(self, cart_token: str) -> Order | None:
        return self._real.get_by_cart(cart_token)

    def update(self, order: Order) -> None:
        self._real.update(order)

    def lock_stale_unpaid(
        self, updated_before: datetime, *, after: Order | None, limit: int
    ) -> list[Order]:
        return self._real.lock_stale_unpaid(updated_before, after=after, limit=limit)

    def stalled_paid(
        self,
        updated_from: datetime,
        updated_before: datetime,
        *,
        after: Order | None,
        limit: int,
    ) -> list[Order]:
        return self._real.stalled_paid(updated_from, updated_before, after=after, limit=limit)

    def count_paid_without_capture(self, since: datetime) -> int:
        return self._real.count_paid_without_capture(since)

    def count_completed_without_enrollments(self, since: datetime) -> int:
        return self._real.count_completed_without_enrollments(since)


class _FailingUnitOfWork:
    """The real unit of work in every respect but its failing order repository."""

    catalog: Catalog
    carts: CartRepository
    orders: OrderRepository
    payments: PaymentRepository
    discounts: DiscountRepository
    enrollments: EnrollmentRepository
    idempotency: IdempotencyStore
    inbox: WebhookInbox
    outbox: Outbox

    def __init__(self, real: UnitOfWork, orders: list[Order]) -> None:
        self._real = real
        self.catalog = real.catalog
        self.carts = real.carts
        failing = _OrdersThatFailOnceWritten(real.orders)
        failing.written = orders
        self.orders = failing
        self.payments = real.payments
        self.discounts = real.discounts
        self.enrollments = real.enrollments
        self.idempotency = real.idempotency
        self.inbox = real.inbox
        self.outbox = real.outbox

    def __enter__(self) -> Self:
        self._real.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._real.__exit__(exc_type, exc, traceback)

    def commit(self) -> None:
        self._real.commit()

    def rollback(self) -> None:
        self._real.rollback()


class FailingAfterOrderWritten:
    """A unit-of-work factory whose units of work fail right after writing an order."""

    def __init__(self, real: UnitOfWorkFactory) -> None:
        self._real = real
        self.written: list[Order] = []

    def __call__(self) -> UnitOfWork:
        return _FailingUnitOfWork(self._real(), self.written)


@pytest.mark.parametrize(
    ("lines", "coupon"),
    [((PAID_LINE,), "SAVE20"), ((FREE_LINE,), None)],
    ids=["paid-with-coupon", "free"],
)
def test_a_fault_after_the_order_is_written_leaves_nothing_and_frees_the_key(
    shop: Shop, lines: tuple[CartLine, ...], coupon: str | None
) -> None:
    cart = open_cart(shop.checkout, BUYER, lines=lines, coupon=coupon)
    failing = FailingAfterOrderWritten(SqlUnitOfWorkFactory(shop.engine))
    faulty, _ = build_checkout(shop.engine, failing)
    key = "idem_fault"

    with pytest.raises(RuntimeError, match="injected right after the order was written"):
        faulty.orders.create_from_cart(cart, key, BUYER)

    assert [order.cart_token for order in failing.written] == [cart]
    assert orders_of(shop.engine, cart) == 0
    assert count(shop.engine, "SELECT count(*) FROM orders") == 0
    assert count(shop.engine, "SELECT count(*) FROM payments") == 0
    assert count(shop.engine, "SELECT count(*) FROM coupon_redemptions") == 0
    assert count(shop.engine, "SELECT coalesce(sum(used), 0) FROM coupons") == 0
    assert count(shop.engine, "SELECT count(*) FROM enrollments") == 0
    assert count(shop.engine, "SELECT count(*) FROM outbox") == 0
    assert cart_is(shop.engine, cart, "active")
    assert count(shop.engine, "SELECT count(*) FROM idempotency_keys WHERE key = :k", k=key) == 0

    match shop.checkout.orders.create_from_cart(cart, key, BUYER):
        case Success(retried):
            assert not retried.replayed
        case other:
            pytest.fail(f"the retry with the released key was answered {other!r}")
    assert orders_of(shop.engine, cart) == 1
    assert cart_is(shop.engine, cart, "converted")
    if coupon is not None:
        assert coupon_used(shop.engine, coupon) == 1
        assert active_redemptions(shop.engine, coupon) == 1
    else:
        assert count(shop.engine, "SELECT count(*) FROM enrollments") == 1
        with shop.engine.connect() as connection:
            names = connection.exec_driver_sql("SELECT name FROM outbox").scalars().all()
        assert sorted(names) == ["notification.requested", "order.completed"]


def test_50_concurrent_deliveries_of_one_capture_pay_the_order_once(shop: Shop) -> None:
    cart = open_cart(shop.checkout, BUYER)
    placed = shop.checkout.orders.create_from_cart(cart, "idem_webhooks", BUYER).unwrap()
    receipt = placed.receipt
    same_event = shop.gateway.webhook(
        event_id="evt_capture",
        type="payment.captured",
        provider_ref=receipt.provider_ref,
        kind=PaymentEventKind.CAPTURED,
        amount=receipt.total,
    )
    other_events = [
        shop.gateway.webhook(
            event_id=f"evt_other_{index}",
            type="order.paid",
            provider_ref=receipt.provider_ref,
            kind=PaymentEventKind.CAPTURED,
            amount=receipt.total,
        )
        for index in range(10)
    ]
    deliveries = [same_event] * 40 + other_events
    outcome = race([partial(shop.checkout.webhooks.handle, *delivery) for delivery in deliveries])

    assert outcome.escaped == [], "\n".join(outcome.escaped)
    statuses = [answer.unwrap() for answer in outcome.answers if answer is not None]
    assert len(statuses) == 50
    assert sum(s.status is InboxStatus.APPLIED and not s.duplicate for s in statuses) == 1
    assert sum(s.duplicate for s in statuses) == 39
    assert count(shop.engine, "SELECT count(*) FROM outbox WHERE name = 'order.paid'") == 1
    assert count(shop.engine, "SELECT count(*) FROM webhook_inbox") == 11
    assert (
        count(
            shop.engine,
            "SELECT count(*) FROM payments WHERE order_token = :o AND status = 'captured'",
            o=receipt.order_token,
        )
        == 1
    )
    assert (
        count(
            shop.engine,
            "SELECT count(*) FROM orders WHERE token = :o AND status = 'paid'",
            o=receipt.order_token,
        )
        == 1
    )
