"""The chaos suite's books: what the database, the logs and Redis say after the faults.

Every figure the suite reports and every check it makes are read here, after
the run: the answers by status and what each fault cost (in its window of
the run), the orders, payments, enrollments, coupons and dead letters, the
confirmations and the retries the processes logged.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import httpx
from redis import Redis
from sqlalchemy import Engine, text

from chaos_buyers import Answer, Purchase
from chaos_world import CheckoutProcess, Fault
from reporting import percentiles

__all__ = [
    "completion_lags",
    "confirmations",
    "costs",
    "latency",
    "log_figures",
    "log_lines",
    "outside",
    "read_books",
    "scrape_degradations",
    "settled",
    "statuses",
]

FAULT_WINDOW: Final = 5.0
"""Seconds after a fault was mended whose answers count as the fault's."""
DEAD_LETTERS: Final = "checkout:events:dead:{enrollment}"
_CONFIRMATION: Final = re.compile(r"notification confirmation to user \S+ about order (\S+?):")


def count(engine: Engine, sql: str) -> int:
    """The one integer ``sql`` selects."""
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def settled(engine: Engine, confirmations: Callable[[], Counter[str]]) -> bool:
    """Whether every captured payment's order is completed and confirmed."""
    paid = count(engine, "SELECT count(*) FROM payments WHERE status = 'captured'")
    completed = count(
        engine,
        "SELECT count(*) FROM orders o WHERE o.status = 'completed' AND EXISTS "
        "(SELECT 1 FROM payments p WHERE p.order_token = o.token AND p.status = 'captured')",
    )
    return paid == completed and len(confirmations()) >= completed


def log_lines(processes: Iterable[CheckoutProcess]) -> list[str]:
    """Every line the processes wrote, in all their lives."""
    lines: list[str] = []
    for process in processes:
        for path in process.output_files():
            lines.extend(path.read_text(encoding="utf-8", errors="replace").splitlines())
    return lines


def message(line: str) -> str:
    """The message of a JSON log line (``event``), or the line itself."""
    if line.startswith("{"):
        try:
            return str(json.loads(line).get("event", line))
        except json.JSONDecodeError:
            return line
    return line


def confirmations(processes: Iterable[CheckoutProcess]) -> Counter[str]:
    """How many confirmations the processes logged, by order token."""
    found: Counter[str] = Counter()
    for line in log_lines(processes):
        match = _CONFIRMATION.search(message(line))
        if match is not None:
            found[match.group(1)] += 1
    return found


def latency(values: Sequence[float]) -> dict[str, object]:
    """How many ``values`` (seconds) there are, and their percentiles in ms (none when empty)."""
    if not values:
        return {"count": 0}
    return {"count": len(values), **percentiles(values)}


def statuses(answers: Iterable[Answer]) -> dict[str, int]:
    """The answers counted by status, ``unreachable`` for a process that could not be reached."""
    counted = Counter("unreachable" if a.status is None else str(a.status) for a in answers)
    return dict(sorted(counted.items()))


def windows(faults: Sequence[Fault]) -> list[tuple[Fault, float, float]]:
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


def costs(
    answers: Sequence[Answer],
    faults: Sequence[Fault],
    purchases: Sequence[Purchase],
    lags: Mapping[str, float],
) -> list[dict[str, object]]:
    """What each fault cost in its window: answers by status, latency, paid to completed."""
    costs = []
    for fault, start, end in windows(faults):
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
                "answers": statuses(during),
                "latency": latency(answered),
                "paid_to_completed": latency(paid),
            }
        )
    return costs


def outside(answers: Sequence[Answer], faults: Sequence[Fault]) -> list[float]:
    """The latencies of the answers given outside every fault's window."""
    spans = [(start, end) for _, start, end in windows(faults)]
    return [
        a.seconds
        for a in answers
        if a.status is not None and not any(start <= a.at <= end for start, end in spans)
    ]


def read_books(
    engine: Engine,
    purchases: Sequence[Purchase],
    confirmations: Counter[str],
    redis_url: str,
    logs: Sequence[str],
) -> dict[str, Any]:
    """The books after the run, and each check of them, held or not."""
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
        "no dead-letter alert": not any("dead-lettered by" in message(line) for line in logs),
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


def completion_lags(
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


def scrape_degradations(servers: Iterable[CheckoutProcess], ports: Sequence[int]) -> int:
    """The Redis degradations the live servers counted, from their ``/metrics``."""
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


def log_figures(lines: Sequence[str], scheduler_out: Sequence[str]) -> dict[str, int]:
    """What the processes logged of the faults: retries, degradations, copies sent again."""
    messages = [message(line) for line in lines]
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
