"""The chaos suite: the production topology as real processes, buyers, faults, and the books.

Two ``checkout serve`` processes, one ``checkout worker`` and one ``checkout
scheduler``, started at once on a fresh PostgreSQL database and a
redis-server of the suite's own (no persistence), as an operator runs them.
Buyers go through the paid flow over HTTP (see ``chaos_buyers.py``): each
order sent twice at once with one idempotency key, each payment webhook
delivered twice at once, to both API processes. Meanwhile, at set points of
the load:

* the worker is killed (``SIGKILL``) holding whatever it held, and started again;
* an API process is killed and started again on its port;
* Redis is killed and started again empty, two seconds later;
* every connection to the database is ended by the server
  (``pg_terminate_backend``), twice.

Then the suite waits for the checkout to settle and reads the books from
the database, the processes' logs and Redis: every paid order completed,
with exactly one enrollment, one confirmation and one captured payment; each
coupon's use count equal to its redemptions; no dead letter and no alert of
one; and no 5xx answered by any process that was alive. It prints the
figures (buyers, faults, answers by status, what each fault cost, the time
to settle) and writes them to ``benchmarks/results/chaos.json``; it exits
with 1 when the books are wrong.

    python benchmarks/chaos.py [--buyers 300] [--load-seconds 60] [--out PATH]

The database is made on the server at ``CHECKOUT_CHAOS_DATABASE_URL``
(default: the local server as ``postgres``) and dropped at the end;
``redis-server`` must be installed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

import httpx
from attrs import define, field
from redis import Redis
from sqlalchemy import URL, Engine, make_url, text
from sqlalchemy.pool import NullPool

from chaos_buyers import Answer, Purchase, Shop, buy
from chaos_world import (
    CheckoutProcess,
    RedisProcess,
    checkout_environment,
    free_port,
    terminate_connections,
)
from checkout_adapters.sandbox import Sandbox
from checkout_adapters.sqlalchemy import make_engine
from flow import fresh_database
from reporting import machine, write_report

RESULTS: Final = Path(__file__).parent / "results" / "chaos.json"
ADMIN_URL_VARIABLE: Final = "CHECKOUT_CHAOS_DATABASE_URL"
DEFAULT_ADMIN_URL: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
JWT_SECRET: Final = "the-chaos-suite-signs-its-buyers-tokens-with-this"  # noqa: S105 - made up
REDELIVERY_DELAY: Final = 10
"""Seconds after which ``orders.redeliver`` sends a stalled ``order.paid`` again."""
REDELIVER_EVERY: Final = 5
FAULT_WINDOW: Final = 5.0
"""Seconds after a fault whose answers count as the fault's."""
SETTLE_TIMEOUT: Final = 180.0
DEAD_LETTERS: Final = "checkout:events:dead:{enrollment}"
_CONFIRMATION: Final = re.compile(r"notification confirmation to user \S+ about order (\S+?):")


@define
class Fault:
    """One fault made to happen: what, when (seconds into the run), and how long until mended."""

    name: str
    at: float
    mended_at: float | None = None
    detail: str = ""

    def as_json(self) -> dict[str, object]:
        """The fault as the report shows it."""
        mended = None if self.mended_at is None else round(self.mended_at - self.at, 3)
        return {"fault": self.name, "at_s": round(self.at, 3), "mended_after_s": mended} | (
            {"detail": self.detail} if self.detail else {}
        )


@define
class Topology:
    """The processes of the run, by role."""

    servers: list[CheckoutProcess]
    worker: CheckoutProcess
    scheduler: CheckoutProcess
    redis: RedisProcess
    database: URL
    started: float
    faults: list[Fault] = field(factory=list)

    @property
    def processes(self) -> list[CheckoutProcess]:
        """Every checkout process."""
        return [*self.servers, self.worker, self.scheduler]

    def now(self) -> float:
        """Seconds into the run."""
        return time.monotonic() - self.started

    def kill_worker(self) -> None:
        """SIGKILL the worker, holding what it holds, then start another."""
        fault = self._fault("worker killed (SIGKILL) and started again")
        self.worker.kill()
        time.sleep(1.0)
        self.worker.start()
        self.worker.wait_until_ready()
        fault.mended_at = self.now()

    def kill_server(self) -> None:
        """SIGKILL the second API process mid-request, then start it again on its port."""
        server = self.servers[1]
        fault = self._fault(f"{server.name} killed (SIGKILL) and started again")
        server.kill()
        server.start()
        server.wait_until_ready()
        fault.mended_at = self.now()

    def kill_redis(self) -> None:
        """SIGKILL Redis; two seconds later a new, empty one takes its place."""
        fault = self._fault("Redis killed (SIGKILL), restarted empty 2 s later")
        self.redis.kill()
        time.sleep(2.0)
        self.redis.start()
        fault.mended_at = self.now()

    def end_connections(self) -> None:
        """Have PostgreSQL end every connection to the database."""
        fault = self._fault("database connections terminated (pg_terminate_backend)")
        ended = terminate_connections(self.database)
        fault.mended_at = self.now()
        fault.detail = f"{ended} connections ended"

    def _fault(self, name: str) -> Fault:
        fault = Fault(name, self.now())
        self.faults.append(fault)
        print(f"  {fault.at:7.2f} s  {name}", flush=True)
        return fault


def _plan(topology: Topology, load_seconds: float) -> list[tuple[float, Callable[[], None]]]:
    return [
        (0.15 * load_seconds, topology.kill_worker),
        (0.35 * load_seconds, topology.kill_server),
        (0.55 * load_seconds, topology.kill_redis),
        (0.75 * load_seconds, topology.end_connections),
        (0.80 * load_seconds, topology.end_connections),
    ]


def _run_faults(topology: Topology, plan: Sequence[tuple[float, Callable[[], None]]]) -> None:
    load_started = topology.now()
    for offset, fault in plan:
        time.sleep(max(0.0, load_started + offset - topology.now()))
        fault()


def _start(topology: Topology) -> dict[str, float]:
    """Start every process at once, as an orchestrator does; seconds until each was ready."""
    begun = time.monotonic()
    for process in topology.processes:
        process.start()
    ready: dict[str, float] = {}
    while len(ready) < len(topology.processes):
        for process in topology.processes:
            if process.name not in ready and process.ready():
                ready[process.name] = round(time.monotonic() - begun, 3)
        if time.monotonic() - begun > SETTLE_TIMEOUT:
            raise SystemExit(f"not every process was ready: only {sorted(ready)}")
        time.sleep(0.05)
    return ready


def _run_buyers(
    shop: Shop, buyers: int, load_seconds: float, concurrency: int
) -> tuple[list[Purchase], list[str]]:
    spacing = load_seconds / buyers
    begun = time.monotonic()
    purchases: list[Purchase] = []
    failures: list[str] = []
    mutex = threading.Lock()

    def one(number: int) -> None:
        time.sleep(max(0.0, begun + number * spacing - time.monotonic()))
        try:
            purchase = buy(
                shop,
                number,
                jwt_secret=JWT_SECRET,
                webhook_secret=Sandbox().razorpay_webhook_secret,
                with_coupon=number % 2 == 0,
            )
        except Exception as failure:  # noqa: BLE001 - a buyer the checkout failed, counted
            with mutex:
                failures.append(f"buyer_{number}: {type(failure).__name__}: {failure}")
            return
        with mutex:
            purchases.append(purchase)

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(buyers)))
    return purchases, failures


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def _settled(engine: Engine, confirmations: Callable[[], Counter[str]]) -> bool:
    paid = _count(engine, "SELECT count(*) FROM payments WHERE status = 'captured'")
    completed = _count(
        engine,
        "SELECT count(*) FROM orders o WHERE o.status = 'completed' AND EXISTS "
        "(SELECT 1 FROM payments p WHERE p.order_token = o.token AND p.status = 'captured')",
    )
    return paid == completed and len(confirmations()) >= completed


def _log_lines(processes: Iterable[CheckoutProcess]) -> list[str]:
    lines: list[str] = []
    for process in processes:
        for path in process.output_files():
            lines.extend(path.read_text(encoding="utf-8", errors="replace").splitlines())
    return lines


def _message(line: str) -> str:
    """The message of a JSON log line (``event``), or the line itself."""
    if line.startswith("{"):
        try:
            return str(json.loads(line).get("event", line))
        except json.JSONDecodeError:
            return line
    return line


def _confirmations(processes: Iterable[CheckoutProcess]) -> Counter[str]:
    found: Counter[str] = Counter()
    for line in _log_lines(processes):
        match = _CONFIRMATION.search(_message(line))
        if match is not None:
            found[match.group(1)] += 1
    return found


def _percentiles(values: Sequence[float]) -> dict[str, float | int]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {
        "count": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def _statuses(answers: Iterable[Answer]) -> dict[str, int]:
    counted = Counter("unreachable" if a.status is None else str(a.status) for a in answers)
    return dict(sorted(counted.items()))


def _windows(faults: Sequence[Fault]) -> list[tuple[Fault, float, float]]:
    """Each fault with the span of the run it is held to account for.

    From the fault to ``FAULT_WINDOW`` seconds after it was mended, or to the
    next fault if that comes first.
    """
    spans = []
    for index, fault in enumerate(faults):
        end = (fault.mended_at or fault.at) + FAULT_WINDOW
        if index + 1 < len(faults):
            end = min(end, faults[index + 1].at)
        spans.append((fault, fault.at, end))
    return spans


def _costs(
    answers: Sequence[Answer],
    faults: Sequence[Fault],
    purchases: Sequence[Purchase],
    lags: Mapping[str, float],
) -> list[dict[str, object]]:
    costs = []
    for fault, start, end in _windows(faults):
        during = [a for a in answers if start <= a.at <= end]
        answered = [a.seconds for a in during if a.status is not None]
        paid = [
            lags[p.order_token]
            for p in purchases
            if start <= p.paid_at <= end and p.order_token in lags
        ]
        costs.append(
            fault.as_json()
            | {
                "window_s": [round(start, 3), round(end, 3)],
                "answers": _statuses(during),
                "latency": _percentiles(answered),
                "paid_to_completed": _percentiles(paid),
            }
        )
    return costs


def _outside(answers: Sequence[Answer], faults: Sequence[Fault]) -> list[float]:
    spans = [(start, end) for _, start, end in _windows(faults)]
    return [
        a.seconds
        for a in answers
        if a.status is not None and not any(start <= a.at <= end for start, end in spans)
    ]


def _books(
    engine: Engine,
    purchases: Sequence[Purchase],
    confirmations: Counter[str],
    redis_url: str,
    logs: Sequence[str],
) -> dict[str, Any]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT o.token, o.status, "
                "(SELECT count(*) FROM enrollments e WHERE e.order_token = o.token) AS enrolled, "
                "(SELECT count(*) FROM payments p WHERE p.order_token = o.token "
                " AND p.status = 'captured') AS captured, "
                "(SELECT count(*) FROM outbox x WHERE x.name = 'order.paid' "
                " AND x.payload->>'order_token' = o.token) AS paid_events "
                "FROM orders o"
            )
        ).all()
        coupons = connection.execute(
            text(
                "SELECT c.code, c.used, (SELECT count(*) FROM coupon_redemptions r "
                "WHERE r.coupon_code = c.code AND r.status = 'active') AS redemptions "
                "FROM coupons c"
            )
        ).all()
    paid = [row for row in rows if row.captured]
    client = Redis.from_url(redis_url, socket_timeout=5)
    try:
        dead_letters = int(client.xlen(DEAD_LETTERS))
    finally:
        client.close()
    bought = {purchase.order_token for purchase in purchases}
    duplicates = sum(max(0, count - 1) for count in confirmations.values())
    checks = {
        "every buyer's order is in the books": bought <= {row.token for row in rows},
        "one order per buyer": len(rows) == len(purchases),
        "both requests of each idempotency key answered one order": all(
            purchase.same_order_twice for purchase in purchases
        ),
        "every paid order is completed": all(row.status == "completed" for row in paid),
        "every bought order is paid": bought <= {row.token for row in paid},
        "exactly one enrollment per paid order": all(row.enrolled == 1 for row in paid),
        "exactly one captured payment per paid order": all(row.captured == 1 for row in paid),
        "one order.paid event per paid order": all(row.paid_events == 1 for row in paid),
        "a confirmation for every paid order": all(confirmations[row.token] for row in paid),
        "exactly one confirmation per paid order": duplicates == 0,
        "coupon uses equal redemptions": all(c.used == c.redemptions for c in coupons),
        "no dead letter": dead_letters == 0,
        "no dead-letter alert": not any("dead-lettered by" in _message(line) for line in logs),
    }
    return {
        "orders": len(rows),
        "paid_orders": len(paid),
        "enrollments": sum(row.enrolled for row in paid),
        "confirmations": sum(confirmations.values()),
        "duplicate_confirmations": duplicates,
        "coupons": {c.code: {"used": c.used, "redemptions": c.redemptions} for c in coupons},
        "coupon_applied_by_buyers": sum(purchase.coupon_applied for purchase in purchases),
        "dead_letters": dead_letters,
        "checks": checks,
    }


def _completion_lags(
    engine: Engine, purchases: Sequence[Purchase], started: float
) -> dict[str, float]:
    """Seconds from each payment's last webhook answered to its order completed, by order."""
    wall_start = time.time() - (time.monotonic() - started)
    with engine.connect() as connection:
        completed = {
            row.token: row.updated_at.timestamp()
            for row in connection.execute(
                text("SELECT token, updated_at FROM orders WHERE status = 'completed'")
            )
        }
    return {
        p.order_token: max(0.0, completed[p.order_token] - (wall_start + p.paid_at))
        for p in purchases
        if p.order_token in completed
    }


def _scrape_degradations(servers: Iterable[CheckoutProcess], ports: Sequence[int]) -> int:
    total = 0
    for server, port in zip(servers, ports, strict=True):
        if not server.alive:
            continue
        body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        total += sum(
            int(float(line.rsplit(" ", 1)[1]))
            for line in body.splitlines()
            if line.startswith("checkout_redis_degradations_total{")
        )
    return total


def _log_figures(lines: Sequence[str], scheduler_out: Sequence[str]) -> dict[str, int]:
    messages = [_message(line) for line in lines]
    republished = sum(
        int(match.group(1))
        for line in scheduler_out
        if (match := re.search(r"orders\.redeliver: ok .*republished=(\d+)", line))
    )
    return {
        "use cases run again after a transient database fault": sum(
            "met a transient fault" in m for m in messages
        ),
        "answers 503 after every try failed": sum("outlasted its tries" in m for m in messages),
        "Redis degradations logged (first of each port per 10 s)": sum(
            m.startswith("Redis degraded:") for m in messages
        ),
        "worker rounds that failed": sum(
            "failed; trying again every second" in m for m in messages
        ),
        "order.paid events sent again by orders.redeliver": republished,
        "tracebacks": sum(line.startswith("Traceback") for line in lines),
    }


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0915 - the run, in its order
    """Run the chaos suite; 0 when the books balance, 1 when they do not."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=300)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    admin_url = make_url(os.environ.get(ADMIN_URL_VARIABLE) or DEFAULT_ADMIN_URL)
    ports = [free_port(), free_port()]
    with (
        tempfile.TemporaryDirectory(prefix="checkout-chaos-") as scratch,
        fresh_database(admin_url, "checkout_chaos", ADMIN_URL_VARIABLE) as database,
    ):
        logs = Path(scratch)
        redis = RedisProcess(logs, free_port())
        redis.start()
        environment = checkout_environment(
            database,
            redis.url,
            {
                "CHECKOUT_GATEWAY": "sandbox",
                "CHECKOUT_JWT_SECRET": JWT_SECRET,
                "CHECKOUT_REDELIVERY_DELAY": str(REDELIVERY_DELAY),
            },
        )
        servers = [
            CheckoutProcess(
                f"serve-{letter}",
                ["serve", "--port", str(port), "--log-format", "json"],
                environment | {"CHECKOUT_PUBLIC_URL": f"http://127.0.0.1:{port}"},
                logs,
                ready=f"http://127.0.0.1:{port}/readyz",
            )
            for letter, port in zip("ab", ports, strict=True)
        ]
        topology = Topology(
            servers=servers,
            worker=CheckoutProcess(
                "worker", ["worker", "--log-format", "json"], environment, logs, ready="worker "
            ),
            scheduler=CheckoutProcess(
                "scheduler",
                [
                    "scheduler",
                    "--every",
                    f"orders.redeliver={REDELIVER_EVERY}",
                    "--log-format",
                    "json",
                ],
                environment,
                logs,
                ready="scheduler running",
            ),
            redis=redis,
            database=database,
            started=time.monotonic(),
        )
        engine = make_engine(database, poolclass=NullPool)
        try:
            print(f"chaos: {args.buyers} buyers over {args.load_seconds:g} s", flush=True)
            startup = _start(topology)
            print(f"  every process ready: {startup}", flush=True)
            shop = Shop(
                [(s.name, f"http://127.0.0.1:{p}") for s, p in zip(servers, ports, strict=True)],
                topology.started,
            )
            faulting = threading.Thread(
                target=_run_faults, args=(topology, _plan(topology, args.load_seconds))
            )
            load_started = topology.now()
            faulting.start()
            purchases, failures = _run_buyers(
                shop, args.buyers, args.load_seconds, args.concurrency
            )
            faulting.join()
            load_ended = topology.now()
            print(
                f"  {len(purchases)} buyers paid in {load_ended - load_started:.1f} s", flush=True
            )
            deadline = time.monotonic() + SETTLE_TIMEOUT
            while not _settled(engine, lambda: _confirmations(topology.processes)):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            settled_after = topology.now() - load_ended
            degradations = _scrape_degradations(servers, ports)
            exits = {process.name: process.stop() for process in topology.processes}
            lines = _log_lines(topology.processes)
            scheduler_out = [
                line
                for path in topology.scheduler.output_files()
                if path.name.endswith(".out.log")
                for line in path.read_text(encoding="utf-8").splitlines()
            ]
            books = _books(engine, purchases, _confirmations(topology.processes), redis.url, lines)
            lags = _completion_lags(engine, purchases, topology.started)
        finally:
            engine.dispose()
            for process in topology.processes:
                process.kill()
            redis.kill()
    answers = shop.answers
    server_errors = [a for a in answers if a.status is not None and a.status >= 500]
    books["checks"]["no 5xx answered by a live process"] = not server_errors
    books["checks"]["every buyer went through"] = not failures
    # uvicorn lets SIGTERM end the server once it has shut down cleanly.
    books["checks"]["every process stopped cleanly on SIGTERM"] = all(
        code in {0, -signal.SIGTERM} for code in exits.values()
    )
    passed = all(books["checks"].values())
    report = {
        "benchmark": "chaos",
        "machine": machine(quick=args.buyers < 300),
        "method": (
            "2 `checkout serve`, 1 `checkout worker`, 1 `checkout scheduler` (orders.redeliver "
            f"every {REDELIVER_EVERY} s, CHECKOUT_REDELIVERY_DELAY={REDELIVERY_DELAY}) started "
            "at once on a fresh PostgreSQL database and a redis-server without persistence; "
            f"{args.buyers} buyers spread over {args.load_seconds:g} s, {args.concurrency} at "
            "a time, through the paid flow over HTTP (cart, auth check, estimate, SAVE20 for "
            "every other buyer, the order sent twice at once with one idempotency key to both "
            "API processes, the order read, Razorpay's payment.authorized, payment.captured "
            "and order.paid each delivered twice at once to both); faults at 15%, 35%, 55%, "
            "75% and 80% of the load; a request to a process that cannot be reached goes to "
            "the other, as a load balancer sends it; a 5xx is counted and sent again"
        ),
        "buyers": args.buyers,
        "purchases": len(purchases),
        "buyer_failures": failures[:20],
        "startup_seconds": startup,
        "faults": _costs(answers, topology.faults, purchases, lags),
        "answers": {
            "by_status": _statuses(answers),
            "by_route": {
                route: _statuses(a for a in answers if a.route == route)
                for route in sorted({a.route for a in answers})
            },
            "server_errors": [
                {"at_s": round(a.at, 3), "process": a.process, "route": a.route, "status": a.status}
                for a in server_errors[:50]
            ],
            "latency_outside_fault_windows": _percentiles(_outside(answers, topology.faults)),
        },
        "paid_to_completed": _percentiles(list(lags.values())),
        "settled_after_load_s": round(settled_after, 2),
        "redis_degradations_counted_by_live_servers": degradations,
        "logs": _log_figures(lines, scheduler_out),
        "exit_codes": exits,
        "books": books,
        "passed": passed,
    }
    _print(report)
    write_report(args.out, report)
    return 0 if passed else 1


def _print(report: dict[str, Any]) -> None:
    print(f"buyers {report['buyers']}, paid {report['purchases']}")
    print(f"answers by status: {report['answers']['by_status']}")
    print(
        f"latency outside the fault windows: {report['answers']['latency_outside_fault_windows']}"
    )
    for fault in report["faults"]:
        print(
            f"  {fault['fault']} at {fault['at_s']} s, mended after {fault['mended_after_s']} s: "
            f"answers {fault['answers']}, latency {fault['latency']}, "
            f"paid -> completed {fault['paid_to_completed']}"
        )
    print(f"paid -> completed: {report['paid_to_completed']}")
    print(f"settled {report['settled_after_load_s']} s after the load ended")
    print(f"logs: {report['logs']}")
    books = report["books"]
    print(
        f"books: {books['paid_orders']} paid orders, {books['enrollments']} enrollments, "
        f"{books['confirmations']} confirmations ({books['duplicate_confirmations']} "
        f"duplicates), coupons {books['coupons']}, dead letters {books['dead_letters']}"
    )
    for check, held in books["checks"].items():
        print(f"  [{'ok' if held else 'FAILED'}] {check}")
    print("PASSED" if report["passed"] else "FAILED")


if __name__ == "__main__":
    sys.exit(main())
