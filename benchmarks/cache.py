"""Benchmark of the cart and catalog caches on PostgreSQL: statements and speed of an estimate.

It creates a fresh database of its own on the PostgreSQL server at
``CHECKOUT_BENCH_DATABASE_URL`` (by default the local server, through its
``postgres`` database), migrates it with ``upgrade``, seeds the demo's
catalog (``summer2024`` moved to run around today, ``SAVE20`` without a
limit, as in ``flow.py``) and drops the database at the end. Redis is the
one at ``CHECKOUT_BENCH_REDIS_URL`` (by default database 14 of the local
server), which is flushed at the start and at the end: point it at a
database nothing else uses.

Two Checkouts share the database, wired as a host would wire them:

* uncached: :class:`SqlUnitOfWorkFactory` on its own, no cart cache (every
  read is SQL), as ``flow.py`` builds it;
* cached: :class:`RedisCartCache` as the cart cache, and
  ``SqlUnitOfWorkFactory(engine, CatalogCache(clock, ttl=60 s))`` in front
  of the catalog and the coupons.

The carts are the seed's: ``int_123`` for 3 months under ``summer2024``, with
analytics data and no coupon; and the same cart with ``SAVE20`` applied. The
catalog cache keeps the coupon and its use as it keeps prices (an order's
redemption still goes to the database, which alone decides whether a use can
be taken), so a warm estimate of either cart reads nothing from the database.

1. Statements per estimate (``checkout.pricing.calculate(token, None)``),
   counted with SQLAlchemy's ``before_cursor_execute`` event through
   ``flow.StatementLog``, with the transactions begun, the pool connections
   taken and the Redis commands sent (each pool checkout also costs an
   uncounted pre-ping): uncached; cached and cold (the cart not in Redis, a
   new catalog cache: the first estimate); cached and warm (expected: no
   statement, no connection); and both again for the cart with ``SAVE20``.
   Each statement is listed by its first words.
2. Estimates per second, from 1 thread and from 4, for each Checkout and
   each cart kind: threads released together by a barrier estimate carts
   from a set of 64 (created through the cached Checkout, as a host would,
   so each is cached when made) until the run's ~1 s is up. The runs of the
   uncached and the cached Checkout alternate (which goes first alternates
   too), so the speedup (cached / uncached estimates per second) of each pair
   is measured in the same run; figures are medians over the runs. The cart
   cache's hits and misses (``RedisCartCache.stats``) are reported after them.

The script prints a table and writes ``benchmarks/results/cache.json``. A
missed target is reported, not an error; an estimate that fails, cached and
uncached estimates that differ or statement counts that vary fail the run.

Run it with ``nox -s bench`` or ``python benchmarks/cache.py`` (add
``--quick`` for a short smoke run with fewer, shorter runs).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from typing import Any, Final, TypedDict

import psycopg
import redis
from returns.result import Failure, Success
from sqlalchemy import URL, Engine, make_url

from checkout_adapters.demo import demo_catalog
from checkout_adapters.memory import (
    CatalogCache,
    FakeGateway,
    LogAlertSink,
    LogAnalyticsTracker,
    LogNotificationSender,
)
from checkout_adapters.redis import CartCacheStats, RedisCartCache
from checkout_adapters.sqlalchemy import SqlUnitOfWorkFactory, make_engine
from checkout_adapters.system import RandomIds, SystemClock
from checkout_core.domain.pricing import Estimate
from checkout_core.services import Checkout, CheckoutPorts, CheckoutSettings
from flow import (
    ADMIN_URL_VARIABLE,
    ANALYTICS,
    COUPON_CODE,
    DEFAULT_ADMIN_URL,
    MAX_OVERFLOW,
    POOL_SIZE,
    SALE_SLUG,
    SEED_LINE,
    WEBHOOK_SECRET,
    OperationCount,
    StatementLog,
    bench_database,
    build_checkout,
    check_estimate,
    ok,
    server_facts,
)
from reporting import machine, print_targets, target, write_report

RESULTS: Final = Path(__file__).resolve().parent / "results" / "cache.json"
REDIS_URL_VARIABLE: Final = "CHECKOUT_BENCH_REDIS_URL"
DEFAULT_REDIS_URL: Final = "redis://127.0.0.1:6379/14"
CART_PREFIX: Final = "checkout_bench:cart:"

CATALOG_TTL: Final = timedelta(seconds=60)
THREAD_COUNTS: Final = (1, 4)
CARTS_PER_KIND: Final = 64
CART_KINDS: Final = ("seed", "SAVE20")
"""The seed's cart without a coupon, and the same cart with ``SAVE20`` applied."""
CHECKOUTS: Final = ("uncached", "cached")

TARGET_SPEEDUP: Final = 3.0
"""How many times more estimates per second wanted from the cached Checkout, seed cart."""
TARGET_WARM_STATEMENTS: Final = 0
"""Statements (and connections) wanted for a warm cached estimate of the seed cart."""

UNCACHED: Final = "uncached"
COLD: Final = "cached, cold"
WARM: Final = "cached, warm"
UNCACHED_COUPON: Final = f"uncached, {COUPON_CODE}"
WARM_COUPON: Final = f"cached, warm, {COUPON_CODE}"


# ------------------------------------------------------------------ the world


class CountingRedis(redis.Redis):
    """A Redis client that counts the commands it sends while ``recording`` (one thread)."""

    commands: int = 0
    recording: bool = False

    def execute_command(self, *args: Any, **options: Any) -> Any:  # noqa: ANN401 - redis-py's
        """Send one command, counting it when recording."""
        if self.recording:
            self.commands += 1
        return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


@contextmanager
def scratch_redis(url: str) -> Iterator[CountingRedis]:
    """A client of the Redis database at ``url``, flushed now and at the end."""
    client = CountingRedis(connection_pool=redis.ConnectionPool.from_url(url))
    try:
        try:
            client.flushdb()
        except redis.RedisError as error:
            raise SystemExit(
                f"Redis at {url} cannot be reached ({error}). Start it, or point "
                f"{REDIS_URL_VARIABLE} at a Redis database the benchmark may flush."
            ) from None
        try:
            yield client
        finally:
            client.flushdb()
    finally:
        client.close()


@dataclass
class Cached:
    """The cached Checkout and its two caches."""

    checkout: Checkout
    carts: RedisCartCache
    catalog: CatalogCache


def build_cached(engine: Engine, client: redis.Redis) -> Cached:
    """A Checkout on ``engine`` with carts cached in Redis and the catalog kept for 60 s."""
    clock = SystemClock()
    carts = RedisCartCache(client, prefix=CART_PREFIX, clock=clock)
    catalog = CatalogCache(clock, ttl=CATALOG_TTL)
    ports = CheckoutPorts(
        unit_of_work=SqlUnitOfWorkFactory(engine, catalog),
        gateway=FakeGateway(WEBHOOK_SECRET, clock=clock),
        clock=clock,
        ids=RandomIds(),
        notifications=LogNotificationSender(),
        analytics=LogAnalyticsTracker(),
        alerts=LogAlertSink(),
        cart_cache=carts,
    )
    return Cached(Checkout.build(ports, CheckoutSettings(tax=demo_catalog().tax)), carts, catalog)


def new_cart(checkout: Checkout, kind: str) -> str:
    """A cart of the seed's, with ``SAVE20`` applied (anonymously) when ``kind`` says so."""
    created = checkout.carts.create_cart([SEED_LINE], sale_slug=SALE_SLUG, analytics_data=ANALYTICS)
    token = ok(created, "create cart").token
    if kind == COUPON_CODE:
        ok(checkout.discounts.apply(token, COUPON_CODE, None), "apply coupon")
    return token


def estimate(checkout: Checkout, token: str, kind: str, what: str) -> Estimate:
    """The estimate of ``token``, checked to carry the sale (and the coupon, by ``kind``)."""
    found = ok(checkout.pricing.calculate(token, None), what)
    check_estimate(found, coupon=kind == COUPON_CODE, what=what)
    return found


# ----------------------------------------------------------- counting statements


class EstimateCount(OperationCount):
    """What one estimate sent to the database, and the commands it sent to Redis."""

    redis_commands: int


def _count(
    log: StatementLog, client: CountingRedis, operation: Callable[[], Estimate]
) -> tuple[Estimate, EstimateCount]:
    client.commands = 0
    client.recording = True
    try:
        result, counted = log.count(operation)
    finally:
        client.recording = False
    return result, {
        "statements": counted["statements"],
        "transactions": counted["transactions"],
        "connections": counted["connections"],
        "redis_commands": client.commands,
        "sql": counted["sql"],
    }


def count_round(
    engine: Engine, client: CountingRedis, log: StatementLog
) -> dict[str, EstimateCount]:
    """Count each estimate once, on carts made through the uncached Checkout (so not in Redis).

    The cached Checkout is new, its catalog cache empty: its first estimate is the cold one.
    """
    plain = build_checkout(engine)
    cached = build_cached(engine, client).checkout

    def counted(checkout: Checkout, token: str, kind: str, name: str) -> Estimate:
        found, counts[name] = _count(log, client, lambda: estimate(checkout, token, kind, name))
        return found

    counts: dict[str, EstimateCount] = {}
    token = new_cart(plain, "seed")
    uncached = counted(plain, token, "seed", UNCACHED)
    cold = counted(cached, token, "seed", COLD)
    warm = counted(cached, token, "seed", WARM)
    if not uncached == cold == warm:
        raise SystemExit("the cached estimate of the seed cart differs from the uncached one")
    token = new_cart(plain, COUPON_CODE)
    uncached = counted(plain, token, COUPON_CODE, UNCACHED_COUPON)
    # The catalog is warm by now: the cart's first estimate misses Redis alone, uncounted.
    cold = estimate(cached, token, COUPON_CODE, f"{COLD}, {COUPON_CODE}")
    warm = counted(cached, token, COUPON_CODE, WARM_COUPON)
    if not uncached == cold == warm:
        raise SystemExit(f"the cached estimate of the {COUPON_CODE} cart differs from the uncached")
    return counts


def count_statements(url: URL, client: CountingRedis, repeats: int) -> dict[str, EstimateCount]:
    """Count every estimate ``repeats`` times; a count that varies stops the benchmark."""
    engine = make_engine(url)
    log = StatementLog(engine)
    try:
        # A round before counting: the engine's first connection runs statements of its own.
        count_round(engine, client, log)
        rounds = [count_round(engine, client, log) for _ in range(repeats)]
    finally:
        log.close()
        engine.dispose()
    for counts in rounds[1:]:
        if counts != rounds[0]:
            raise SystemExit(f"the statement counts vary between rounds:\n{rounds[0]}\n{counts}")
    return rounds[0]


# ---------------------------------------------------------------- throughput


class Run(TypedDict):
    """One timed run of estimates."""

    estimates: int
    seconds: float
    estimates_per_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    client_cpu_ms_per_estimate: float


@dataclass
class Tally:
    """What one thread saw: each estimate's time, and what went wrong."""

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Gate:
    """What starts a run's threads together (``barrier``) and ends them (``stop``)."""

    barrier: threading.Barrier
    stop: threading.Event


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))]


def _estimate_until(
    checkout: Checkout,
    tokens: Sequence[str],
    start_at: int,
    gate: Gate,
    tally: Tally,
) -> None:
    """One thread's share: after the barrier, estimate the carts in turn until ``stop``."""
    calculate = checkout.pricing.calculate
    latencies, failures = tally.latencies, tally.failures
    count = len(tokens)
    index = start_at
    stop = gate.stop
    gate.barrier.wait()
    while not stop.is_set():
        token = tokens[index % count]
        index += 1
        begun = time.perf_counter()
        try:
            result = calculate(token, None)
        except Exception as error:  # noqa: BLE001 - reported after the run, which then stops
            failures.append(repr(error))
            continue
        latencies.append(time.perf_counter() - begun)
        match result:
            case Failure(error):
                failures.append(repr(error))
            case Success(_):
                pass


def timed_run(checkout: Checkout, tokens: Sequence[str], threads: int, seconds: float) -> Run:
    """Estimate ``tokens`` from ``threads`` threads started together, for about ``seconds``.

    The time runs from the barrier's release to the last estimate's end (each
    thread finishes the estimate it is in when the time is up); the CPU time is
    this whole process's, over the same span.
    """
    gate = Gate(threading.Barrier(threads + 1), threading.Event())
    tallies = [Tally() for _ in range(threads)]
    spread = len(tokens) // threads
    workers = [
        threading.Thread(
            target=_estimate_until,
            args=(checkout, tokens, index * spread, gate, tally),
        )
        for index, tally in enumerate(tallies)
    ]
    for worker in workers:
        worker.start()
    gc.collect()
    gate.barrier.wait()
    start, cpu_start = time.perf_counter(), time.process_time()
    time.sleep(seconds)
    gate.stop.set()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    failures = [failure for tally in tallies for failure in tally.failures]
    if failures:
        raise SystemExit(f"{len(failures)} estimates failed, the first: {failures[0]}")
    every = sorted(latency for tally in tallies for latency in tally.latencies)
    return {
        "estimates": len(every),
        "seconds": round(elapsed, 4),
        "estimates_per_s": round(len(every) / elapsed, 1),
        "latency_p50_ms": round(_percentile(every, 0.5) * 1e3, 3),
        "latency_p95_ms": round(_percentile(every, 0.95) * 1e3, 3),
        "client_cpu_ms_per_estimate": round(cpu / len(every) * 1e3, 4),
    }


class Pair(TypedDict):
    """One cart kind from one thread count: each Checkout's runs and the speedups."""

    cart: str
    threads: int
    runs: dict[str, list[Run]]
    speedups: list[float]
    median_estimates_per_s: dict[str, float]
    median_latency_p50_ms: dict[str, float]
    median_client_cpu_ms_per_estimate: dict[str, float]
    median_speedup: float


def measure_throughput(
    url: URL, client: redis.Redis, runs: int, seconds: float
) -> tuple[list[Pair], CartCacheStats, int]:
    """``runs`` interleaved runs of each Checkout, cart kind and thread count.

    Returns the pairs, the cart cache's stats after the runs and how many
    estimates the cached Checkout made in all (warm-ups included).
    """
    engine = make_engine(url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)
    try:
        plain = build_checkout(engine)
        cached = build_cached(engine, client)
        checkouts = {"uncached": plain, "cached": cached.checkout}
        carts = {
            kind: [new_cart(cached.checkout, kind) for _ in range(CARTS_PER_KIND)]
            for kind in CART_KINDS
        }
        # Warm-up, untimed: every cart estimated once by each Checkout (so the
        # cached one holds the catalog too), then a short run of the most threads.
        cached_estimates = 0
        for kind, tokens in carts.items():
            for token in tokens:
                reference = estimate(plain, token, kind, f"warm-up, uncached, {kind}")
                if estimate(cached.checkout, token, kind, f"warm-up, cached, {kind}") != reference:
                    raise SystemExit(f"{kind}: the cached estimate differs from the uncached one")
                cached_estimates += 1
            for name, checkout in checkouts.items():
                warmup = timed_run(checkout, tokens, max(THREAD_COUNTS), min(seconds, 0.25))
                if name == "cached":
                    cached_estimates += warmup["estimates"]
        pairs: list[Pair] = []
        for kind, tokens in carts.items():
            for threads in THREAD_COUNTS:
                measured: dict[str, list[Run]] = {name: [] for name in CHECKOUTS}
                for run in range(runs):
                    order = CHECKOUTS if run % 2 == 0 else CHECKOUTS[::-1]
                    for name in order:
                        measured[name].append(timed_run(checkouts[name], tokens, threads, seconds))
                cached_estimates += sum(each["estimates"] for each in measured["cached"])
                pairs.append(_pair(kind, threads, measured))
        stats = cached.carts.stats
    finally:
        engine.dispose()
    return pairs, stats, cached_estimates


def _pair(kind: str, threads: int, measured: dict[str, list[Run]]) -> Pair:
    def median(name: str, figure: Callable[[Run], float], digits: int) -> float:
        return round(statistics.median(figure(run) for run in measured[name]), digits)

    speedups = [
        round(cached["estimates_per_s"] / uncached["estimates_per_s"], 2)
        for uncached, cached in zip(measured["uncached"], measured["cached"], strict=True)
    ]
    return {
        "cart": kind,
        "threads": threads,
        "runs": measured,
        "speedups": speedups,
        "median_estimates_per_s": {
            name: median(name, lambda run: run["estimates_per_s"], 1) for name in CHECKOUTS
        },
        "median_latency_p50_ms": {
            name: median(name, lambda run: run["latency_p50_ms"], 3) for name in CHECKOUTS
        },
        "median_client_cpu_ms_per_estimate": {
            name: median(name, lambda run: run["client_cpu_ms_per_estimate"], 4)
            for name in CHECKOUTS
        },
        "median_speedup": round(statistics.median(speedups), 2),
    }


# -------------------------------------------------------------------- report


def _statement_table(counts: dict[str, EstimateCount]) -> str:
    head = (
        f"{'estimate':<22} | {'statements':>10} {'transactions':>12} {'connections':>11} "
        f"{'redis commands':>14} | expected"
    )
    rows = [head, "-" * len(head)]
    for name, counted in counts.items():
        expected = "0 statements, 0 connections" if name == WARM else ""
        rows.append(
            f"{name:<22} | {counted['statements']:>10} {counted['transactions']:>12} "
            f"{counted['connections']:>11} {counted['redis_commands']:>14} | {expected}"
        )
    return "\n".join(rows)


def _throughput_table(pairs: Sequence[Pair]) -> str:
    head = (
        f"{'cart':<7} {'threads':>7} | {'uncached est/s':>14} {'p50 ms':>7} {'CPU ms':>7} | "
        f"{'cached est/s':>12} {'p50 ms':>7} {'CPU ms':>7} | {'speedup':>7} | per run"
    )
    rows = [head, "-" * len(head)]
    for pair in pairs:
        rate, p50 = pair["median_estimates_per_s"], pair["median_latency_p50_ms"]
        cpu = pair["median_client_cpu_ms_per_estimate"]
        rows.append(
            f"{pair['cart']:<7} {pair['threads']:>7} | {rate['uncached']:>14,.1f} "
            f"{p50['uncached']:>7.3f} {cpu['uncached']:>7.3f} | {rate['cached']:>12,.1f} "
            f"{p50['cached']:>7.3f} {cpu['cached']:>7.3f} | {pair['median_speedup']:>6.2f}x | "
            f"{' '.join(f'{s:.2f}' for s in pair['speedups'])}"
        )
    return "\n".join(rows)


def _find(pairs: Sequence[Pair], kind: str, threads: int) -> Pair:
    return next(p for p in pairs if p["cart"] == kind and p["threads"] == threads)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print its tables and write ``benchmarks/results/cache.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    count_repeats, runs, seconds = (1, 2, 0.2) if args.quick else (3, 5, 1.0)
    admin_url = make_url(os.environ.get(ADMIN_URL_VARIABLE) or DEFAULT_ADMIN_URL)
    redis_url = os.environ.get(REDIS_URL_VARIABLE) or DEFAULT_REDIS_URL

    with scratch_redis(redis_url) as client, bench_database(admin_url) as url:
        server = server_facts(url)
        redis_version = str(client.info("server")["redis_version"])
        counts = count_statements(url, client, count_repeats)
        pairs, stats, cached_estimates = measure_throughput(url, client, runs, seconds)
    if stats.reads != cached_estimates:
        raise SystemExit(
            f"the cart cache counted {stats.reads} reads for {cached_estimates} cached estimates"
        )

    warm = counts[WARM]
    targets = [
        target(
            f"speedup, seed cart, {threads} thread{'s' if threads > 1 else ''}, "
            f"median of {runs} runs (cached / uncached estimates per second)",
            f">= {TARGET_SPEEDUP}",
            _find(pairs, "seed", threads)["median_speedup"],
            met=_find(pairs, "seed", threads)["median_speedup"] >= TARGET_SPEEDUP,
        )
        for threads in THREAD_COUNTS
    ]
    targets += [
        target(
            f"{figure}, warm cached estimate, seed cart",
            f"== {TARGET_WARM_STATEMENTS}",
            warm[figure],
            met=warm[figure] == TARGET_WARM_STATEMENTS,
        )
        for figure in ("statements", "connections")
    ]

    print(
        f"\ncache: statements per estimate on PostgreSQL {server['server_version']} "
        f"and Redis {redis_version}; cached = RedisCartCache + CatalogCache(ttl=60 s)"
    )
    print(_statement_table(counts))
    for name, counted in counts.items():
        print(f"  {name}: {', '.join(counted['sql']) or 'nothing'}")
    print(
        f"  {COUPON_CODE} and its use are kept by the catalog cache; redemptions go to the database"
    )
    print(
        f"\ncache: estimates per second, {runs} interleaved runs of {seconds:g} s per figure, "
        f"{CARTS_PER_KIND} carts per kind; medians (CPU ms: client CPU per estimate)"
    )
    print(_throughput_table(pairs))
    print(
        f"cart cache (RedisCartCache.stats, throughput): {stats.hits:,} hits, "
        f"{stats.misses:,} misses, miss rate {stats.miss_rate:.4%}"
    )
    print_targets(targets)

    report = {
        "benchmark": "cache",
        **machine(quick=args.quick),
        "postgres": server,
        "redis": {"url": redis_url, "version": redis_version},
        "drivers": {
            "sqlalchemy": metadata.version("sqlalchemy"),
            "psycopg": f"{psycopg.__version__} ({psycopg.pq.__impl__})",
            "redis": metadata.version("redis"),
        },
        "scenario": {
            "catalog": "the demo's, summer2024 moved to run around today, SAVE20 without a limit",
            "carts": {
                "seed": f"{SEED_LINE.offering_id} for 3 months under {SALE_SLUG}, analytics data",
                COUPON_CODE: f"the same, {COUPON_CODE} applied anonymously",
            },
            "uncached": "SqlUnitOfWorkFactory(engine), cart_cache=None",
            "cached": (
                "SqlUnitOfWorkFactory(engine, CatalogCache(clock, "
                f"ttl={CATALOG_TTL.total_seconds():g} s)), cart_cache=RedisCartCache"
            ),
            "estimate": "checkout.pricing.calculate(token, None)",
            "coupon_usage": "kept by the catalog cache with the coupon; redeemed in the database",
            "clock": "SystemClock",
            "ids": "RandomIds",
        },
        "method": {
            "statements": (
                "before_cursor_execute events during the estimate alone (executemany counts "
                "once); transactions are the engine's begin events, connections the pool's "
                "checkouts (each also sends an uncounted pre-ping), Redis commands those the "
                "client sent; carts made through the uncached Checkout, so the cached one's "
                "first estimate misses Redis and its new catalog cache"
            ),
            "statement_repeats": count_repeats,
            "throughput": (
                "threads released by a barrier estimate carts in turn, each thread from its "
                "own place in the set, until the run's time is up; time from the barrier to "
                "the last estimate's end; the uncached and cached Checkouts' runs alternate, "
                "which goes first alternating too; carts created through the cached Checkout; "
                "every cart estimated once by each Checkout and a short run, untimed, first"
            ),
            "threads": list(THREAD_COUNTS),
            "pool": {"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW},
            "carts_per_kind": CARTS_PER_KIND,
            "runs": runs,
            "seconds_per_run": seconds,
            "statistic": (
                "median over runs of estimates per second; speedup: median of the runs' "
                "cached / uncached estimates per second, each pair measured back to back"
            ),
        },
        "statements": counts,
        "throughput": pairs,
        "cart_cache": {
            "hits": stats.hits,
            "misses": stats.misses,
            "reads": stats.reads,
            "miss_rate": round(stats.miss_rate, 6),
            "scope": "the throughput's RedisCartCache, warm-ups included",
        },
        "targets": targets,
    }
    write_report(RESULTS, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
