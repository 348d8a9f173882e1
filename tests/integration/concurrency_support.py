"""What the concurrency tests share: a checkout on PostgreSQL, races of threads and processes.

A race starts its callers together behind a barrier and keeps every answer;
an exception raised in a thread or a process is recorded with its traceback,
never lost, so a test can assert that none escaped.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier as ProcessBarrier
from typing import Any, Generic, TypeVar

import pytest
from attrs import frozen
from returns.result import Failure, Result, Success
from sqlalchemy import Engine, text

from checkout_adapters.demo import demo_catalog
from checkout_adapters.memory import (
    FakeGateway,
    RecordingAlertSink,
    RecordingAnalyticsTracker,
    RecordingNotificationSender,
)
from checkout_adapters.sqlalchemy import SqlCatalog, SqlUnitOfWorkFactory, make_engine
from checkout_adapters.system import RandomIds, SystemClock
from checkout_core.domain.cart import CartLine
from checkout_core.domain.catalog import Period
from checkout_core.domain.discounts import Coupon
from checkout_core.errors import CheckoutError
from checkout_core.ports import UnitOfWorkFactory
from checkout_core.services import Checkout, CheckoutPorts, CheckoutSettings
from checkout_core.services.receipts import OrderPlaced, encode_receipt

__all__ = [
    "FREE_LINE",
    "PAID_LINE",
    "Placed",
    "ProcessOrders",
    "Race",
    "Shop",
    "add_coupon",
    "build_checkout",
    "count",
    "describe",
    "open_cart",
    "open_shop",
    "place_in_process",
    "race",
    "seed_catalog",
]

T = TypeVar("T")

PAID_LINE = CartLine("int_123", Period(3, "month"))
"""A line of the demo's paid internship (no sale: the demo's sale is long over)."""
FREE_LINE = CartLine("int_456", Period(1, "month"))
"""A line of the demo's free internship."""

BARRIER_TIMEOUT = 60.0
"""How long a racer waits for the others before the race is declared broken."""

Placed = Result[OrderPlaced, CheckoutError]
"""What ``create_from_cart`` answers."""


def build_checkout(
    engine: Engine, unit_of_work: UnitOfWorkFactory | None = None
) -> tuple[Checkout, FakeGateway]:
    """A checkout on ``engine`` (or on ``unit_of_work``) with the fake gateway it uses."""
    gateway = FakeGateway("whsec_concurrency")
    ports = CheckoutPorts(
        unit_of_work=unit_of_work or SqlUnitOfWorkFactory(engine),
        gateway=gateway,
        clock=SystemClock(),
        ids=RandomIds(),
        notifications=RecordingNotificationSender(),
        analytics=RecordingAnalyticsTracker(),
        alerts=RecordingAlertSink(),
        cart_cache=None,
    )
    return Checkout.build(ports, CheckoutSettings(tax=demo_catalog().tax)), gateway


def seed_catalog(engine: Engine, checkout: Checkout) -> None:
    """Store the demo's offerings, sale and coupons."""
    demo = demo_catalog()
    catalog = SqlCatalog(engine)
    for offering in demo.offerings.values():
        catalog.put_offering(offering)
    for sale in demo.sales.values():
        catalog.put_sale(sale)
    for coupon in demo.coupons.values():
        add_coupon(checkout, coupon)


def add_coupon(checkout: Checkout, coupon: Coupon) -> None:
    """Store ``coupon``, unused."""
    with checkout.ports.unit_of_work() as uow:
        uow.discounts.add_coupon(coupon)
        uow.commit()


def open_cart(
    checkout: Checkout,
    user_id: str,
    *,
    lines: Sequence[CartLine] = (PAID_LINE,),
    coupon: str | None = None,
) -> str:
    """A new cart of ``lines`` bound to ``user_id``, with ``coupon`` applied; its token."""
    token = _ok(checkout.carts.create_cart(lines), "open a cart").token
    if coupon is None:
        _ok(checkout.auth.validate_cart_access(token, user_id), "bind the cart")
    else:
        _ok(checkout.discounts.apply(token, coupon, user_id), f"apply {coupon}")
    return token


def _ok(result: Result[T, CheckoutError], doing: str) -> T:
    if isinstance(result, Failure):
        pytest.fail(f"could not {doing}: {result.failure()!r}")
    return result.unwrap()


def count(engine: Engine, sql: str, **parameters: object) -> int:
    """The single integer ``sql`` selects."""
    with engine.connect() as connection:
        value = connection.execute(text(sql), parameters).scalar_one()
    return int(value)


@frozen
class Race(Generic[T]):
    """The answers of a race in the order of its callers, and the tracebacks of what escaped."""

    answers: list[T | None]
    escaped: list[str]


def race(callers: Sequence[Callable[[], T]], *, timeout: float = 120.0) -> Race[T]:
    """Run ``callers`` in threads of their own, released together by one barrier."""
    barrier = threading.Barrier(len(callers))
    answers: list[T | None] = [None] * len(callers)
    escaped: list[str] = []
    lock = threading.Lock()

    def run(index: int, caller: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=BARRIER_TIMEOUT)
            answers[index] = caller()
        except BaseException:  # noqa: BLE001 - recorded, and the test asserts there is none
            with lock:
                escaped.append(f"caller {index}:\n{traceback.format_exc()}")

    threads = [
        threading.Thread(target=run, args=(index, caller), name=f"racer-{index}", daemon=True)
        for index, caller in enumerate(callers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    hung = [thread.name for thread in threads if thread.is_alive()]
    if hung:
        escaped.append(f"still running after {timeout} s: {hung}")
    return Race(answers, escaped)


@frozen
class ProcessOrders:
    """What one process of a race is asked to place: its own cart, then a shared one."""

    database_url: str
    user_id: str
    own_cart: str
    own_key: str
    shared_cart: str
    shared_key: str


def describe(placed: Placed) -> tuple[str, str, bool]:
    """A picklable account of an answer: the receipt as JSON, or the error's class name."""
    match placed:
        case Success(value):
            return ("success", encode_receipt(value.receipt), value.replayed)
        case Failure(error):
            return ("failure", type(error).__name__, False)
    raise AssertionError(placed)


def place_in_process(
    orders: ProcessOrders, barrier: ProcessBarrier, results: Queue[Any], index: int
) -> None:
    """Place ``orders`` from a process of its own, on an engine and a checkout of its own.

    Puts ``(index, answers, traceback)`` on ``results``: the two answers, or
    the traceback of what escaped.
    """
    try:
        engine = make_engine(orders.database_url, pool_size=2, max_overflow=0)
        try:
            checkout, _gateway = build_checkout(engine)
            barrier.wait(timeout=BARRIER_TIMEOUT)
            own = checkout.orders.create_from_cart(orders.own_cart, orders.own_key, orders.user_id)
            barrier.wait(timeout=BARRIER_TIMEOUT)
            shared = checkout.orders.create_from_cart(
                orders.shared_cart, orders.shared_key, orders.user_id
            )
        finally:
            engine.dispose()
        results.put((index, [describe(own), describe(shared)], None))
    except BaseException:  # noqa: BLE001 - reported to the parent, which asserts there is none
        barrier.abort()
        results.put((index, [], traceback.format_exc()))


@frozen
class Shop:
    """A checkout on a PostgreSQL database, seeded with the demo's catalog, and its gateway."""

    engine: Engine
    checkout: Checkout
    gateway: FakeGateway


def open_shop(engine: Engine) -> Shop:
    """A checkout on ``engine`` with the fake gateway, the demo's catalog stored."""
    checkout, gateway = build_checkout(engine)
    seed_catalog(engine, checkout)
    return Shop(engine, checkout, gateway)
