"""Benchmark of Razorpay webhooks on PostgreSQL: statements per webhook, webhooks per second.

It creates a fresh database of its own on the PostgreSQL server at
``CHECKOUT_BENCH_DATABASE_URL`` (by default the local server, through its
``postgres`` database), migrates it with ``upgrade``, seeds the demo's
catalog (``summer2024`` moved to run around today, ``SAVE20`` without a
limit, as in ``flow.py``) and drops the database at the end. The Checkout is
wired as a host would wire it for Razorpay: :class:`SqlUnitOfWorkFactory`,
:class:`RazorpayGateway` behind :class:`GuardedGateway`, pointed at a
started gateway :class:`Sandbox`, the system clock, random ids and no cart
cache.

The deliveries are the real ones. Carts of the seed's (``int_123`` for 3
months under ``summer2024``, ``SAVE20`` applied by a buyer of their own)
are ordered through the checkout, so that each order has a Razorpay order
at the sandbox; then each is paid with ``sandbox.complete_payment``, the
sandbox's webhook target being a receiver that only records what it is
sent (provider, headers, raw body) and answers 200. Every order so yields
the three deliveries Razorpay sends, signed as Razorpay signs them:
``payment.authorized``, ``payment.captured`` and ``order.paid``. Only
``checkout.webhooks.handle(headers, body)`` is measured.

1. Statements per webhook, counted with SQLAlchemy's ``before_cursor_execute``
   event (an ``executemany`` counts as one), for one order's deliveries in
   turn: ``payment.authorized`` on a new payment, ``payment.captured`` on the
   authorized payment (the realistic path, and the one with the target), the
   same ``payment.captured`` delivered again (a duplicate: the inbox refuses
   it), then ``order.paid`` after the capture (verified, recorded, ignored).
   Each statement's first words are listed, with the transactions begun and
   pool connections taken.
2. Webhooks per second from 8 threads: each run pays fresh orders first,
   then 8 threads released together by a barrier take one order's
   deliveries at a time from a shared queue and handle them in the order
   the sandbox sent them (one order's events are not raced against each
   other; orders interleave across the threads). Webhooks per second are
   deliveries handled per second, applied or not; the applied, ignored and
   duplicate deliveries are counted. Figures are per run, and the median
   over runs.

At the end every order must be paid exactly once (paid, its payment
captured in full) with exactly one ``order.paid`` event in the outbox, and
every delivery must be in the inbox. The script prints a table and writes
``benchmarks/results/webhooks.json``. A missed target is reported, not an
error; a delivery that fails, an outcome other than expected or books that
disagree with the database afterwards fail the run.

Run it with ``nox -s bench`` or ``python benchmarks/webhooks.py`` (add
``--quick`` for a short smoke run with fewer, smaller runs).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import queue
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Final, TypedDict

import psycopg
from returns.result import Failure, Success
from sqlalchemy import URL, Engine, func, make_url, select
from sqlalchemy.pool import NullPool

from checkout_adapters.demo import demo_catalog
from checkout_adapters.memory import LogAlertSink, LogAnalyticsTracker, LogNotificationSender
from checkout_adapters.razorpay import EVENT_ID_HEADER, RAZORPAY_PROVIDER, RazorpayGateway
from checkout_adapters.resilience import GuardedGateway
from checkout_adapters.sandbox import Sandbox
from checkout_adapters.sqlalchemy import SqlUnitOfWorkFactory, make_engine
from checkout_adapters.sqlalchemy.tables import orders as orders_table
from checkout_adapters.sqlalchemy.tables import outbox, payments, webhook_inbox
from checkout_adapters.system import RandomIds, SystemClock
from checkout_core.domain.orders import OrderStatus
from checkout_core.domain.payments import PaymentStatus
from checkout_core.domain.webhooks import InboxStatus
from checkout_core.services import Checkout, CheckoutPorts, CheckoutSettings, WebhookOutcome
from flow import (
    ADMIN_URL_VARIABLE,
    DEFAULT_ADMIN_URL,
    MAX_OVERFLOW,
    POOL_SIZE,
    THREADS,
    OperationCount,
    StatementLog,
    bench_database,
    check_paid,
    ok,
    prepare,
    server_facts,
)
from reporting import machine, print_targets, target, write_report

RESULTS: Final = Path(__file__).resolve().parent / "results" / "webhooks.json"

TARGET_WEBHOOKS_PER_S: Final = 500
"""Deliveries verified and handled per second wanted from 8 threads, on the 2-core machine."""
TARGET_STATEMENTS: Final = 8
"""Most statements wanted for an applied webhook: ``payment.captured`` on an authorized payment."""
TARGETED: Final = "payment.captured (authorized payment)"
"""The counted delivery the statement target is about."""

KEY_ID: Final = "rzp_test_bench"
KEY_SECRET: Final = "bench_key_secret"  # noqa: S105 - the sandbox's, not a real secret
WEBHOOK_SECRET: Final = "bench_webhook_secret"  # noqa: S105 - the sandbox's, not a real secret

SENT: Final = ("payment.authorized", "payment.captured", "order.paid")
"""What Razorpay sends, in this order, for an order paid and captured at once."""
EXPECTED: Final = {
    "payment.authorized": InboxStatus.APPLIED,
    "payment.captured": InboxStatus.APPLIED,
    "order.paid": InboxStatus.IGNORED,
}
"""What each delivery of an order does when they come in the order sent."""


# ------------------------------------------------------------------ the world


@dataclass(frozen=True, slots=True)
class Received:
    """One delivery as the host's endpoint gets it: headers and the raw body."""

    provider: str
    headers: dict[str, str]
    body: bytes
    type: str
    event_id: str
    order_id: str


def _razorpay_order_id(envelope: dict[str, object]) -> str:
    """The Razorpay order a delivery is about, from its payment's ``order_id`` or its order."""
    payload = envelope["payload"]
    if not isinstance(payload, dict):
        raise SystemExit(f"a webhook without a payload: {envelope}")
    for name, key in (("payment", "order_id"), ("order", "id")):
        wrapper = payload.get(name)
        if isinstance(wrapper, dict) and isinstance(wrapper["entity"].get(key), str):
            return str(wrapper["entity"][key])
    raise SystemExit(f"a webhook about no Razorpay order: {envelope}")


@dataclass
class Recorder:
    """The sandbox's webhook target: records each delivery and answers 200, nothing else."""

    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, provider: str, headers: dict[str, str], body: bytes) -> int:
        """Take one delivery (the sandbox's ``WebhookReceiver``)."""
        envelope = json.loads(body)
        lowered = {name.lower(): value for name, value in headers.items()}
        delivery = Received(
            provider=provider,
            headers=dict(headers),
            body=body,
            type=str(envelope["event"]),
            event_id=lowered[EVENT_ID_HEADER],
            order_id=_razorpay_order_id(envelope),
        )
        with self.lock:
            self.received.append(delivery)
        return 200

    def take(self) -> list[Received]:
        """Everything received since the last take."""
        with self.lock:
            taken, self.received = self.received, []
        return taken


@dataclass(frozen=True, slots=True)
class PaidOrder:
    """An order paid at the sandbox, and the deliveries its payment raised, in the order sent."""

    order_token: str
    razorpay_order_id: str
    deliveries: tuple[Received, ...]


@dataclass
class World:
    """The sandbox, the recorder it delivers to, and the Checkout wired to both."""

    sandbox: Sandbox
    recorder: Recorder
    checkout: Checkout


@contextmanager
def razorpay_world(engine: Engine) -> Iterator[World]:
    """A started sandbox and a Checkout on ``engine`` paying through it with Razorpay."""
    recorder = Recorder()
    with Sandbox(
        razorpay_key_id=KEY_ID,
        razorpay_key_secret=KEY_SECRET,
        razorpay_webhook_secret=WEBHOOK_SECRET,
        webhook_target=recorder,
    ) as sandbox:
        clock = SystemClock()
        razorpay = RazorpayGateway(
            KEY_ID, KEY_SECRET, WEBHOOK_SECRET, base_url=sandbox.base_url, clock=clock
        )
        ports = CheckoutPorts(
            unit_of_work=SqlUnitOfWorkFactory(engine),
            gateway=GuardedGateway(razorpay, clock),
            clock=clock,
            ids=RandomIds(),
            notifications=LogNotificationSender(),
            analytics=LogAnalyticsTracker(),
            alerts=LogAlertSink(),
            cart_cache=None,
        )
        checkout = Checkout.build(ports, CheckoutSettings(tax=demo_catalog().tax))
        try:
            yield World(sandbox, recorder, checkout)
        finally:
            razorpay.close()


def paid_orders(world: World, count: int, run: str) -> list[PaidOrder]:
    """Order ``count`` seed carts with SAVE20 through the checkout, pay each, collect the webhooks.

    Nothing here is timed; the checkout handles none of the deliveries.
    """
    placed: list[tuple[str, str]] = []
    for cart in prepare(world.checkout, count, run):
        order = ok(
            world.checkout.orders.create_from_cart(cart.token, cart.key, cart.user_id),
            "create paid order",
        )
        check_paid(order, "create paid order")
        receipt = order.receipt
        if receipt.provider != RAZORPAY_PROVIDER or receipt.provider_ref is None:
            raise SystemExit(f"not a Razorpay order: {receipt}")
        placed.append((receipt.order_token, receipt.provider_ref))
    world.recorder.take()
    for _, razorpay_order_id in placed:
        world.sandbox.complete_payment(RAZORPAY_PROVIDER, razorpay_order_id)
    world.sandbox.wait_for_deliveries(timeout=60.0)
    if world.sandbox.abandoned:
        raise SystemExit(f"the sandbox gave up {len(world.sandbox.abandoned)} webhooks")
    by_order: dict[str, list[Received]] = {}
    for delivery in world.recorder.take():
        by_order.setdefault(delivery.order_id, []).append(delivery)
    prepared = []
    for order_token, razorpay_order_id in placed:
        deliveries = tuple(by_order.pop(razorpay_order_id, ()))
        if tuple(delivery.type for delivery in deliveries) != SENT:
            raise SystemExit(
                f"order {razorpay_order_id}: the sandbox sent "
                f"{[delivery.type for delivery in deliveries]}, not {list(SENT)}"
            )
        prepared.append(PaidOrder(order_token, razorpay_order_id, deliveries))
    if by_order:
        raise SystemExit(f"webhooks for orders not placed here: {sorted(by_order)}")
    return prepared


def handled(world: World, delivery: Received, what: str) -> WebhookOutcome:
    """The outcome of handling ``delivery``; a rejected or failed one stops the benchmark."""
    return ok(world.checkout.webhooks.handle(delivery.headers, delivery.body), what)


def _expect(outcome: WebhookOutcome, status: InboxStatus, *, duplicate: bool, what: str) -> None:
    if outcome.status is not status or outcome.duplicate is not duplicate:
        raise SystemExit(
            f"{what}: {outcome.status} (duplicate: {outcome.duplicate}), "
            f"not {status} (duplicate: {duplicate}): {outcome.detail}"
        )


# ----------------------------------------------------------- counting statements


def count_order(world: World, log: StatementLog, order: PaidOrder) -> dict[str, OperationCount]:
    """Count each delivery of one paid order, in the order sent, and a repeated capture."""
    authorized, captured, order_paid = order.deliveries
    counts: dict[str, OperationCount] = {}
    outcome, counts["payment.authorized (new payment)"] = log.count(
        lambda: handled(world, authorized, "payment.authorized")
    )
    _expect(outcome, InboxStatus.APPLIED, duplicate=False, what="payment.authorized")
    outcome, counts[TARGETED] = log.count(lambda: handled(world, captured, "payment.captured"))
    _expect(outcome, InboxStatus.APPLIED, duplicate=False, what="payment.captured")
    outcome, counts["payment.captured again (duplicate)"] = log.count(
        lambda: handled(world, captured, "the repeated payment.captured")
    )
    _expect(outcome, InboxStatus.IGNORED, duplicate=True, what="the repeated payment.captured")
    outcome, counts["order.paid after capture (ignored)"] = log.count(
        lambda: handled(world, order_paid, "order.paid")
    )
    _expect(outcome, InboxStatus.IGNORED, duplicate=False, what="order.paid")
    return counts


def count_statements(url: URL, repeats: int) -> tuple[dict[str, OperationCount], int]:
    """Count one order's deliveries ``repeats`` times; a count that varies stops the benchmark.

    Returns the counts and how many orders were paid.
    """
    engine = make_engine(url)
    try:
        with razorpay_world(engine) as world:
            prepared = paid_orders(world, repeats + 1, "count")
            # An order before counting: the engine's first connection runs statements of its own.
            log = StatementLog(engine)
            count_order(world, log, prepared[0])
            rounds = [count_order(world, log, order) for order in prepared[1:]]
            log.close()
    finally:
        engine.dispose()
    for counts in rounds[1:]:
        if counts != rounds[0]:
            raise SystemExit(f"the statement counts vary between orders:\n{rounds[0]}\n{counts}")
    return rounds[0], len(prepared)


# ---------------------------------------------------------------- throughput


class Run(TypedDict):
    """One timed run of webhook deliveries."""

    orders: int
    webhooks: int
    seconds: float
    webhooks_per_s: float
    applied: int
    ignored: int
    duplicate: int
    latency_p50_ms: float
    latency_p95_ms: float
    client_cpu_ms_per_webhook: float


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))]


@dataclass
class Tally:
    """What one thread saw: each delivery's time, the outcomes, and what went wrong."""

    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def _handle_orders(
    checkout: Checkout,
    work: queue.SimpleQueue[PaidOrder],
    barrier: threading.Barrier,
    tally: Tally,
) -> None:
    """One thread's share: after the barrier, handle orders' deliveries until none are left."""
    latencies, outcomes, failures = tally.latencies, tally.outcomes, tally.failures
    barrier.wait()
    while True:
        try:
            order = work.get_nowait()
        except queue.Empty:
            return
        for delivery in order.deliveries:
            start = time.perf_counter()
            try:
                result = checkout.webhooks.handle(delivery.headers, delivery.body)
            except Exception as error:  # noqa: BLE001 - reported after the run, which then stops
                failures.append(f"{delivery.type} of {order.razorpay_order_id}: {error!r}")
                continue
            latencies.append(time.perf_counter() - start)
            match result:
                case Success(outcome):
                    if outcome.duplicate:
                        outcomes["duplicate"] += 1
                    else:
                        outcomes[str(outcome.status)] += 1
                    if outcome.status is not EXPECTED[delivery.type] or outcome.duplicate:
                        failures.append(
                            f"{delivery.type} of {order.razorpay_order_id}: {outcome.status} "
                            f"(duplicate: {outcome.duplicate}), not {EXPECTED[delivery.type]}"
                        )
                case Failure(error):
                    failures.append(f"{delivery.type} of {order.razorpay_order_id}: {error!r}")


def timed_run(checkout: Checkout, prepared: Sequence[PaidOrder], threads: int) -> Run:
    """Handle the prepared orders' deliveries from ``threads`` threads started together.

    The time runs from the barrier's release to the last delivery handled;
    the CPU time is this whole process's (every thread, the sandbox's idle
    ones included), over the same span.
    """
    work: queue.SimpleQueue[PaidOrder] = queue.SimpleQueue()
    for order in prepared:
        work.put(order)
    barrier = threading.Barrier(threads + 1)
    tallies = [Tally() for _ in range(threads)]
    workers = [
        threading.Thread(target=_handle_orders, args=(checkout, work, barrier, tally))
        for tally in tallies
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
    failures = [failure for tally in tallies for failure in tally.failures]
    if failures:
        raise SystemExit(f"{len(failures)} deliveries went wrong, the first: {failures[0]}")
    every = sorted(latency for tally in tallies for latency in tally.latencies)
    total: Counter[str] = sum((tally.outcomes for tally in tallies), Counter())
    webhooks = len(every)
    return {
        "orders": len(prepared),
        "webhooks": webhooks,
        "seconds": round(elapsed, 4),
        "webhooks_per_s": round(webhooks / elapsed, 1),
        "applied": total[InboxStatus.APPLIED.value],
        "ignored": total[InboxStatus.IGNORED.value],
        "duplicate": total["duplicate"],
        "latency_p50_ms": round(_percentile(every, 0.5) * 1e3, 2),
        "latency_p95_ms": round(_percentile(every, 0.95) * 1e3, 2),
        "client_cpu_ms_per_webhook": round(cpu / webhooks * 1e3, 3),
    }


class Books(TypedDict):
    """What the database says after every delivery was handled."""

    orders: int
    orders_paid: int
    payments_captured_in_full: int
    order_paid_events: int
    orders_with_an_order_paid_event: int
    inbox: dict[str, int]


def check_books(engine: Engine, orders: int, deliveries: int) -> Books:
    """Check that each of the ``orders`` was paid once, with one ``order.paid`` event each.

    The database holds only this benchmark's orders, every one of them paid
    at the sandbox and its deliveries handled; ``deliveries`` were recorded
    in the inbox (repeats not counted).
    """
    paid_token = outbox.c.payload["order_token"].as_string()
    with engine.connect() as connection:
        placed = connection.execute(select(func.count()).select_from(orders_table)).scalar_one()
        paid = connection.execute(
            select(func.count()).where(orders_table.c.status == OrderStatus.PAID.value)
        ).scalar_one()
        captured = connection.execute(
            select(func.count()).where(
                payments.c.status == PaymentStatus.CAPTURED.value,
                payments.c.captured_amount == payments.c.amount,
            )
        ).scalar_one()
        events = connection.execute(
            select(func.count()).where(outbox.c.name == "order.paid")
        ).scalar_one()
        # As many events as orders, each for a different order of this database: one per order.
        distinct = connection.execute(
            select(func.count(paid_token.distinct())).where(
                outbox.c.name == "order.paid", paid_token.in_(select(orders_table.c.token))
            )
        ).scalar_one()
        inbox = {
            str(status): int(n)
            for status, n in connection.execute(
                select(webhook_inbox.c.status, func.count()).group_by(webhook_inbox.c.status)
            )
        }
    books: Books = {
        "orders": int(placed),
        "orders_paid": int(paid),
        "payments_captured_in_full": int(captured),
        "order_paid_events": int(events),
        "orders_with_an_order_paid_event": int(distinct),
        "inbox": inbox,
    }
    if not placed == paid == captured == events == distinct == orders:
        raise SystemExit(f"{orders} orders paid at the sandbox, but the books say {books}")
    if sum(inbox.values()) != deliveries:
        raise SystemExit(f"{deliveries} deliveries handled, but the inbox holds {inbox}")
    return books


def measure_throughput(
    url: URL, runs: int, orders: int, warmup: int
) -> tuple[list[Run], list[PaidOrder]]:
    """``runs`` timed runs of ``orders`` paid orders' deliveries each, after a warm-up run."""
    engine = make_engine(url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)
    handled_orders: list[PaidOrder] = []
    try:
        with razorpay_world(engine) as world:
            prepared = paid_orders(world, warmup, "warmup")
            timed_run(world.checkout, prepared, THREADS)
            handled_orders += prepared
            results = []
            for run in range(runs):
                prepared = paid_orders(world, orders, str(run))
                results.append(timed_run(world.checkout, prepared, THREADS))
                handled_orders += prepared
    finally:
        engine.dispose()
    return results, handled_orders


# -------------------------------------------------------------------- report


def _statement_table(counts: dict[str, OperationCount]) -> str:
    head = (
        f"{'delivery':<38} | {'statements':>10} {'transactions':>12} {'connections':>11} | target"
    )
    rows = [head, "-" * len(head)]
    for name, counted in counts.items():
        wanted = f"<= {TARGET_STATEMENTS}" if name == TARGETED else ""
        rows.append(
            f"{name:<38} | {counted['statements']:>10} {counted['transactions']:>12} "
            f"{counted['connections']:>11} | {wanted}"
        )
    return "\n".join(rows)


def _run_table(runs: Sequence[Run]) -> str:
    head = (
        f"{'run':>3} | {'orders':>6} {'webhooks':>8} {'seconds':>8} {'webhooks/s':>10} | "
        f"{'applied':>7} {'ignored':>7} {'dup':>4} | {'p50 ms':>7} {'p95 ms':>7} | "
        f"{'CPU ms/webhook':>14}"
    )
    rows = [head, "-" * len(head)]
    for index, run in enumerate(runs, 1):
        rows.append(
            f"{index:>3} | {run['orders']:>6} {run['webhooks']:>8} {run['seconds']:>8.3f} "
            f"{run['webhooks_per_s']:>10.1f} | {run['applied']:>7} {run['ignored']:>7} "
            f"{run['duplicate']:>4} | {run['latency_p50_ms']:>7.2f} "
            f"{run['latency_p95_ms']:>7.2f} | {run['client_cpu_ms_per_webhook']:>14.3f}"
        )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print its tables and write ``benchmarks/results/webhooks.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    count_repeats, runs, orders, warmup = (1, 2, 60, 16) if args.quick else (3, 5, 400, 80)
    admin_url = make_url(os.environ.get(ADMIN_URL_VARIABLE) or DEFAULT_ADMIN_URL)

    with bench_database(admin_url) as url:
        server = server_facts(url)
        counts, counted_orders = count_statements(url, count_repeats)
        results, handled_orders = measure_throughput(url, runs, orders, warmup)
        engine = make_engine(url, poolclass=NullPool)
        try:
            # The counted orders' deliveries: three each, the repeated capture not recorded.
            deliveries = counted_orders * len(SENT) + sum(
                len(order.deliveries) for order in handled_orders
            )
            books = check_books(engine, counted_orders + len(handled_orders), deliveries)
        finally:
            engine.dispose()

    median_rate = round(statistics.median(run["webhooks_per_s"] for run in results), 1)
    captured = counts[TARGETED]["statements"]
    targets = [
        target(
            f"statements, {TARGETED}",
            f"<= {TARGET_STATEMENTS}",
            captured,
            met=captured <= TARGET_STATEMENTS,
        ),
        target(
            f"webhooks per second, {THREADS} threads, median of {runs} runs",
            f">= {TARGET_WEBHOOKS_PER_S}",
            median_rate,
            met=median_rate >= TARGET_WEBHOOKS_PER_S,
        ),
    ]

    print(
        f"\nwebhooks: statements per Razorpay delivery on PostgreSQL {server['server_version']}, "
        "one order's deliveries in the order sent"
    )
    print(_statement_table(counts))
    for name, counted in counts.items():
        print(f"  {name}: {', '.join(counted['sql'])}")
    print(
        f"\nwebhooks: {', '.join(SENT)} per order from {THREADS} threads "
        f"(pool {POOL_SIZE}+{MAX_OVERFLOW}), {runs} runs of {orders} orders; "
        f"RazorpayGateway, fsync={server['fsync']}, "
        f"synchronous_commit={server['synchronous_commit']}"
    )
    print(_run_table(results))
    print(f"median: {median_rate:,.1f} webhooks/s")
    print(
        f"books: {books['orders']} orders, {books['orders_paid']} paid, "
        f"{books['payments_captured_in_full']} payments captured in full, "
        f"{books['order_paid_events']} order.paid events "
        f"for {books['orders_with_an_order_paid_event']} distinct orders; "
        f"inbox {books['inbox']}"
    )
    print_targets(targets)

    report = {
        "benchmark": "webhooks",
        **machine(quick=args.quick),
        "postgres": server,
        "drivers": {
            "sqlalchemy": metadata.version("sqlalchemy"),
            "psycopg": f"{psycopg.__version__} ({psycopg.pq.__impl__})",
            "razorpay": metadata.version("razorpay"),
        },
        "scenario": {
            "catalog": "the demo's, summer2024 moved to run around today, SAVE20 without a limit",
            "orders": "int_123 for 3 months under summer2024, SAVE20, a buyer each",
            "gateway": "RazorpayGateway behind GuardedGateway, on the gateway sandbox",
            "deliveries": (
                "what sandbox.complete_payment sends for each order, recorded by a receiver "
                f"that answers 200: {', '.join(SENT)}, signed as Razorpay signs them"
            ),
            "handled": "checkout.webhooks.handle(headers, body) only",
            "clock": "SystemClock",
            "ids": "RandomIds",
            "cart_cache": None,
        },
        "method": {
            "statements": (
                "before_cursor_execute events while one delivery is handled (executemany counts "
                "once), for one order's deliveries in the order sent and its capture repeated; "
                "transactions are the engine's begin events, connections the pool's checkouts "
                "(each also sends an uncounted pre-ping); one order handled uncounted first"
            ),
            "statement_repeats": count_repeats,
            "throughput": (
                f"{THREADS} threads released by a barrier take one paid order at a time from a "
                "shared queue and handle its deliveries in the order sent; time from the barrier "
                "to the last delivery handled; an untimed warm-up run first; fresh orders per run"
            ),
            "threads": THREADS,
            "pool": {"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW},
            "runs": runs,
            "orders_per_run": orders,
            "webhooks_per_run": orders * len(SENT),
            "warmup_orders": warmup,
            "statistic": "median of the runs' webhooks (deliveries handled) per second",
            "expected_per_order": {name: str(status) for name, status in EXPECTED.items()},
        },
        "statements": counts,
        "throughput": {"runs": results, "median_webhooks_per_s": median_rate},
        "books": books,
        "targets": targets,
    }
    write_report(RESULTS, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
