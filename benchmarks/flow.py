"""Benchmark of the checkout flow on PostgreSQL: statements per operation, paid orders per second.

It creates a fresh database of its own on the PostgreSQL server at
``CHECKOUT_BENCH_DATABASE_URL`` (by default the local server, through its
``postgres`` database), migrates it with ``upgrade``, seeds the demo's
catalog and drops the database at the end. The Checkout is wired as a host
would wire it on PostgreSQL: :class:`SqlUnitOfWorkFactory`, the fake gateway
standing in for a payment provider, the system clock and random ids. The
demo's ``summer2024`` sale is moved to run around today (its dates are in
2024 and the clock is the real one) and ``SAVE20`` has no usage limit, so
that every order gets both discounts, as in the seed's flow.

1. Statements per operation, counted with SQLAlchemy's ``before_cursor_execute``
   event (an ``executemany`` counts as one), with no cart cache so that every
   read is SQL: create cart (``int_123`` for 3 months under ``summer2024``, with
   analytics data), estimate (that cart, no coupon), apply coupon (``SAVE20``),
   create free order (an ``int_456`` cart) and create paid order (the seed cart
   with ``SAVE20``, by a signed-in user). Only the operation itself is counted;
   its carts are made before counting starts. Each statement's first words
   (``SELECT carts FOR UPDATE``) are listed, and the transactions begun and pool
   connections taken are counted beside. The estimate is also counted with an
   in-memory cart cache.
2. Paid orders per second from 8 threads: each run prepares its carts first
   (each with ``SAVE20`` applied and bound to a buyer of its own), then 8 threads
   released together by a barrier place the orders (``create_from_cart`` only)
   from a shared queue. Figures are per run, and the median over runs.

The script prints a table and writes ``benchmarks/results/flow.json``. A
missed target is reported, not an error; an operation that fails, or
figures that disagree with the database afterwards, fail the run.

Run it with ``nox -s bench`` or ``python benchmarks/flow.py`` (add
``--quick`` for a short smoke run with fewer, smaller runs).
"""

from __future__ import annotations

import argparse
import gc
import os
import queue
import re
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any, Final, TypedDict, TypeVar

import attrs
import psycopg
from returns.result import Failure, Result, Success
from sqlalchemy import URL, Connection, Engine, event, func, make_url, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from checkout_adapters.demo import DemoCatalog, demo_catalog, seed_demo_catalog
from checkout_adapters.memory import (
    FakeGateway,
    InMemoryCartCache,
    LogAlertSink,
    LogAnalyticsTracker,
    LogNotificationSender,
)
from checkout_adapters.sqlalchemy import (
    SqlCatalog,
    SqlUnitOfWorkFactory,
    make_engine,
    upgrade,
)
from checkout_adapters.sqlalchemy.tables import RedemptionStatus, coupon_redemptions, coupons
from checkout_adapters.sqlalchemy.tables import orders as orders_table
from checkout_adapters.system import RandomIds, SystemClock
from checkout_core.domain.cart import CartLine
from checkout_core.domain.catalog import Period
from checkout_core.domain.orders import OrderStatus
from checkout_core.domain.pricing import DiscountKind, Estimate
from checkout_core.errors import CheckoutError
from checkout_core.services import Checkout, CheckoutPorts, CheckoutSettings, OrderPlaced
from reporting import machine, print_targets, target, write_report

T = TypeVar("T")

RESULTS: Final = Path(__file__).resolve().parent / "results" / "flow.json"
ADMIN_URL_VARIABLE: Final = "CHECKOUT_BENCH_DATABASE_URL"
DEFAULT_ADMIN_URL: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

THREADS: Final = 8
POOL_SIZE: Final = 8
MAX_OVERFLOW: Final = 2

TARGET_STATEMENTS: Final = {
    "create cart": 3,
    "estimate": 3,
    "apply coupon": 5,
    "create paid order": 12,
}
"""Most statements wanted per operation, on PostgreSQL with no cart cache."""
TARGET_ORDERS_PER_S: Final = 300
"""Paid orders per second wanted from 8 threads, on the 2-core benchmark machine."""
SALEOR_QUERIES: Final = {"create checkout": 89, "complete checkout": 220}
"""Saleor's queries for the same steps, as quoted in the issue, for comparison."""

SEED_LINE: Final = CartLine("int_123", Period(3, "month"))
FREE_LINE: Final = CartLine("int_456", Period(1, "month"))
SALE_SLUG: Final = "summer2024"
COUPON_CODE: Final = "SAVE20"
ANALYTICS: Final = (("source", "google"), ("campaign", "summer_sale"))
BUYER: Final = "user_42"
WEBHOOK_SECRET: Final = "whsec_bench"  # noqa: S105 - the fake gateway's, not a real secret


# ------------------------------------------------------------------ the world


@contextmanager
def fresh_database(
    admin_url: URL, prefix: str = "checkout_bench", variable: str = ADMIN_URL_VARIABLE
) -> Iterator[URL]:
    """A new, empty database on the server of ``admin_url``, dropped (forcibly) at the end.

    Uniquely named after ``prefix``; ``variable`` names the setting that points
    elsewhere, when the server cannot be reached.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except OperationalError as error:
            raise SystemExit(
                f"PostgreSQL at {admin_url.render_as_string()} cannot be reached or refuses "
                f"to create a database ({error.orig}). Start it, or point {variable} "
                "at a server whose user may create databases."
            ) from None
        try:
            yield admin_url.set(database=name)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def bench_database(admin_url: URL) -> Iterator[URL]:
    """A fresh database on the server of ``admin_url``, migrated and holding the bench catalog.

    Uniquely named, and dropped at the end.
    """
    with fresh_database(admin_url) as url:
        _migrate_and_seed(url)
        yield url


def _migrate_and_seed(url: URL) -> None:
    upgrade(url)
    engine = make_engine(url, poolclass=NullPool)
    try:
        seed_demo_catalog(SqlCatalog(engine), bench_catalog(datetime.now(UTC)))
    finally:
        engine.dispose()


def bench_catalog(now: datetime) -> DemoCatalog:
    """The demo's catalog, its sale running around ``now`` and ``SAVE20`` without a limit."""
    demo = demo_catalog()
    sales = {
        slug: attrs.evolve(
            sale, starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=90)
        )
        for slug, sale in demo.sales.items()
    }
    coupons_ = {code: attrs.evolve(c, usage_limit=None) for code, c in demo.coupons.items()}
    return attrs.evolve(demo, sales=sales, coupons=coupons_)


def build_checkout(engine: Engine, *, cached: bool = False) -> Checkout:
    """A Checkout on ``engine`` with the fake gateway; a cart cache only when ``cached``."""
    clock = SystemClock()
    gateway = FakeGateway(WEBHOOK_SECRET, clock=clock)
    ports = CheckoutPorts(
        unit_of_work=SqlUnitOfWorkFactory(engine),
        gateway=gateway,
        clock=clock,
        ids=RandomIds(),
        notifications=LogNotificationSender(),
        analytics=LogAnalyticsTracker(),
        alerts=LogAlertSink(),
        cart_cache=InMemoryCartCache(clock) if cached else None,
    )
    return Checkout.build(ports, CheckoutSettings(tax=demo_catalog().tax))


def ok(result: Result[T, CheckoutError], what: str) -> T:
    """The value of a successful ``result``; a failure stops the benchmark, saying what failed."""
    match result:
        case Success(value):
            return value  # type: ignore[no-any-return]
        case Failure(error):
            raise SystemExit(f"{what} failed: {error!r}")
    raise AssertionError(result)


def check_estimate(estimate: Estimate, *, coupon: bool, what: str) -> None:
    """Refuse to count a flow whose sale (or coupon) did not apply: it would not be the seed's."""
    sale = any(note.applied and note.kind is DiscountKind.SALE for note in estimate.notes)
    if not sale or estimate.coupon_applied is not coupon:
        raise SystemExit(f"{what}: the sale or the coupon did not apply as expected")


def check_paid(placed: OrderPlaced, what: str) -> None:
    """Refuse a paid order that is not new, not awaiting payment, or has no session."""
    receipt = placed.receipt
    if (
        placed.replayed
        or receipt.status != OrderStatus.AWAITING_PAYMENT.value
        or receipt.checkout_url is None
        or not receipt.discount_amount
    ):
        raise SystemExit(f"{what}: not a new discounted order awaiting payment: {receipt}")


# ----------------------------------------------------------- counting statements

_TOKEN: Final = re.compile(r'[()]|"[^"]*"|[A-Za-z_][A-Za-z0-9_.$]*')
_TABLE_AFTER: Final = frozenset({"FROM", "INTO", "JOIN"})
_CONFLICT: Final = re.compile(
    r"\bON CONFLICT\b.*?\bDO (NOTHING|UPDATE)\b", re.IGNORECASE | re.DOTALL
)


def label(statement: str) -> str:
    """A statement's first words: its verb and table, and what else it does of note.

    ``SELECT coupons (+ coupon_redemptions)`` for a select with a subquery on
    another table; ``FOR UPDATE`` and ``ON CONFLICT DO ...`` are kept.
    """
    tokens = _TOKEN.findall(statement)
    verb = tokens[0].upper()
    depth = 0
    main: str | None = None
    others: list[str] = []
    for position, word in enumerate(tokens):
        if word == "(":
            depth += 1
        elif word == ")":
            depth -= 1
        elif (position == 1 and verb == "UPDATE") or (
            position > 0 and tokens[position - 1].upper() in _TABLE_AFTER
        ):
            # An UPDATE's table follows its verb; a later UPDATE (FOR UPDATE, DO UPDATE) names none.
            table = word.strip('"')
            if depth == 0 and main is None:
                main = table
            elif table != main and table not in others:
                others.append(table)
    words = [verb, main or "?"]
    if others:
        words.append(f"(+ {', '.join(others)})")
    upper = statement.upper()
    if "FOR UPDATE" in upper:
        words.append("FOR UPDATE")
    conflict = _CONFLICT.search(statement)
    if conflict is not None:
        words.append(f"ON CONFLICT DO {conflict.group(1).upper()}")
    return " ".join(words)


class OperationCount(TypedDict):
    """What one operation sent to the database."""

    statements: int
    transactions: int
    connections: int
    sql: list[str]


@dataclass
class StatementLog:
    """Counts what an engine sends while :meth:`count` runs an operation.

    Statements come from ``before_cursor_execute`` (once per ``execute`` or
    ``executemany``), transactions from the engine's ``begin`` and connections
    from the pool's ``checkout``: each checkout also costs a pre-ping, which
    SQLAlchemy sends below the events and is not counted as a statement.
    """

    engine: Engine
    statements: list[str] = field(default_factory=list)
    transactions: int = 0
    connections: int = 0
    recording: bool = False

    def __post_init__(self) -> None:
        event.listen(self.engine, "before_cursor_execute", self._on_statement)
        event.listen(self.engine, "begin", self._on_begin)
        event.listen(self.engine.pool, "checkout", self._on_checkout)

    def _on_statement(
        self,
        _connection: Connection,
        _cursor: Any,  # noqa: ANN401 - a DBAPI cursor
        statement: str,
        _parameters: Any,  # noqa: ANN401 - whatever the DBAPI is given
        _context: Any,  # noqa: ANN401 - SQLAlchemy's execution context
        _executemany: bool,  # noqa: FBT001 - the event's signature
    ) -> None:
        if self.recording:
            self.statements.append(statement)

    def _on_begin(self, _connection: Connection) -> None:
        if self.recording:
            self.transactions += 1

    def _on_checkout(self, *_args: object) -> None:
        if self.recording:
            self.connections += 1

    def count(self, operation: Callable[[], T]) -> tuple[T, OperationCount]:
        """Run ``operation`` and return its result and what it sent."""
        self.statements.clear()
        self.transactions = self.connections = 0
        self.recording = True
        try:
            result = operation()
        finally:
            self.recording = False
        counted: OperationCount = {
            "statements": len(self.statements),
            "transactions": self.transactions,
            "connections": self.connections,
            "sql": [label(statement) for statement in self.statements],
        }
        return result, counted

    def close(self) -> None:
        """Stop listening."""
        event.remove(self.engine, "before_cursor_execute", self._on_statement)
        event.remove(self.engine, "begin", self._on_begin)
        event.remove(self.engine.pool, "checkout", self._on_checkout)


def count_flow(checkout: Checkout, log: StatementLog, run: int) -> dict[str, OperationCount]:
    """Count each operation of the seed's flow once, on carts made before counting starts."""
    counts: dict[str, OperationCount] = {}
    created, counts["create cart"] = log.count(
        lambda: checkout.carts.create_cart(
            [SEED_LINE], sale_slug=SALE_SLUG, analytics_data=ANALYTICS
        )
    )
    token = ok(created, "create cart").token
    estimated, counts["estimate"] = log.count(lambda: checkout.pricing.calculate(token, None))
    check_estimate(ok(estimated, "estimate"), coupon=False, what="estimate")
    applied, counts["apply coupon"] = log.count(
        lambda: checkout.discounts.apply(token, COUPON_CODE, None)
    )
    check_estimate(ok(applied, "apply coupon").estimate, coupon=True, what="apply coupon")
    free_token = ok(checkout.carts.create_cart([FREE_LINE]), "create the free cart").token
    free, counts["create free order"] = log.count(
        lambda: checkout.orders.create_from_cart(free_token, f"bench-free-{run}", BUYER)
    )
    receipt = ok(free, "create free order").receipt
    if receipt.status != OrderStatus.COMPLETED.value or receipt.total != 0:
        raise SystemExit(f"create free order: not a completed free order: {receipt}")
    paid, counts["create paid order"] = log.count(
        lambda: checkout.orders.create_from_cart(token, f"bench-paid-{run}", BUYER)
    )
    check_paid(ok(paid, "create paid order"), "create paid order")
    return counts


def count_cached_estimate(checkout: Checkout, log: StatementLog) -> OperationCount:
    """Count the estimate of a cart the cart cache holds (it was cached when created)."""
    created = checkout.carts.create_cart([SEED_LINE], sale_slug=SALE_SLUG, analytics_data=ANALYTICS)
    token = ok(created, "create cart").token
    estimated, counted = log.count(lambda: checkout.pricing.calculate(token, None))
    check_estimate(ok(estimated, "estimate, cached"), coupon=False, what="estimate, cached")
    return counted


def count_statements(url: URL, repeats: int) -> dict[str, OperationCount]:
    """Count every operation ``repeats`` times; a count that varies stops the benchmark."""
    engine = make_engine(url)
    try:
        plain = build_checkout(engine)
        cached = build_checkout(engine, cached=True)
        # A flow before counting: the engine's first connection runs statements of its own.
        log = StatementLog(engine)
        count_flow(plain, log, run=0)
        rounds = []
        for run in range(1, repeats + 1):
            counts = count_flow(plain, log, run)
            counts["estimate, with the cart cache"] = count_cached_estimate(cached, log)
            rounds.append(counts)
        log.close()
    finally:
        engine.dispose()
    for counts in rounds[1:]:
        if counts != rounds[0]:
            raise SystemExit(f"the statement counts vary between runs:\n{rounds[0]}\n{counts}")
    return rounds[0]


# ---------------------------------------------------------------- throughput


@dataclass(frozen=True, slots=True)
class PaidOrder:
    """A cart ready to be ordered: SAVE20 applied, bound to its buyer, and the order's key."""

    token: str
    key: str
    user_id: str


class Run(TypedDict):
    """One timed run of paid orders."""

    orders: int
    seconds: float
    orders_per_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    client_cpu_ms_per_order: float


def prepare(checkout: Checkout, count: int, run: str) -> list[PaidOrder]:
    """Make ``count`` carts of the seed's, each with SAVE20 applied by a buyer of its own."""
    prepared = []
    for index in range(count):
        user_id = f"buyer_{run}_{index}"
        created = checkout.carts.create_cart(
            [SEED_LINE], sale_slug=SALE_SLUG, analytics_data=ANALYTICS
        )
        token = ok(created, "create cart").token
        ok(checkout.discounts.apply(token, COUPON_CODE, user_id), "apply coupon")
        prepared.append(PaidOrder(token, f"bench-{run}-{index}", user_id))
    return prepared


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))]


def _failure(result: Result[OrderPlaced, CheckoutError]) -> str | None:
    match result:
        case Success(placed):
            receipt = placed.receipt
            if receipt.checkout_url is None or placed.replayed:
                return f"not a new order with a session: {receipt}"
            return None
        case Failure(error):
            return repr(error)
    raise AssertionError(result)


def _place_orders(
    checkout: Checkout,
    work: queue.SimpleQueue[PaidOrder],
    barrier: threading.Barrier,
    latencies: list[float],
    failures: list[str],
) -> None:
    """One thread's share: after the barrier, place orders from ``work`` until it is empty."""
    barrier.wait()
    while True:
        try:
            order = work.get_nowait()
        except queue.Empty:
            return
        start = time.perf_counter()
        try:
            result = checkout.orders.create_from_cart(order.token, order.key, order.user_id)
        except Exception as error:  # noqa: BLE001 - reported after the run, which then stops
            failures.append(repr(error))
            continue
        latencies.append(time.perf_counter() - start)
        failure = _failure(result)
        if failure is not None:
            failures.append(failure)


def timed_run(checkout: Checkout, prepared: Sequence[PaidOrder], threads: int) -> Run:
    """Place the prepared orders from ``threads`` threads started together; time them all.

    The time runs from the barrier's release to the last order placed; the
    CPU time is this whole process's (every thread), over the same span.
    """
    work: queue.SimpleQueue[PaidOrder] = queue.SimpleQueue()
    for order in prepared:
        work.put(order)
    barrier = threading.Barrier(threads + 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures: list[str] = []
    workers = [
        threading.Thread(target=_place_orders, args=(checkout, work, barrier, mine, failures))
        for mine in latencies
    ]
    for worker in workers:
        worker.start()
    gc.collect()
    barrier.wait()
    start, cpu_start = time.perf_counter(), time.process_time()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    if failures:
        raise SystemExit(f"{len(failures)} orders failed, the first: {failures[0]}")
    every = sorted(latency for mine in latencies for latency in mine)
    return {
        "orders": len(prepared),
        "seconds": round(elapsed, 4),
        "orders_per_s": round(len(prepared) / elapsed, 1),
        "latency_p50_ms": round(_percentile(every, 0.5) * 1e3, 2),
        "latency_p95_ms": round(_percentile(every, 0.95) * 1e3, 2),
        "client_cpu_ms_per_order": round(cpu / len(prepared) * 1e3, 3),
    }


def check_books(engine: Engine) -> int:
    """Check that SAVE20's use count, its redemptions and the orders with it agree."""
    with engine.connect() as connection:
        used = connection.execute(
            select(coupons.c.used).where(coupons.c.code == COUPON_CODE)
        ).scalar_one()
        redeemed = connection.execute(
            select(func.count()).where(
                coupon_redemptions.c.coupon_code == COUPON_CODE,
                coupon_redemptions.c.status == RedemptionStatus.ACTIVE.value,
            )
        ).scalar_one()
        ordered = connection.execute(
            select(func.count()).where(orders_table.c.coupon_code == COUPON_CODE)
        ).scalar_one()
    if not used == redeemed == ordered:
        raise SystemExit(
            f"{COUPON_CODE}: used {used}, {redeemed} active redemptions, {ordered} orders"
        )
    return int(ordered)


def measure_throughput(url: URL, runs: int, orders: int, warmup: int) -> list[Run]:
    """``runs`` timed runs of ``orders`` paid orders each, after an untimed warm-up run."""
    engine = make_engine(url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)
    try:
        checkout = build_checkout(engine)
        timed_run(checkout, prepare(checkout, warmup, "warmup"), THREADS)
        results = [
            timed_run(checkout, prepare(checkout, orders, str(run)), THREADS) for run in range(runs)
        ]
        check_books(engine)
    finally:
        engine.dispose()
    return results


# -------------------------------------------------------------------- report


def server_facts(url: URL) -> dict[str, str]:
    """The server's version and the settings that decide what a commit costs."""
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return {
                name: str(connection.exec_driver_sql(f"SHOW {name}").scalar_one())
                for name in ("server_version", "fsync", "synchronous_commit", "max_connections")
            }
    finally:
        engine.dispose()


def _statement_table(counts: dict[str, OperationCount]) -> str:
    head = (
        f"{'operation':<30} | {'statements':>10} {'transactions':>12} {'connections':>11} | target"
    )
    rows = [head, "-" * len(head)]
    for name, counted in counts.items():
        target = TARGET_STATEMENTS.get(name)
        rows.append(
            f"{name:<30} | {counted['statements']:>10} {counted['transactions']:>12} "
            f"{counted['connections']:>11} | {'' if target is None else f'<= {target}'}"
        )
    return "\n".join(rows)


def _run_table(runs: Sequence[Run]) -> str:
    head = (
        f"{'run':>3} | {'orders':>6} {'seconds':>8} {'orders/s':>9} | "
        f"{'p50 ms':>7} {'p95 ms':>7} | {'client CPU ms/order':>19}"
    )
    rows = [head, "-" * len(head)]
    for index, run in enumerate(runs, 1):
        rows.append(
            f"{index:>3} | {run['orders']:>6} {run['seconds']:>8.3f} {run['orders_per_s']:>9.1f} | "
            f"{run['latency_p50_ms']:>7.2f} {run['latency_p95_ms']:>7.2f} | "
            f"{run['client_cpu_ms_per_order']:>19.3f}"
        )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print its tables and write ``benchmarks/results/flow.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    count_repeats, runs, orders, warmup = (1, 2, 80, 16) if args.quick else (3, 5, 400, 80)
    admin_url = make_url(os.environ.get(ADMIN_URL_VARIABLE) or DEFAULT_ADMIN_URL)

    with bench_database(admin_url) as url:
        server = server_facts(url)
        counts = count_statements(url, count_repeats)
        results = measure_throughput(url, runs, orders, warmup)

    median_rate = round(statistics.median(run["orders_per_s"] for run in results), 1)
    targets = [
        target(
            f"statements, {name}",
            f"<= {limit}",
            counts[name]["statements"],
            met=counts[name]["statements"] <= limit,
        )
        for name, limit in TARGET_STATEMENTS.items()
    ]
    targets.append(
        target(
            f"paid orders per second, {THREADS} threads, median of {runs} runs",
            f">= {TARGET_ORDERS_PER_S}",
            median_rate,
            met=median_rate >= TARGET_ORDERS_PER_S,
        )
    )

    print(
        f"\nflow: statements per operation on PostgreSQL {server['server_version']}, "
        "no cart cache unless said"
    )
    print(_statement_table(counts))
    for name, counted in counts.items():
        print(f"  {name}: {', '.join(counted['sql'])}")
    print(
        f"Saleor, as quoted: {SALEOR_QUERIES['create checkout']} queries to create a checkout, "
        f"about {SALEOR_QUERIES['complete checkout']} to complete one"
    )
    print(
        f"\nflow: paid orders from {THREADS} threads (pool {POOL_SIZE}+{MAX_OVERFLOW}), "
        f"{runs} runs of {orders}; fake gateway, fsync={server['fsync']}, "
        f"synchronous_commit={server['synchronous_commit']}"
    )
    print(_run_table(results))
    print(f"median: {median_rate:,.1f} paid orders/s")
    print_targets(targets)

    report = {
        "benchmark": "flow",
        **machine(quick=args.quick),
        "postgres": server,
        "drivers": {
            "sqlalchemy": metadata.version("sqlalchemy"),
            "psycopg": f"{psycopg.__version__} ({psycopg.pq.__impl__})",
        },
        "scenario": {
            "catalog": "the demo's, summer2024 moved to run around today, SAVE20 without a limit",
            "cart": f"{SEED_LINE.offering_id} for 3 months under {SALE_SLUG}, analytics data",
            "free cart": f"{FREE_LINE.offering_id} for 1 month",
            "coupon": COUPON_CODE,
            "gateway": "FakeGateway (in memory)",
            "clock": "SystemClock",
            "ids": "RandomIds",
        },
        "method": {
            "statements": (
                "before_cursor_execute events during the operation alone (executemany counts "
                "once); cart_cache=None unless said; transactions are the engine's begin events, "
                "connections the pool's checkouts (each also sends an uncounted pre-ping)"
            ),
            "statement_repeats": count_repeats,
            "throughput": (
                f"{THREADS} threads released by a barrier take prepared carts from a shared queue "
                "and place their orders (create_from_cart only); time from the barrier to the "
                "last order; an untimed warm-up run first"
            ),
            "threads": THREADS,
            "pool": {"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW},
            "runs": runs,
            "orders_per_run": orders,
            "warmup_orders": warmup,
            "statistic": "median of the runs' orders per second",
        },
        "statements": counts,
        "saleor_queries": SALEOR_QUERIES,
        "throughput": {"runs": results, "median_orders_per_s": median_rate},
        "targets": targets,
    }
    write_report(RESULTS, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
