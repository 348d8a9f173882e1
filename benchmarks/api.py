"""Benchmark of the HTTP API under uvicorn: estimates and orders beside a bare endpoint.

Run it as ``python benchmarks/api.py`` or ``nox -s bench``; add ``--quick``
for a short smoke run. (It is not called ``http.py``: a script of that name
beside the others would hide the standard library's ``http`` from every
benchmark run from this directory.)

It creates a fresh database of its own on the PostgreSQL server at
``CHECKOUT_BENCH_DATABASE_URL`` (as ``flow.py`` does: migrated, the demo's
catalog seeded with ``summer2024`` running around today and ``SAVE20``
without a limit), and uses the Redis database at
``CHECKOUT_BENCH_HTTP_REDIS_URL`` (by default database 12 of the local
server; flushed at the start and at the end). The load comes from ``wrk``
(Debian's package ``wrk``), a C program, so that the client takes as little
as possible of the two cores from the server.

The server is one uvicorn process with one worker, spawned by the benchmark,
serving ``checkout_app`` as a host would configure it for production: records
in PostgreSQL, carts cached in Redis and the catalog in the process
(``CatalogCache``), rate limits counted in Redis, bearer tokens checked by
``JwtVerifier`` (HS256), and the fake gateway (in memory), so that no
payment provider's latency is measured. The same app also serves two bare
endpoints, which parse the estimate's body and answer a fixed envelope
through the same middleware: ``/bench/bare-sync`` (a ``def`` endpoint, run
in the thread pool as the router's endpoints are) and ``/bench/bare-async``
(an ``async def`` one). The router's endpoints are ``def``: they call the
checkout's services, which block on the database and Redis, and FastAPI runs
such endpoints in its thread pool. So the ceiling the estimate is judged
against is the bare ``def`` endpoint, which pays the same hand-over to a
thread and nothing else; the ``async def`` one shows what that hand-over
costs, and the estimate's share of it is reported beside.

Each endpoint is measured by ``wrk`` with 32 connections on one thread for a
fixed time, after an untimed warm-up, in a few runs; the figures are wrk's:
requests per second and the latency distribution (p50, p99; wrk measures a
closed loop and corrects nothing for coordinated omission). Every answer must
be a 2xx: a run with another status, or a socket error, fails.

- ``POST /api/v1/cart/estimate``: the seed's cart (``int_123`` for 3 months
  under ``summer2024``) with ``SAVE20`` applied, 256 such carts estimated in
  turn, each estimated once before the timing (warm cart cache).
- ``POST /api/v1/order``, saturated as above and then paced: each connection
  pauses after each answer (exponentially distributed pauses, so that the
  requests arrive spread out), so that the load is about half the orders
  per second measured at saturation. At saturation, 32 requests in flight make
  the latency what the throughput allows (32 / orders per second on
  average); paced, the latency is the service's own under a steady load,
  which is what the target is judged on. Every request places the order of a
  cart of its own, as a user of its own (a JWT per user), with an idempotency
  key of its own; the carts are created through the Checkout beforehand. After
  each run, the new orders in the database must number the answers wrk
  counted, give or take the requests in flight when it stopped (one per
  connection at most): a replayed key would leave fewer orders than answers.

The script prints its tables and writes ``benchmarks/results/api.json``.
A missed target is reported, not an error.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Final, TypedDict

import jwt
import redis
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import Engine, func, make_url, select

from cache import CART_PREFIX, CATALOG_TTL, scratch_redis
from checkout_adapters.demo import demo_catalog
from checkout_adapters.fastapi import JwtVerifier, RouterSettings, checkout_app
from checkout_adapters.memory import (
    CatalogCache,
    FakeGateway,
    LogAlertSink,
    LogAnalyticsTracker,
    LogNotificationSender,
)
from checkout_adapters.redis import RedisCartCache, RedisRateLimiter
from checkout_adapters.sqlalchemy import SqlUnitOfWorkFactory, make_engine
from checkout_adapters.sqlalchemy.tables import orders as orders_table
from checkout_adapters.system import RandomIds, SystemClock
from checkout_core.services import Checkout, CheckoutPorts, CheckoutSettings
from flow import (
    ADMIN_URL_VARIABLE,
    ANALYTICS,
    COUPON_CODE,
    DEFAULT_ADMIN_URL,
    SALE_SLUG,
    SEED_LINE,
    WEBHOOK_SECRET,
    bench_database,
    ok,
    server_facts,
)
from reporting import machine, print_targets, target, write_report

RESULTS: Final = Path(__file__).resolve().parent / "results" / "api.json"
REDIS_URL_VARIABLE: Final = "CHECKOUT_BENCH_HTTP_REDIS_URL"
DEFAULT_REDIS_URL: Final = "redis://127.0.0.1:6379/12"

JWT_SECRET: Final = "bench-jwt-secret-of-at-least-32-bytes"  # noqa: S105 - the benchmark's own
JWT_AUDIENCE: Final = "checkout-bench"
JWT_ISSUER: Final = "https://bench.checkout.invalid"
CONNECTIONS: Final = 32
WRK_THREADS: Final = 1
ESTIMATE_CARTS: Final = 256
ORDERS_PER_SECOND_CEILING: Final = 600
"""More orders than this per second would run out of carts: the run then fails, saying so."""
POOL_SIZE: Final = 40
"""A connection per request thread: none waits for one, none is opened per request."""
MAX_OVERFLOW: Final = 0
PREPARE_THREADS: Final = 8
START_TIMEOUT_S: Final = 60.0

TARGET_ESTIMATE_SHARE: Final = 0.5
"""Estimates per second wanted, as a share of the bare endpoint's."""
TARGET_ORDER_P99_MS: Final = 100.0
PACED_SHARE: Final = 0.5
"""The paced order load, as a share of the orders per second measured at saturation."""

ENDPOINTS: Final = ("bare-async", "bare-sync", "estimate", "order")
PATHS: Final = {
    "bare-async": "/bench/bare-async",
    "bare-sync": "/bench/bare-sync",
    "estimate": "/api/v1/cart/estimate",
    "order": "/api/v1/order",
}

# wrk's script: each request takes the next line of its thread's share of the
# file (a JSON body, and for orders a bearer token and an idempotency key), and
# the summary comes out as one JSON line.
WRK_SCRIPT: Final = r"""
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  local share = tonumber(args[2])
  requests_ = {}
  local index = 0
  for line in io.lines(file) do
    if index % share == id then
      local body, token, key = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)$")
      local headers = {["Content-Type"] = "application/json"}
      if token ~= "" then headers["Authorization"] = "Bearer " .. token end
      if key ~= "" then headers["Idempotency-Key"] = key end
      table.insert(requests_, wrk.format("POST", nil, headers, body))
    end
    index = index + 1
  end
  position = 0
  pause_ms = tonumber(args[3])
end

function request()
  position = position % #requests_ + 1
  return requests_[position]
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
"""


PACING: Final = r"""
math.randomseed(os.time())

function delay()
  return -math.log(1 - math.random()) * pause_ms
end
"""
"""Added to :data:`WRK_SCRIPT` for a paced load: each connection pauses after each answer.

The pauses are drawn from an exponential distribution of mean ``pause_ms``,
so that the connections fall out of step and the requests arrive spread out
(about as a Poisson stream), not in bursts of one per connection.
"""


class Sample(TypedDict):
    """One wrk run against one endpoint."""

    endpoint: str
    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


# ------------------------------------------------------------------ the server


class EstimateBody(BaseModel):
    """The estimate's body, parsed by the bare endpoints as the real one parses it."""

    cart_token: str


def _bare(body: EstimateBody) -> dict[str, Any]:
    return {"status": 200, "success": True, "data": {"cart_token": body.cart_token}}


def server_checkout(engine: Engine, client: redis.Redis) -> Checkout:
    """The server's Checkout: PostgreSQL, carts and limits in Redis, the fake gateway."""
    clock = SystemClock()
    ports = CheckoutPorts(
        unit_of_work=SqlUnitOfWorkFactory(engine, CatalogCache(clock, ttl=CATALOG_TTL)),
        gateway=FakeGateway(WEBHOOK_SECRET, clock=clock),
        clock=clock,
        ids=RandomIds(),
        notifications=LogNotificationSender(),
        analytics=LogAnalyticsTracker(),
        alerts=LogAlertSink(),
        cart_cache=RedisCartCache(client, prefix=CART_PREFIX, clock=clock),
        rate_limiter=RedisRateLimiter(client, prefix="checkout_bench:limit:", clock=clock),
    )
    return Checkout.build(ports, CheckoutSettings(tax=demo_catalog().tax))


def bench_app(checkout: Checkout) -> FastAPI:
    """``checkout_app`` as a host configures it, with the two bare endpoints beside."""
    settings = RouterSettings(
        identity=JwtVerifier.hs256(JWT_SECRET, audience=JWT_AUDIENCE, issuer=JWT_ISSUER),
        cart_url_base="https://cart.bench.invalid/pay/",
    )
    app = checkout_app(checkout, settings, title="checkout benchmark")

    @app.post(PATHS["bare-sync"])
    def bare_sync(body: EstimateBody) -> dict[str, Any]:
        return _bare(body)

    @app.post(PATHS["bare-async"])
    async def bare_async(body: EstimateBody) -> dict[str, Any]:
        return _bare(body)

    return app


def server_process(database_url: str, redis_url: str, port: int) -> None:
    """Serve the benchmark's app with uvicorn, one worker, until terminated."""
    engine = make_engine(database_url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)
    client = redis.Redis.from_url(redis_url)
    try:
        uvicorn.run(
            bench_app(server_checkout(engine, client)),
            host="127.0.0.1",
            port=port,
            workers=1,
            log_level="warning",
            access_log=False,
        )
    finally:
        engine.dispose()
        client.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(port: int, process: BaseProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not process.is_alive():
            raise SystemExit(f"the server stopped at start (exit code {process.exitcode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.1)
        else:
            return
    raise SystemExit(f"the server did not listen on port {port} within {START_TIMEOUT_S:g} s")


@contextmanager
def running_server(database_url: str, redis_url: str) -> Iterator[str]:
    """The benchmark's server in a spawned process; its base URL while the block runs."""
    port = _free_port()
    process = multiprocessing.get_context("spawn").Process(
        target=server_process, args=(database_url, redis_url, port), name="api-server"
    )
    process.start()
    try:
        _wait_until_listening(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()


# ------------------------------------------------------------------ the load


def _token(user_id: str) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": user_id,
        "aud": JWT_AUDIENCE,
        "iss": JWT_ISSUER,
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def _cart(checkout: Checkout, _index: int) -> str:
    created = checkout.carts.create_cart([SEED_LINE], sale_slug=SALE_SLUG, analytics_data=ANALYTICS)
    token = ok(created, "create cart").token
    ok(checkout.discounts.apply(token, COUPON_CODE, None), "apply coupon")
    return token


def prepare_carts(checkout: Checkout, count: int) -> list[str]:
    """``count`` carts of the seed's with ``SAVE20`` applied, made on a few threads."""
    with ThreadPoolExecutor(PREPARE_THREADS) as pool:
        return list(pool.map(lambda index: _cart(checkout, index), range(count)))


def estimate_lines(tokens: Sequence[str]) -> list[str]:
    """Wrk's lines for estimates: the body alone."""
    return [f"{json.dumps({'cart_token': token})}\t\t" for token in tokens]


def order_lines(tokens: Sequence[str], run: str) -> list[str]:
    """Wrk's lines for orders: the body, a user's token and a key, one cart each."""
    return [
        f"{json.dumps({'cart_token': token})}\t{_token(f'{run}-user-{index}')}\t{uuid.uuid4()}"
        for index, token in enumerate(tokens)
    ]


def _runs(tokens: Sequence[str], size: int) -> list[Sequence[str]]:
    """``tokens`` cut into runs of ``size``, each cart in one run only."""
    return [tokens[start : start + size] for start in range(0, len(tokens), size)]


@dataclass(frozen=True, slots=True)
class Wrk:
    """How wrk is run: its scripts, the server, for how long."""

    scripts: Path
    base_url: str
    seconds: float

    def run(
        self,
        endpoint: str,
        lines: Sequence[str],
        seconds: float | None = None,
        *,
        pause_ms: float = 0.0,
    ) -> Sample:
        """Load ``endpoint`` with ``lines`` in turn; fail on any answer but a 2xx.

        With ``pause_ms``, each connection waits that long on average after
        each answer before its next request: a steady load below the server's
        capacity.
        """
        script = self.scripts / ("paced.lua" if pause_ms else "saturating.lua")
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as file:
            file.write("\n".join(lines) + "\n")
        try:
            command = [
                "wrk",
                f"-t{WRK_THREADS}",
                f"-c{CONNECTIONS}",
                f"-d{seconds or self.seconds:g}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                self.base_url + PATHS[endpoint],
                "--",
                file.name,
                str(WRK_THREADS),
                f"{pause_ms:.3f}",
            ]
            done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - wrk, with our arguments
        finally:
            Path(file.name).unlink()
        if done.returncode != 0:
            raise SystemExit(f"wrk failed on {endpoint}: {done.stderr or done.stdout}")
        result = _result(done.stdout, endpoint)
        failures = sum(
            result[kind]
            for kind in ("connect_errors", "read_errors", "write_errors", "status_errors")
        )
        if failures or result["timeouts"]:
            raise SystemExit(f"{endpoint}: answers other than 2xx or socket errors: {result}")
        seconds_taken = result["duration_us"] / 1e6
        return {
            "endpoint": endpoint,
            "requests": result["requests"],
            "seconds": round(seconds_taken, 3),
            "requests_per_s": round(result["requests"] / seconds_taken, 1),
            "p50_ms": result["p50_us"] / 1e3,
            "p90_ms": result["p90_us"] / 1e3,
            "p99_ms": result["p99_us"] / 1e3,
            "max_ms": result["max_us"] / 1e3,
        }


def _result(output: str, endpoint: str) -> dict[str, Any]:
    for line in output.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
            return result
    raise SystemExit(f"wrk printed no result for {endpoint}:\n{output}")


def count_orders(engine: Engine) -> int:
    """How many orders the database holds."""
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(orders_table)).scalar_one())


def order_run(wrk: Wrk, engine: Engine, lines: Sequence[str], *, pause_ms: float = 0.0) -> Sample:
    """One run of orders, checked against the orders the database gained."""
    before = count_orders(engine)
    sample = wrk.run("order", lines, pause_ms=pause_ms)
    placed = count_orders(engine) - before
    # Requests in flight when wrk stops are placed but not counted by wrk.
    if not sample["requests"] <= placed <= sample["requests"] + CONNECTIONS:
        raise SystemExit(
            f"orders: wrk counted {sample['requests']} answers, the database holds "
            f"{placed} new orders (too few carts prepared?)"
        )
    return sample


# ----------------------------------------------------------------- reporting


def _median(samples: Sequence[Sample], figure: str) -> float:
    return round(statistics.median(float(sample[figure]) for sample in samples), 2)  # type: ignore[literal-required]


def _summary(samples: Sequence[Sample]) -> dict[str, float]:
    return {
        figure: _median(samples, figure)
        for figure in ("requests_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms")
    }


def _table(measured: dict[str, list[Sample]]) -> str:
    header = (
        f"{'endpoint':<10} {'run':>3} | {'requests':>8} {'req/s':>9} | "
        f"{'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    )
    rows = [header, "-" * len(header)]
    for endpoint, samples in measured.items():
        rows.extend(
            f"{endpoint:<10} {run:>3} | {s['requests']:>8} {s['requests_per_s']:>9.1f} | "
            f"{s['p50_ms']:>7.2f} {s['p90_ms']:>7.2f} {s['p99_ms']:>7.2f} {s['max_ms']:>7.2f}"
            for run, s in enumerate(samples, start=1)
        )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print its tables and write ``benchmarks/results/api.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    runs, seconds, warmup_seconds = (2, 2.0, 1.0) if args.quick else (3, 10.0, 3.0)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian's package)")
    admin_url = make_url(os.environ.get(ADMIN_URL_VARIABLE) or DEFAULT_ADMIN_URL)
    redis_url = os.environ.get(REDIS_URL_VARIABLE) or DEFAULT_REDIS_URL

    measured: dict[str, list[Sample]] = {}
    orders_per_run = int(seconds * ORDERS_PER_SECOND_CEILING)
    warmup_orders = int(warmup_seconds * ORDERS_PER_SECOND_CEILING)
    with (
        bench_database(admin_url) as url,
        scratch_redis(redis_url) as client,
        tempfile.TemporaryDirectory() as scratch,
    ):
        server = server_facts(url)
        engine = make_engine(url, pool_size=PREPARE_THREADS, max_overflow=0)
        try:
            checkout = server_checkout(engine, client)
            estimate_tokens = prepare_carts(checkout, ESTIMATE_CARTS)
            for token in estimate_tokens:
                ok(checkout.pricing.calculate(token, None), "estimate")
            saturating = prepare_carts(checkout, warmup_orders + runs * orders_per_run)
            scripts = Path(scratch)
            (scripts / "saturating.lua").write_text(WRK_SCRIPT, encoding="utf-8")
            (scripts / "paced.lua").write_text(WRK_SCRIPT + PACING, encoding="utf-8")
            with running_server(url.render_as_string(hide_password=False), redis_url) as base:
                wrk = Wrk(scripts, base, seconds)
                estimates = estimate_lines(estimate_tokens)
                for endpoint in ("bare-async", "bare-sync", "estimate"):
                    wrk.run(endpoint, estimates, warmup_seconds)
                    measured[endpoint] = [wrk.run(endpoint, estimates) for _ in range(runs)]
                warmup = order_lines(saturating[:warmup_orders], "warmup")
                wrk.run("order", warmup, warmup_seconds)
                measured["order"] = [
                    order_run(wrk, engine, order_lines(carts, f"saturated-{run}"))
                    for run, carts in enumerate(_runs(saturating[warmup_orders:], orders_per_run))
                ]
                rate = PACED_SHARE * statistics.median(
                    s["requests_per_s"] for s in measured["order"]
                )
                pause_ms = CONNECTIONS / rate * 1e3
                paced_per_run = int(rate * seconds * 1.5)
                paced_carts = prepare_carts(checkout, runs * paced_per_run)
                measured["order-paced"] = [
                    order_run(wrk, engine, order_lines(carts, f"paced-{run}"), pause_ms=pause_ms)
                    for run, carts in enumerate(_runs(paced_carts, paced_per_run))
                ]
        finally:
            engine.dispose()

    summaries = {endpoint: _summary(samples) for endpoint, samples in measured.items()}
    share = round(
        summaries["estimate"]["requests_per_s"] / summaries["bare-sync"]["requests_per_s"], 3
    )
    share_of_async = round(
        summaries["estimate"]["requests_per_s"] / summaries["bare-async"]["requests_per_s"], 3
    )
    paced = summaries["order-paced"]
    targets = [
        target(
            "estimate requests/s as a share of the bare def endpoint's, medians",
            f">= {TARGET_ESTIMATE_SHARE}",
            share,
            met=share >= TARGET_ESTIMATE_SHARE,
        ),
        target(
            f"POST /api/v1/order p99 ms at {paced['requests_per_s']:g} orders/s "
            f"({PACED_SHARE:g} of saturation), median of the runs",
            f"< {TARGET_ORDER_P99_MS:g}",
            paced["p99_ms"],
            met=paced["p99_ms"] < TARGET_ORDER_P99_MS,
        ),
    ]
    print(
        f"\nhttp: uvicorn {metadata.version('uvicorn')} (one worker) serving checkout_app on "
        f"PostgreSQL {server['server_version']} and Redis; wrk, {CONNECTIONS} connections, "
        f"{runs} runs of {seconds:g} s each after a {warmup_seconds:g} s warm-up"
    )
    print(_table(measured))
    for endpoint, summary in summaries.items():
        print(
            f"median, {endpoint}: {summary['requests_per_s']:,.1f} requests/s, "
            f"p50 {summary['p50_ms']:.2f} ms, p99 {summary['p99_ms']:.2f} ms"
        )
    print(
        f"estimate: {share:.3f} of the bare def endpoint's requests/s, "
        f"{share_of_async:.3f} of the bare async def one's"
    )
    print_targets(targets)
    write_report(
        RESULTS,
        {
            "benchmark": "http",
            **machine(quick=args.quick),
            "postgres": server,
            "drivers": {
                name: metadata.version(name)
                for name in ("fastapi", "starlette", "uvicorn", "pydantic", "sqlalchemy", "redis")
            },
            "method": {
                "server": (
                    "uvicorn, one worker, in a spawned process; checkout_app with JwtVerifier "
                    "(HS256), RedisCartCache, RedisRateLimiter, CatalogCache and FakeGateway"
                ),
                "load": f"wrk, {WRK_THREADS} thread, {CONNECTIONS} connections, closed loop",
                "runs": runs,
                "seconds_per_run": seconds,
                "warmup_seconds": warmup_seconds,
                "estimate": (
                    f"{ESTIMATE_CARTS} carts with SAVE20, in turn, each estimated once before"
                ),
                "order": "a cart, a user (JWT) and an idempotency key of its own per request",
                "order_paced": (
                    f"the same, each connection pausing {CONNECTIONS} / ({PACED_SHARE:g} x the "
                    "saturated orders/s) on average (exponentially distributed) after each "
                    "answer: a steady load of spread-out requests at about that share"
                ),
                "ceiling": (
                    "the bare def endpoint (run in the thread pool, as the router's are), same "
                    "app and middleware; the bare async def endpoint reported beside"
                ),
                "statistic": "median of the runs",
            },
            "samples": measured,
            "medians": summaries,
            "estimate_share_of_bare_def": share,
            "estimate_share_of_bare_async_def": share_of_async,
            "targets": targets,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
