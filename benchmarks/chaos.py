"""The chaos suite: the production topology as real processes, buyers, faults, and the books.

Two ``checkout serve`` processes, one ``checkout worker`` and one ``checkout
scheduler``, started at once on a fresh PostgreSQL database and a
redis-server of the suite's own (no persistence), as an operator runs them.
Buyers go through the paid flow over HTTP (see ``chaos_buyers.py``): each
order sent twice at once with one idempotency key, each payment webhook
delivered twice at once, to both API processes. Meanwhile, at set points of
the load:

* the worker is killed (``SIGKILL``) while it handles events, holding the
  messages it had, and started again;
* an API process is killed and started again on its port;
* Redis is killed and started again empty, two seconds later;
* every connection to the database is ended by the server at once
  (``pg_terminate_backend``), at a moment one of them is in the middle of a
  transaction, twice.

Then the suite waits for the checkout to settle and reads the books from
the database, the processes' logs and Redis: every paid order completed,
with exactly one enrollment, one confirmation and one captured payment; each
coupon's use count equal to its redemptions; no dead letter and no alert of
one; and no 5xx answered by any process that was alive. It prints the
figures (buyers, faults, answers by status, what each fault cost, the time
to settle) and writes them to ``benchmarks/results/chaos.json``; it exits
with 1 when the books are wrong.

    python benchmarks/chaos.py [--buyers 400] [--load-seconds 90] [--out PATH]

The database is made on the server at ``CHECKOUT_CHAOS_DATABASE_URL``
(default: the local server as ``postgres``) and dropped at the end;
``redis-server`` must be installed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final

from attrs import define, field
from sqlalchemy import URL, make_url
from sqlalchemy.pool import NullPool

from chaos_books import (
    completion_lags,
    confirmations,
    costs,
    latency,
    log_figures,
    log_lines,
    outside,
    read_books,
    scrape_degradations,
    settled,
    statuses,
)
from chaos_buyers import Purchase, Shop, buy
from chaos_world import (
    CheckoutProcess,
    Fault,
    RedisProcess,
    checkout_environment,
    free_port,
    terminate_connections,
    wait_until_busy,
)
from checkout_adapters.sandbox import Sandbox
from checkout_adapters.sqlalchemy import make_engine
from flow import fresh_database
from reporting import machine, write_report

RESULTS: Final = Path(__file__).parent / "results" / "chaos.json"
DEFAULT_BUYERS: Final = 400
ADMIN_URL_VARIABLE: Final = "CHECKOUT_CHAOS_DATABASE_URL"
DEFAULT_ADMIN_URL: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
JWT_SECRET: Final = "the-chaos-suite-signs-its-buyers-tokens-with-this"  # noqa: S105 - made up
REDELIVERY_DELAY: Final = 10
"""Seconds after which ``orders.redeliver`` sends a stalled ``order.paid`` again."""
REDELIVER_EVERY: Final = 5
SETTLE_TIMEOUT: Final = 180.0


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
        """SIGKILL the worker while it handles events, then start another.

        The worker is killed as soon as one of its connections is seen in a
        statement on the consumer's inbox (looked for ten seconds at most), so
        that it dies holding messages: another consumer takes them over once
        their visibility (30 s) is over.
        """
        caught = wait_until_busy(
            self.database, "checkout-worker", doing="%webhook_inbox%", within=10.0
        )
        fault = self._fault("worker killed (SIGKILL) and started again")
        fault.detail = "handling events" if caught else "between events"
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
        """End every connection to the database at once, as a failover does, work in flight.

        The connections are ended the moment one of them is seen in the middle
        of a transaction (looked for five seconds at most).
        """
        fault = self._fault("database connections terminated (pg_terminate_backend)")
        ended, busy = terminate_connections(self.database, within=5.0)
        fault.mended_at = self.now()
        fault.detail = f"{ended} connections ended, {busy} of them in a transaction"

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
    # What every server's own sandbox signs its Razorpay webhooks with.
    webhook_secret = Sandbox().razorpay_webhook_secret

    def one(number: int) -> None:
        time.sleep(max(0.0, begun + number * spacing - time.monotonic()))
        try:
            purchase = buy(
                shop,
                number,
                jwt_secret=JWT_SECRET,
                webhook_secret=webhook_secret,
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


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0915 - the run, in its order
    """Run the chaos suite; 0 when the books balance, 1 when they do not."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=DEFAULT_BUYERS)
    parser.add_argument("--load-seconds", type=float, default=90.0)
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
        variables = {
            "CHECKOUT_GATEWAY": "sandbox",
            "CHECKOUT_JWT_SECRET": JWT_SECRET,
            "CHECKOUT_REDELIVERY_DELAY": str(REDELIVERY_DELAY),
        }

        def command(name: str, arguments: list[str], ready: str, **extra: str) -> CheckoutProcess:
            environment = checkout_environment(name, database, redis.url, variables | extra)
            return CheckoutProcess(name, arguments, environment, logs, ready=ready)

        servers = [
            command(
                f"serve-{letter}",
                ["serve", "--port", str(port), "--log-format", "json"],
                f"http://127.0.0.1:{port}/readyz",
                CHECKOUT_PUBLIC_URL=f"http://127.0.0.1:{port}",
            )
            for letter, port in zip("ab", ports, strict=True)
        ]
        every = f"orders.redeliver={REDELIVER_EVERY}"
        topology = Topology(
            servers=servers,
            worker=command("worker", ["worker", "--log-format", "json"], "worker "),
            scheduler=command(
                "scheduler",
                ["scheduler", "--every", every, "--log-format", "json"],
                "scheduler running",
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
            while not settled(engine, lambda: confirmations(topology.processes)):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            settled_after = topology.now() - load_ended
            degradations = scrape_degradations(servers, ports)
            exits = {process.name: process.stop() for process in topology.processes}
            lines = log_lines(topology.processes)
            scheduler_out = [
                line
                for path in topology.scheduler.output_files()
                if path.name.endswith(".out.log")
                for line in path.read_text(encoding="utf-8").splitlines()
            ]
            books = read_books(
                engine, purchases, confirmations(topology.processes), redis.url, lines
            )
            lags = completion_lags(engine, purchases, topology.started)
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
        "machine": machine(quick=args.buyers < DEFAULT_BUYERS),
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
        "faults": costs(answers, topology.faults, purchases, lags),
        "answers": {
            "by_status": statuses(answers),
            "by_route": {
                route: statuses(a for a in answers if a.route == route)
                for route in sorted({a.route for a in answers})
            },
            "server_errors": [
                {"at_s": round(a.at, 3), "process": a.process, "route": a.route, "status": a.status}
                for a in server_errors[:50]
            ],
            "latency_outside_fault_windows": latency(outside(answers, topology.faults)),
        },
        "paid_to_completed": latency(list(lags.values())),
        "slowest_to_complete": [
            {"paid_at_s": round(paid_at, 3), "completed_after_s": round(lag, 3)}
            for lag, paid_at in sorted(
                ((lags[p.order_token], p.paid_at) for p in purchases if p.order_token in lags),
                reverse=True,
            )[:5]
        ],
        "settled_after_load_s": round(settled_after, 2),
        "redis_degradations_counted_by_live_servers": degradations,
        "logs": log_figures(lines, scheduler_out),
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
