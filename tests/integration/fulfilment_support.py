"""What the fulfilment tests share: paid orders in bulk, senders that write files, worker processes.

Worker processes share no memory with the test, so what they send is
written to files: one line per email (``template order_token``) in a file
of the process's own, one JSON line per alert. The test reads the files,
the database and the Redis stream to see what happened.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections.abc import Callable, Iterable
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Any, Final

import pytest
from attrs import evolve, frozen
from redis import Redis
from sqlalchemy import Engine

from checkout_adapters.workers import run_worker_process
from checkout_core.domain.events import DomainEvent, OrderPaid
from checkout_core.domain.messages import Alert, Notification
from checkout_core.ports import MessageQueue
from tests.integration.concurrency_support import build_checkout, count, open_cart, seed_catalog
from tests.redis_support import REDIS_URL

__all__ = [
    "GROUP",
    "AlertLog",
    "DiesAfterPublishing",
    "EmailLog",
    "RelayDied",
    "StallingSender",
    "Workers",
    "emails",
    "group_backlog",
    "pay_orders",
    "read_alerts",
    "wait_until",
]

GROUP: Final = "enrollment"
_POLL: Final = 0.02
_EMAILS: Final = "*.emails"


@frozen
class EmailLog:
    """Records each notification as a line of ``path``; fails while the file ``fault`` exists."""

    path: Path
    fault: Path | None = None

    def send(self, notification: Notification) -> None:
        if self.fault is not None and self.fault.exists():
            raise ConnectionError(f"the {notification.template!r} notification was not delivered")
        with self.path.open("a", encoding="utf-8") as file:
            file.write(f"{notification.template} {notification.order_token}\n")


@frozen
class StallingSender:
    """Writes the order it was asked about to ``started``, then hangs: to be killed right there."""

    started: Path
    seconds: float = 120.0

    def send(self, notification: Notification) -> None:
        writing = self.started.with_name(f"{self.started.name}.part")
        writing.write_text(notification.order_token, encoding="utf-8")
        writing.replace(self.started)  # whole when it appears
        time.sleep(self.seconds)
        raise TimeoutError("the stalling sender was not killed")


@frozen
class AlertLog:
    """Records each alert as a JSON line of ``path``."""

    path: Path

    def send(self, alert: Alert) -> None:
        line = {"severity": str(alert.severity), "title": alert.title, "detail": alert.detail}
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(line) + "\n")


def _lines(path: Path) -> list[str]:
    """The lines of ``path`` written whole: one being written now is left out."""
    if not path.exists():
        return []
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def emails(directory: Path) -> list[str]:
    """Every email the processes recorded in ``directory``, sorted."""
    return sorted(line for path in directory.glob(_EMAILS) for line in _lines(path))


def read_alerts(path: Path) -> list[dict[str, str]]:
    """The alerts an :class:`AlertLog` recorded, in order."""
    return [json.loads(line) for line in _lines(path)]


class RelayDied(Exception):
    """The relay's process ends here: after publishing, before marking the rows sent."""


class DiesAfterPublishing:
    """Publishes to ``queue``, then dies once the ``after``-th event is out."""

    def __init__(self, queue: MessageQueue, after: int) -> None:
        self._queue = queue
        self._after = after
        self.published = 0

    def publish(self, event: DomainEvent) -> None:
        self._queue.publish(event)
        self.published += 1
        if self.published == self._after:
            raise RelayDied(event.event_id)


def pay_orders(engine: Engine, how_many: int) -> list[str]:
    """Seed the demo's catalog and ``how_many`` paid orders, each with ``order.paid`` unsent.

    The first order is placed through the checkout and paid through the
    fake gateway; the others are copies of it (new tokens, payments and
    events) written in one transaction through the repositories: quick
    enough for a thousand.
    """
    checkout, _gateway = build_checkout(engine)
    seed_catalog(engine, checkout)
    buyer = "user_0"
    placed = checkout.orders.create_from_cart(open_cart(checkout, buyer), "idem_0", buyer).unwrap()
    receipt = placed.receipt
    assert receipt.provider_ref is not None
    checkout.payments.mark_paid("fake", receipt.provider_ref, receipt.total).unwrap()
    ids, now = checkout.ports.ids, checkout.ports.clock.now()
    tokens = [receipt.order_token]
    with checkout.ports.unit_of_work() as uow:
        order = uow.orders.get(receipt.order_token)
        payment = uow.payments.latest_for_order(receipt.order_token)
        assert order is not None
        assert payment is not None
        for number in range(1, how_many):
            copy = evolve(
                order, token=ids.token(), cart_token=ids.token(), user_id=f"user_{number}"
            )
            paid = evolve(
                payment,
                id=ids.id("pay"),
                order_token=copy.token,
                provider_ref=f"{payment.provider_ref}_{number}",
            )
            uow.orders.add(copy)
            uow.payments.add(paid)
            uow.outbox.append(OrderPaid.of(ids.id("evt"), copy, paid, now))
            tokens.append(copy.token)
        uow.commit()
    unsent = count(engine, "SELECT count(*) FROM outbox WHERE name = 'order.paid'")
    assert unsent == how_many
    return tokens


def group_backlog(client: Redis, stream: str, group: str) -> int:
    """Messages of ``stream`` the group has not acknowledged: pending or never read.

    Before a worker made the group, that is the whole stream.
    """
    found = [each for each in client.xinfo_groups(stream) if _text(each["name"]) == group]
    if not found:
        return int(client.xlen(stream))
    return int(found[0]["pending"]) + int(found[0]["lag"])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def wait_until(condition: Callable[[], bool], what: str, *, timeout: float = 30.0) -> None:
    """Return once ``condition()`` holds; fail the test saying ``what`` if it does not in time."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not so after {timeout} s: {what}")
        time.sleep(_POLL)


class Workers:
    """Worker processes on the test's database and stream, started with ``spawn``.

    :meth:`close` kills whatever is still running; the test's finalizer calls it.
    """

    def __init__(self, database_url: str, stream: str) -> None:
        self._database_url = database_url
        self._stream = stream
        self._context = multiprocessing.get_context("spawn")
        self.processes: list[SpawnProcess] = []

    def start(
        self, consumer: str, stop_after_idle_seconds: float | None = None, **options: Any
    ) -> SpawnProcess:
        """Start ``run_worker_process`` as ``consumer`` of :data:`GROUP`, with ``options``."""
        process = self._context.Process(
            target=run_worker_process,
            args=(self._database_url, REDIS_URL, GROUP, consumer, stop_after_idle_seconds),
            kwargs={"stream": self._stream, **options},
            name=f"worker-{consumer}",
            daemon=True,
        )
        process.start()
        self.processes.append(process)
        return process

    @staticmethod
    def terminate(processes: Iterable[SpawnProcess], *, timeout: float = 30.0) -> list[int | None]:
        """SIGTERM each process, wait for each to end; their exit codes."""
        processes = list(processes)
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM
        for process in processes:
            process.join(timeout)
        return [process.exitcode for process in processes]

    def close(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join(10)
