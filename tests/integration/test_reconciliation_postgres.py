"""The scheduled jobs' services on PostgreSQL, raced by real threads.

Two reconcilers asking about the same captured payments apply each capture
once, and so do two schedulers running the ``payments.reconcile`` job at one
due time (one runs it, the other finds its advisory lock taken); two expiry
runners expire each stale order once and give its coupon use back, without
waiting on each other. A PostgreSQL that cannot be
reached fails these tests (see ``conftest.py``), never skips them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from returns.result import Failure, Success
from sqlalchemy import URL, Engine, Select, event

from checkout_adapters.jobs import (
    AdvisoryJobLock,
    JobContext,
    JobRunner,
    Outcome,
    ProgressHook,
    job_named,
)
from checkout_adapters.sqlalchemy import make_engine
from checkout_adapters.sqlalchemy.repositories import orders as order_queries
from checkout_adapters.sqlalchemy.repositories import payments as payment_queries
from checkout_core.domain.discounts import Coupon
from checkout_core.domain.gateway import ProviderPaymentState, ProviderStatus
from checkout_core.domain.money import Rate
from checkout_core.services import OrderExpiry, OrderReceipt, PaymentReconciliation
from tests.integration.concurrency_support import (
    Shop,
    add_coupon,
    count,
    open_cart,
    open_shop,
    race,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ORDERS = 12
RUNNERS = 4
COUPON = Coupon(code="STALE10", percent_off=Rate.percent(10), usage_limit=100)


@pytest.fixture
def racing_engine(postgres_engine: Engine, postgres_url: URL) -> Iterator[Engine]:
    # postgres_engine empties the database; this one has a connection for every racer.
    del postgres_engine
    engine = make_engine(postgres_url, pool_size=RUNNERS * 2, max_overflow=4)
    yield engine
    engine.dispose()


@pytest.fixture
def shop(racing_engine: Engine) -> Shop:
    shop = open_shop(racing_engine)
    add_coupon(shop.checkout, COUPON)
    return shop


def place(shop: Shop, buyer: str, *, coupon: str | None = None) -> OrderReceipt:
    cart = open_cart(shop.checkout, buyer, coupon=coupon)
    placed = shop.checkout.orders.create_from_cart(cart, f"key-{buyer}", buyer)
    if isinstance(placed, Failure):
        pytest.fail(f"could not place an order: {placed.failure()!r}")
    return placed.unwrap().receipt


def events(engine: Engine, name: str, order_token: str) -> int:
    return count(
        engine,
        "SELECT count(*) FROM outbox WHERE name = :n AND payload->>'order_token' = :t",
        n=name,
        t=order_token,
    )


def order_status(engine: Engine, order_token: str) -> str:
    with engine.connect() as connection:
        return str(
            connection.exec_driver_sql(
                "SELECT status FROM orders WHERE token = %(t)s", {"t": order_token}
            ).scalar_one()
        )


def test_captures_whose_webhooks_never_came_are_applied_once_by_racing_reconcilers(
    shop: Shop,
) -> None:
    receipts = [place(shop, f"buyer_{index}") for index in range(ORDERS)]
    for receipt in receipts:
        assert receipt.provider_ref is not None
        shop.gateway.set_status(
            ProviderStatus(
                receipt.provider_ref, ProviderPaymentState.CAPTURED, amount_captured=receipt.total
            )
        )

    # Every racer reads the same batches and asks about every payment; the locks decide.
    outcome = race(
        [
            lambda: shop.checkout.reconciliation.reconcile_payments(
                stuck_after=timedelta(0), batch_size=5
            )
            for _ in range(RUNNERS)
        ]
    )

    assert outcome.escaped == [], "\n".join(outcome.escaped)
    runs: list[PaymentReconciliation] = []
    for answer in outcome.answers:
        assert isinstance(answer, Success), answer
        runs.append(answer.unwrap())
    assert sum(run.captured for run in runs) == ORDERS
    assert all(run.errors == 0 and run.checked == run.captured + run.unchanged for run in runs)
    for receipt in receipts:
        assert order_status(shop.engine, receipt.order_token) == "paid"
        assert events(shop.engine, "order.paid", receipt.order_token) == 1
    assert count(shop.engine, "SELECT count(*) FROM outbox WHERE name = 'order.paid'") == ORDERS


def test_an_expired_order_gives_its_coupon_use_back(shop: Shop) -> None:
    receipt = place(shop, "buyer_1", coupon=COUPON.code)
    assert count(shop.engine, "SELECT used FROM coupons WHERE code = :c", c=COUPON.code) == 1

    expiry = shop.checkout.orders.expire_stale(older_than=timedelta(0))

    assert expiry == Success(OrderExpiry(expired=1, coupons_released=1))
    assert order_status(shop.engine, receipt.order_token) == "expired"
    assert count(shop.engine, "SELECT used FROM coupons WHERE code = :c", c=COUPON.code) == 0
    released = count(
        shop.engine,
        "SELECT count(*) FROM coupon_redemptions WHERE order_token = :t AND status = 'released'",
        t=receipt.order_token,
    )
    assert released == 1
    assert events(shop.engine, "order.expired", receipt.order_token) == 1


def test_racing_expiry_runners_expire_each_order_once(shop: Shop) -> None:
    receipts = [place(shop, f"buyer_{index}", coupon=COUPON.code) for index in range(ORDERS)]

    outcome = race(
        [
            lambda: shop.checkout.orders.expire_stale(older_than=timedelta(0), batch_size=2)
            for _ in range(RUNNERS)
        ]
    )

    assert outcome.escaped == [], "\n".join(outcome.escaped)
    runs: list[OrderExpiry] = []
    for answer in outcome.answers:
        assert isinstance(answer, Success), answer
        runs.append(answer.unwrap())
    assert sum(run.expired for run in runs) == ORDERS
    assert sum(run.coupons_released for run in runs) == ORDERS
    for receipt in receipts:
        assert order_status(shop.engine, receipt.order_token) == "expired"
        assert events(shop.engine, "order.expired", receipt.order_token) == 1
    assert count(shop.engine, "SELECT used FROM coupons WHERE code = :c", c=COUPON.code) == 0


def test_an_expiry_runner_skips_the_orders_another_holds_instead_of_waiting(shop: Shop) -> None:
    receipts = [place(shop, f"buyer_{index}") for index in range(4)]
    held = threading.Event()
    release = threading.Event()
    locked: list[str] = []

    def hold_two() -> None:
        with shop.checkout.ports.unit_of_work() as uow:
            cutoff = shop.checkout.ports.clock.now()
            locked.extend(
                o.token for o in uow.orders.lock_stale_unpaid(cutoff, after=None, limit=2)
            )
            held.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold_two, daemon=True)
    holder.start()
    try:
        assert held.wait(timeout=30)
        expiry = shop.checkout.orders.expire_stale(older_than=timedelta(0))
    finally:
        release.set()
        holder.join(timeout=30)

    assert expiry == Success(OrderExpiry(expired=2, coupons_released=0))
    statuses = {r.order_token: order_status(shop.engine, r.order_token) for r in receipts}
    assert sorted(token for token, status in statuses.items() if status != "expired") == sorted(
        locked
    )


@pytest.mark.parametrize(
    ("statement", "parameters", "index"),
    [
        (
            payment_queries._UNSETTLED[1],
            {"provider": "fake", "after_at": NOW, "after_id": "pay_1"},
            "ix_payments_unsettled",
        ),
        (order_queries._STALE_AFTER, {"after_at": NOW, "after_token": "ord_1"}, "ix_orders_unpaid"),
    ],
    ids=["unsettled-payments", "stale-orders"],
)
def test_the_batches_are_read_through_their_partial_indexes(
    postgres_engine: Engine, statement: Select[Any], parameters: dict[str, object], index: str
) -> None:
    # With sequential scans ruled out, the plan shows the query matches the index's condition.
    window = {
        "changed_from": NOW - timedelta(days=1),
        "changed_before": NOW,
        "before": NOW,
        "limit": 10,
    }
    with postgres_engine.connect() as connection:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        event.listen(connection, "before_cursor_execute", _explained, retval=True)
        plan = "\n".join(row[0] for row in connection.execute(statement, {**window, **parameters}))
    assert index in plan, plan


def _explained(*arguments: Any) -> tuple[str, Any]:
    # The listener is given the connection, the cursor, the statement and its parameters, ...
    statement, parameters = arguments[2], arguments[3]
    return f"EXPLAIN {statement}", parameters


def test_two_schedulers_reconcile_captures_whose_webhooks_never_came_once(
    shop: Shop, tmp_path: Path
) -> None:
    receipts = [place(shop, f"buyer_{index}") for index in range(ORDERS)]
    for receipt in receipts:
        assert receipt.provider_ref is not None
        shop.gateway.set_status(
            ProviderStatus(
                receipt.provider_ref, ProviderPaymentState.CAPTURED, amount_captured=receipt.total
            )
        )
    # The buyers paid twenty minutes ago and no webhook ever came: stuck, as the job sees it.
    with shop.engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE payments SET updated_at = updated_at - interval '20 min'"
        )
    clock = shop.checkout.ports.clock

    def context(on_progress: ProgressHook) -> JobContext:
        return JobContext(shop.checkout, clock, shop.engine, tmp_path, on_progress)

    # Two schedulers, each with its runner and its own advisory lock connection, at one due time.
    schedulers = [JobRunner(context, AdvisoryJobLock(shop.engine), clock) for _ in range(2)]
    job = job_named("payments.reconcile")
    try:
        outcome = race([partial(each.run, job, keep_lock=True) for each in schedulers])
    finally:
        for each in schedulers:
            each.close()

    assert outcome.escaped == [], "\n".join(outcome.escaped)
    runs = [run for run in outcome.answers if run is not None]
    assert sorted(run.outcome for run in runs) == sorted([Outcome.OK, Outcome.SKIPPED])
    (done,) = [run for run in runs if run.outcome is Outcome.OK]
    assert done.report is not None
    assert done.report.figures["captured"] == ORDERS
    for receipt in receipts:
        assert order_status(shop.engine, receipt.order_token) == "paid"
        assert events(shop.engine, "order.paid", receipt.order_token) == 1
