"""Benchmark of the scheduled jobs on PostgreSQL: cart cleanup, and the daily report.

It creates a fresh database of its own on the PostgreSQL server at
``CHECKOUT_BENCH_DATABASE_URL`` (by default the local server, through its
``postgres`` database), migrates it with ``upgrade``, seeds the demo's
catalog (as ``flow.py`` does) and drops the database at the end.

The rows are bulk-loaded, not made through the services: a million carts or
orders through the checkout would take the benchmark hours, and what is
timed here reads and writes rows, whoever made them. Each table is filled
by one ``INSERT ... SELECT ... FROM generate_series`` whose rows have the
shape the repositories write (lines, analytics pairs and pricing JSON as
``SqlCartRepository`` and ``SqlOrderRepository`` store them), then
``ANALYZE`` d, as a production table would be.

1. Carts cleaned per second: N carts (1,000,000; 100,000 with ``--quick``),
   all active, created 40 days ago and expired 39 days ago, so that
   ``checkout.carts.cleanup_expired(batch_size=10_000)`` (the Checkout wired
   as in ``flow.py``, system clock, ``cart_retention`` of 30 days) marks each
   one expired, then deletes each one past retention: both phases run over
   every cart. The call is timed whole (carts per second = N / its time);
   the time spent in each phase's statements (``UPDATE`` to expire,
   ``DELETE`` past retention) is measured with SQLAlchemy's
   ``before_cursor_execute`` and ``after_cursor_execute`` events. One run:
   the run empties the table it measures.
2. The daily report over M orders (1,000,000; 100,000 with ``--quick``) of
   1.25 M carts over 35 days: four offerings (two paid in INR, one in USD,
   one free), ``SAVE20`` on a seventh of the INR carts and ``FLAT5`` on a
   seventh of the USD ones, five sources and three campaigns (some carts
   have none), a fifth of the carts never ordered, and orders in every
   status (70% charged). ``daily_report(engine, last day, days=30)`` is run
   once untimed (to warm the caches) then timed 5 times (3 with ``--quick``);
   the figure is the median. The report's orders are checked against a
   plain ``count(*)`` so that a fast but wrong report fails the run.

The script prints the figures and writes ``benchmarks/results/jobs.json``.
A missed target is reported, not an error.

Run it with ``python benchmarks/jobs.py`` (add ``--quick`` for a short smoke
run with fewer rows and runs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import psycopg
from sqlalchemy import URL, Connection, Engine, event, make_url, text

from checkout_adapters.reports import CHARGED_STATUSES, DailyReport, daily_report
from checkout_adapters.sqlalchemy import make_engine
from checkout_core.services import CartCleanup
from flow import ADMIN_URL_VARIABLE, DEFAULT_ADMIN_URL, bench_database, build_checkout, ok
from reporting import machine, print_targets, target, write_report

RESULTS: Final = Path(__file__).resolve().parent / "results" / "jobs.json"

BATCH_SIZE: Final = 10_000
TARGET_CARTS_PER_S: Final = 50_000
"""Carts expired and deleted per second wanted from ``cleanup_expired``."""
TARGET_REPORT_S: Final = 3.0
"""Most seconds wanted for a 30-day daily report over a million orders."""
REPORT_DAYS: Final = 30
HISTORY_DAYS: Final = 35
CARTS_PER_ORDER: Final = 1.25
SOURCE_CAMPAIGN_PAIRS: Final = 15
"""Five sources (one of them none) times three campaigns (one of them none), in the history."""
"""A fifth of the carts are never ordered."""

# Row shapes as the repositories store them; %(name)s placeholders are bound by psycopg.
_STALE_CARTS: Final = """
INSERT INTO carts (token, lines, sale_slug, analytics, owner_id, coupon_code,
                   created_at, expires_at, status)
SELECT 'stale_' || i,
       '[{"offering_id": "int_123", "period": {"value": 3, "unit": "month"}}]'::jsonb,
       NULL,
       '[["source", "google"], ["campaign", "summer_sale"]]'::jsonb,
       'user_' || (i % 5000),
       NULL,
       :now - interval '40 days' + (i % 3600) * interval '1 second',
       :now - interval '39 days' + (i % 3600) * interval '1 second',
       'active'
FROM generate_series(1, :n) AS i
"""

# One row per cart: its offering, period, coupon, source, campaign, time and order status.
_HISTORY: Final = """
CREATE TEMPORARY TABLE history AS
SELECT i,
       offering.id AS offering_id, offering.currency, offering.unit_price,
       1 + i % 3 AS months,
       CASE WHEN i % 7 <> 0 THEN NULL
            WHEN offering.id = 'usd_101' THEN 'FLAT5'
            WHEN offering.unit_price > 0 THEN 'SAVE20' END AS coupon_code,
       (ARRAY['google', 'facebook', 'twitter', 'newsletter', NULL])[1 + i % 5] AS source,
       (ARRAY['summer_sale', 'brand', NULL])[1 + (i / 5) % 3] AS campaign,
       :start + (i % :days) * interval '1 day' + (i::bigint * 7919 % 86000) * interval '1 second'
           AS created_at,
       i % 5 <> 0 AS ordered,
       (ARRAY['completed', 'completed', 'completed', 'completed', 'completed', 'completed',
              'completed', 'paid', 'paid', 'paid', 'paid', 'paid', 'paid', 'paid',
              'partially_refunded', 'awaiting_payment', 'expired', 'payment_failed',
              'cancelled', 'pending'])[1 + (i / 5) % 20] AS status
FROM generate_series(1, :n) AS i
JOIN (VALUES (0, 'int_123', 'INR', 1439200), (1, 'int_200', 'INR', 999900),
             (2, 'usd_101', 'USD', 12345), (3, 'int_456', 'INR', 0))
     AS offering (k, id, currency, unit_price) ON offering.k = i % 4
"""

_HISTORY_CARTS: Final = """
INSERT INTO carts (token, lines, sale_slug, analytics, owner_id, coupon_code,
                   created_at, expires_at, status)
SELECT 'cart_' || i,
       jsonb_build_array(jsonb_build_object(
           'offering_id', offering_id,
           'period', jsonb_build_object('value', months, 'unit', 'month'))),
       NULL,
       COALESCE(jsonb_path_query_array(jsonb_build_array(
           jsonb_build_array('source', source), jsonb_build_array('campaign', campaign)),
           'strict $[*] ? (@[1] != null)'), '[]'::jsonb),
       'user_' || (i % 50000),
       coupon_code,
       created_at,
       created_at + interval '24 hours',
       CASE WHEN ordered THEN 'converted' ELSE 'expired' END
FROM history
"""

# The pricing is the engine's for one line, no sale, GST 18% exclusive, half-up per line.
_HISTORY_ORDERS: Final = """
INSERT INTO orders (token, cart_token, user_id, status, currency, total, pricing,
                    coupon_code, created_at, updated_at, refunded_amount)
SELECT 'order_' || i, 'cart_' || i, 'user_' || (i % 50000), status, currency,
       sub_total + tax, jsonb_build_object(
           'currency', currency, 'tax_rate', 180000, 'tax_mode', 'exclusive',
           'base_price', base, 'discount_amount', coupon_discount,
           'sub_total', sub_total, 'tax_total', tax,
           'lines', jsonb_build_array(jsonb_build_object(
               'offering_id', offering_id,
               'period', jsonb_build_object('value', months, 'unit', 'month'),
               'base_price', base, 'sale_discount', 0, 'coupon_discount', coupon_discount,
               'subtotal', sub_total, 'tax', tax)),
           'notes', CASE WHEN coupon_code IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(
               jsonb_build_object(
                   'kind', 'coupon', 'name', coupon_code, 'applied', true,
                   'amount', coupon_discount, 'reason', 'coupon',
                   'offering_ids', jsonb_build_array(offering_id), 'error_code', NULL))
               END,
           'coupon_code', coupon_code),
       coupon_code, created_at + interval '10 minutes', created_at + interval '20 minutes',
       CASE WHEN status = 'partially_refunded' THEN least(100, sub_total + tax) ELSE 0 END
FROM (
    SELECT *, base - coupon_discount AS sub_total,
           round((base - coupon_discount) * 0.18)::bigint AS tax
    FROM (
        SELECT *, unit_price * months AS base,
               CASE coupon_code WHEN 'SAVE20' THEN round(unit_price * months * 0.2)::bigint
                                WHEN 'FLAT5' THEN 500 ELSE 0 END AS coupon_discount
        FROM history
    ) AS priced
) AS taxed
WHERE ordered
"""


# ------------------------------------------------------------------ cleanup


@dataclass
class PhaseClock:
    """Time spent in the statements of each kind (``UPDATE``, ``DELETE``) while recording."""

    engine: Engine
    seconds: dict[str, float] = field(default_factory=dict)
    statements: dict[str, int] = field(default_factory=dict)
    _started: float = 0.0

    def __post_init__(self) -> None:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)

    def close(self) -> None:
        """Stop listening."""
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, *_args: Any) -> None:  # noqa: ANN401 - the event's arguments
        self._started = time.perf_counter()

    def _after(self, _connection: Connection, _cursor: Any, statement: str, *_: Any) -> None:  # noqa: ANN401 - DBAPI
        verb = statement.split(None, 1)[0].upper()
        self.seconds[verb] = self.seconds.get(verb, 0.0) + time.perf_counter() - self._started
        self.statements[verb] = self.statements.get(verb, 0) + 1


def seed_stale_carts(engine: Engine, count: int) -> float:
    """Bulk-load ``count`` active carts past expiry and retention; return the seconds taken."""
    begun = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text(_STALE_CARTS), {"now": datetime.now(UTC), "n": count})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE carts")
    return time.perf_counter() - begun


def count_rows(engine: Engine, sql: str) -> int:
    """The single integer ``sql`` selects."""
    with engine.connect() as connection:
        return int(connection.exec_driver_sql(sql).scalar_one())


def measure_cleanup(engine: Engine, count: int) -> dict[str, Any]:
    """Seed ``count`` stale carts, time one ``cleanup_expired`` over them, check it did all."""
    seeded = seed_stale_carts(engine, count)
    checkout = build_checkout(engine)
    phases = PhaseClock(engine)
    try:
        begun = time.perf_counter()
        cleanup: CartCleanup = ok(
            checkout.carts.cleanup_expired(batch_size=BATCH_SIZE), "cleanup_expired"
        )
        elapsed = time.perf_counter() - begun
    finally:
        phases.close()
    left = count_rows(engine, "SELECT count(*) FROM carts")
    if cleanup.expired != count or cleanup.deleted != count or left:
        raise SystemExit(f"cleanup of {count} carts did {cleanup}, leaving {left}")
    return {
        "carts": count,
        "seed_seconds": round(seeded, 2),
        "batch_size": BATCH_SIZE,
        "expired": cleanup.expired,
        "deleted": cleanup.deleted,
        "seconds": round(elapsed, 3),
        "carts_per_s": round(count / elapsed, 1),
        "statement_seconds": {verb: round(s, 3) for verb, s in sorted(phases.seconds.items())},
        "statements": dict(sorted(phases.statements.items())),
        "expire_carts_per_s": round(count / phases.seconds.get("UPDATE", float("nan")), 1),
        "delete_carts_per_s": round(count / phases.seconds.get("DELETE", float("nan")), 1),
    }


# ------------------------------------------------------------------- report


def seed_history(engine: Engine, orders: int, last_day: date) -> dict[str, Any]:
    """Bulk-load the carts and orders of ``HISTORY_DAYS`` days ending with ``last_day``."""
    carts = round(orders * CARTS_PER_ORDER)
    start = datetime.combine(last_day - timedelta(days=HISTORY_DAYS - 1), datetime.min.time(), UTC)
    begun = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text(_HISTORY), {"start": start, "days": HISTORY_DAYS, "n": carts})
        connection.execute(text(_HISTORY_CARTS))
        connection.execute(text(_HISTORY_ORDERS))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE carts")
        connection.exec_driver_sql("VACUUM ANALYZE orders")
    loaded = time.perf_counter() - begun
    return {
        "carts": count_rows(engine, "SELECT count(*) FROM carts"),
        "orders": count_rows(engine, "SELECT count(*) FROM orders"),
        "first_day": start.date().isoformat(),
        "last_day": last_day.isoformat(),
        "load_seconds": round(loaded, 1),
        "orders_table": _size(engine, "orders"),
        "carts_table": _size(engine, "carts"),
    }


def _size(engine: Engine, table: str) -> str:
    with engine.connect() as connection:
        value = connection.exec_driver_sql(
            f"SELECT pg_size_pretty(pg_total_relation_size('{table}'))"
        ).scalar_one()
    return str(value)


def check_report(engine: Engine, report: DailyReport) -> None:
    """Refuse a report whose charged orders differ from a plain count of them."""
    statuses = ", ".join(f"'{status}'" for status in CHARGED_STATUSES)
    start = datetime.combine(report.first_day, datetime.min.time(), UTC)
    expected = count_rows(
        engine,
        f"SELECT count(*) FROM orders WHERE status IN ({statuses}) "  # noqa: S608 - constants
        f"AND created_at >= '{start.isoformat()}' "
        f"AND created_at < '{(start + timedelta(days=report.days)).isoformat()}'",
    )
    found = sum(row.orders for row in report.revenue)
    by_offering = sum(row.lines for row in report.offerings)
    if not found == by_offering == expected:
        raise SystemExit(f"the report counts {found} ({by_offering} lines), not {expected}")
    # Every source and campaign of the history, and their absence, must be told apart.
    pairs = {(row.source, row.campaign) for row in report.source_conversion}
    if len(pairs) != SOURCE_CAMPAIGN_PAIRS:
        raise SystemExit(
            f"the report tells {len(pairs)} sources and campaigns apart, "
            f"not {SOURCE_CAMPAIGN_PAIRS}"
        )


def measure_report(engine: Engine, last_day: date, runs: int) -> dict[str, Any]:
    """Run the report once untimed, then ``runs`` times timed; check its figures."""
    report = daily_report(engine, last_day, days=REPORT_DAYS)
    check_report(engine, report)
    timings = []
    for _ in range(runs):
        begun = time.perf_counter()
        again = daily_report(engine, last_day, days=REPORT_DAYS)
        timings.append(round(time.perf_counter() - begun, 3))
        if again != report:
            raise SystemExit("two runs of the report over the same rows differ")
    statement_times = _statement_times(engine, lambda: daily_report(engine, last_day))
    return {
        "runs_seconds": timings,
        "median_seconds": round(statistics.median(timings), 3),
        "statement_seconds": statement_times,
        "charged_orders": sum(row.orders for row in report.revenue),
        "carts": sum(row.carts for row in report.conversion),
        "rows": {
            "conversion": len(report.conversion),
            "revenue": len(report.revenue),
            "offerings": len(report.offerings),
            "coupons": len(report.coupons),
            "source_conversion": len(report.source_conversion),
            "sources": len(report.sources),
        },
        "totals": {
            currency: {"orders": totals.orders, "net": totals.net}
            for currency in report.currencies
            for totals in [report.totals(currency)]
        },
    }


def _statement_times(engine: Engine, operation: Callable[[], object]) -> list[float]:
    """Each statement's time in one run of ``operation``, in order."""
    times: list[float] = []
    started: list[float] = []

    def before(*_args: Any) -> None:  # noqa: ANN401 - the event's arguments
        started.append(time.perf_counter())

    def after(*_args: Any) -> None:  # noqa: ANN401 - the event's arguments
        times.append(round(time.perf_counter() - started.pop(), 3))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        operation()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return times


# -------------------------------------------------------------------- main


def server_settings(url: URL) -> dict[str, str]:
    """The server's version and the settings that bear on these figures."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                name: str(connection.exec_driver_sql(f"SHOW {name}").scalar_one())
                for name in (
                    "server_version",
                    "shared_buffers",
                    "work_mem",
                    "max_parallel_workers_per_gather",
                    "jit",
                    "synchronous_commit",
                )
            }
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its figures and write ``benchmarks/results/jobs.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    carts, orders, runs = (100_000, 100_000, 3) if args.quick else (1_000_000, 1_000_000, 5)
    admin_url = make_url(os.environ.get(ADMIN_URL_VARIABLE) or DEFAULT_ADMIN_URL)
    last_day = datetime.now(UTC).date() - timedelta(days=1)

    with bench_database(admin_url) as url:
        server = server_settings(url)
        engine = make_engine(url)
        try:
            print(f"jobs: cleaning {carts:,} stale carts ...")
            cleanup = measure_cleanup(engine, carts)
            print(f"jobs: loading {orders:,} orders and their carts ...")
            history = seed_history(engine, orders, last_day)
            print(f"jobs: the {REPORT_DAYS}-day report, {runs} runs ...")
            report = measure_report(engine, last_day, runs)
        finally:
            engine.dispose()

    targets = [
        target(
            f"carts cleaned per second (expired then deleted), {carts:,} carts, "
            f"batch_size={BATCH_SIZE:,}",
            f">= {TARGET_CARTS_PER_S:,}",
            cleanup["carts_per_s"],
            met=cleanup["carts_per_s"] >= TARGET_CARTS_PER_S,
        ),
        target(
            f"daily report of {REPORT_DAYS} days over {history['orders']:,} orders, "
            f"median of {runs} runs (s)",
            f"< {TARGET_REPORT_S}",
            report["median_seconds"],
            met=report["median_seconds"] < TARGET_REPORT_S,
        ),
    ]
    print(f"\njobs: PostgreSQL {server['server_version']}")
    print(
        f"cleanup_expired: {cleanup['carts']:,} carts in {cleanup['seconds']} s = "
        f"{cleanup['carts_per_s']:,.0f} carts/s; in statements: {cleanup['statement_seconds']} "
        f"({cleanup['statements']})"
    )
    print(
        f"daily_report: {history['orders']:,} orders, {history['carts']:,} carts "
        f"({history['orders_table']} and {history['carts_table']}); "
        f"runs {report['runs_seconds']} s, median {report['median_seconds']} s; "
        f"per statement {report['statement_seconds']} s"
    )
    print_targets(targets)

    write_report(
        RESULTS,
        {
            "benchmark": "jobs",
            **machine(quick=args.quick),
            "postgres": server,
            "drivers": {
                "sqlalchemy": metadata.version("sqlalchemy"),
                "psycopg": f"{psycopg.__version__} ({psycopg.pq.__impl__})",
            },
            "method": {
                "loading": (
                    "bulk INSERT ... SELECT FROM generate_series (not through the services), "
                    "rows shaped as the repositories write them, then VACUUM ANALYZE"
                ),
                "cleanup": (
                    "every cart active, expired 39 days ago (retention 30 days): "
                    "checkout.carts.cleanup_expired(batch_size) expires then deletes each; "
                    "one run, timed whole; per-phase time from the cursor events"
                ),
                "report": (
                    f"daily_report(engine, yesterday, days={REPORT_DAYS}) over "
                    f"{HISTORY_DAYS} days of rows; one untimed run, then {runs} timed; median"
                ),
            },
            "cleanup": cleanup,
            "history": history,
            "report": report,
            "targets": targets,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
