"""Fulfilment end to end: PostgreSQL, Redis Streams and worker processes that die, fail and race.

Each test pays orders into the session's emptied database, relays their
``order.paid`` events to a Redis stream of its own (its keys are deleted
afterwards; nothing else of the Redis database is touched), and runs the
enrollment worker: in real processes started with ``spawn`` where a
process is killed or several race, in the test's thread where a real SMTP
sender is involved. Whatever happens, each buyer is enrolled once and
emailed once.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from redis import Redis
from sqlalchemy import URL, Engine

from checkout_adapters.memory import FakeGateway, LogAnalyticsTracker, RecordingAlertSink
from checkout_adapters.notifications import SmtpNotificationSender, message_id
from checkout_adapters.redis import RedisStreamQueue
from checkout_adapters.relay import OutboxRelay
from checkout_adapters.sqlalchemy import SqlOutboxReader, SqlUnitOfWorkFactory
from checkout_adapters.system import RandomIds, SystemClock
from checkout_adapters.workers import WorkerLoop
from checkout_core.domain.retry import RetryPolicy
from checkout_core.services import Checkout, CheckoutPorts, RetryWorker
from tests.integration.concurrency_support import count
from tests.integration.fulfilment_support import (
    GROUP,
    AlertLog,
    DiesAfterPublishing,
    EmailLog,
    RelayDied,
    StallingSender,
    Workers,
    emails,
    group_backlog,
    pay_orders,
    read_alerts,
    wait_until,
)
from tests.notifications.servers import MailHandler, free_port
from tests.redis_support import reachable_redis

VISIBILITY = timedelta(milliseconds=300)
WAIT = timedelta(milliseconds=100)
QUICK = RetryPolicy(initial_delay=timedelta(milliseconds=10), max_delay=timedelta(milliseconds=50))


@pytest.fixture
def redis_client() -> Iterator[Redis]:
    client = reachable_redis()
    yield client
    client.close()


@pytest.fixture
def stream(redis_client: Redis) -> Iterator[str]:
    """A stream of this test's own; its keys (the group's too) are deleted at the end."""
    name = f"checkout:test:{uuid.uuid4().hex}"
    yield name
    keys = list(redis_client.scan_iter(match=f"{name}*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def queue(redis_client: Redis, stream: str) -> RedisStreamQueue:
    return RedisStreamQueue(redis_client, stream=stream, clock=SystemClock())


@pytest.fixture
def workers(postgres_engine: Engine, postgres_url: URL, stream: str) -> Iterator[Workers]:
    del postgres_engine  # emptied first
    running = Workers(postgres_url.render_as_string(hide_password=False), stream)
    yield running
    running.close()


def relay_all(engine: Engine, queue: RedisStreamQueue) -> int:
    relay = OutboxRelay(engine, queue, batch_size=500, clock=SystemClock())
    published = total = relay.relay_once()
    while published:
        published = relay.relay_once()
        total += published
    return total


def enrollments(engine: Engine) -> int:
    return count(engine, "SELECT count(*) FROM enrollments")


def enrolled_orders(engine: Engine) -> int:
    return count(engine, "SELECT count(DISTINCT order_token) FROM enrollments")


def handled(engine: Engine) -> int:
    """Events the enrollment consumer handled to the end (a claim alone does not count)."""
    return count(
        engine,
        "SELECT count(*) FROM webhook_inbox"
        " WHERE provider = 'consumer:enrollment' AND status = 'applied'",
    )


def confirmations(tokens: list[str]) -> list[str]:
    return sorted(f"confirmation {token}" for token in tokens)


def test_a_message_of_a_worker_killed_mid_message_is_claimed_by_another_and_handled_once(
    postgres_engine: Engine,
    workers: Workers,
    redis_client: Redis,
    stream: str,
    tmp_path: Path,
) -> None:
    tokens = pay_orders(postgres_engine, 3)
    started = tmp_path / "started"
    dying = workers.start(
        "dying", notifications=StallingSender(started), visibility=VISIBILITY, wait=WAIT
    )

    wait_until(started.exists, "the dying worker is sending an email")
    stuck = started.read_text(encoding="utf-8")
    assert stuck in tokens
    assert count(
        postgres_engine, "SELECT count(*) FROM enrollments WHERE order_token = :t", t=stuck
    )
    assert dying.pid is not None
    dying.kill()
    dying.join(10)
    assert dying.exitcode == -signal.SIGKILL
    assert redis_client.xpending(stream, GROUP)["pending"] == 1

    survivor = workers.start(
        "survivor",
        1.5,
        notifications=EmailLog(tmp_path / "survivor.emails"),
        visibility=VISIBILITY,
        wait=WAIT,
    )
    survivor.join(30)

    assert survivor.exitcode == 0
    assert emails(tmp_path) == confirmations(tokens)
    assert enrollments(postgres_engine) == enrolled_orders(postgres_engine) == 3
    assert handled(postgres_engine) == 3
    assert group_backlog(redis_client, stream, GROUP) == 0
    assert redis_client.xlen(stream) == 3


def test_a_handler_failing_three_times_is_dead_lettered_with_an_alert_then_replayed_once_fixed(
    postgres_engine: Engine,
    workers: Workers,
    queue: RedisStreamQueue,
    redis_client: Redis,
    stream: str,
    tmp_path: Path,
) -> None:
    (token,) = pay_orders(postgres_engine, 1)
    fault, alerts = tmp_path / "fault", tmp_path / "alerts.jsonl"
    fault.touch()
    worker = workers.start(
        "flaky",
        notifications=EmailLog(tmp_path / "flaky.emails", fault=fault),
        alerts=AlertLog(alerts),
        policy=QUICK,
        visibility=VISIBILITY,
        wait=WAIT,
    )

    wait_until(lambda: bool(read_alerts(alerts)), "the dead letter's alert was sent")
    (dead,) = queue.dead_letters(GROUP)
    assert dead.attempts == 3
    assert dead.event.name == "order.paid"
    assert getattr(dead.event, "order_token", None) == token
    assert dead.error.startswith("ConnectionError")
    (alert,) = read_alerts(alerts)
    assert alert["severity"] == "critical"
    assert dead.event.event_id in alert["detail"]
    assert "3 times" in alert["detail"]
    assert emails(tmp_path) == []
    assert enrollments(postgres_engine) == 1
    assert handled(postgres_engine) == 0

    fault.unlink()
    assert queue.replay(GROUP) == 1
    wait_until(lambda: emails(tmp_path) == confirmations([token]), "the replay was emailed")

    assert Workers.terminate([worker]) == [0]
    assert emails(tmp_path) == confirmations([token])
    assert queue.dead_letters(GROUP) == []
    assert len(read_alerts(alerts)) == 1
    assert enrollments(postgres_engine) == 1
    assert handled(postgres_engine) == 1
    assert group_backlog(redis_client, stream, GROUP) == 0
    assert redis_client.xpending(f"{stream}:retry:{{{GROUP}}}", GROUP)["pending"] == 0
    assert redis_client.zcard(f"{stream}:due:{{{GROUP}}}") == 0


def test_smtp_down_is_retried_then_dead_lettered_without_enrolling_twice(
    postgres_engine: Engine, queue: RedisStreamQueue, redis_client: Redis, stream: str
) -> None:
    (token,) = pay_orders(postgres_engine, 1)
    port = free_port()  # nothing listens on it
    alerts = RecordingAlertSink()
    clock = SystemClock()
    ports = CheckoutPorts(
        unit_of_work=SqlUnitOfWorkFactory(postgres_engine),
        gateway=FakeGateway("whsec_fulfilment"),
        clock=clock,
        ids=RandomIds(),
        notifications=SmtpNotificationSender(
            "127.0.0.1",
            port,
            sender="shop@example.com",
            recipients=lambda user: f"{user}@example.com",
            timeout=2.0,
        ),
        analytics=LogAnalyticsTracker(),
        alerts=alerts,
    )
    checkout = Checkout.build(ports)
    worker = RetryWorker(queue, GROUP, "inline", checkout.fulfilment, checkout.alerts, policy=QUICK)
    loop = WorkerLoop(OutboxRelay(postgres_engine, queue, clock=clock), worker, wait=WAIT)

    rounds: list[int] = []

    def dead_lettered() -> bool:
        rounds.append(loop.run_once())
        return bool(queue.dead_letters(GROUP))

    wait_until(dead_lettered, "the email was dead-lettered", timeout=20)

    assert sum(rounds) == 3  # three attempts, then the dead letter
    (dead,) = queue.dead_letters(GROUP)
    assert dead.attempts == 3
    assert dead.error.startswith("NotificationFailed")
    (alert,) = alerts.alerts
    assert alert.severity == "critical"
    assert dead.event.event_id in alert.detail
    assert enrollments(postgres_engine) == 1
    assert count(postgres_engine, "SELECT count(*) FROM orders WHERE status = 'completed'") == 1
    assert handled(postgres_engine) == 0
    assert group_backlog(redis_client, stream, GROUP) == 0

    # The server comes up on that port: a replay delivers the email, and enrolls nobody again.
    handler = MailHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=5.0)
    controller.start()
    try:
        assert queue.replay(GROUP) == 1
        wait_until(lambda: loop.run_once() > 0, "the replay was delivered", timeout=10)
    finally:
        controller.stop()

    (message,) = handler.messages
    assert message["To"] == "user_0@example.com"
    assert message["Message-ID"] == message_id("confirmation", token, "example.com")
    assert queue.dead_letters(GROUP) == []
    assert enrollments(postgres_engine) == 1
    assert handled(postgres_engine) == 1


def test_1000_paid_orders_with_4_worker_processes_enroll_and_email_each_buyer_once(
    postgres_engine: Engine,
    workers: Workers,
    queue: RedisStreamQueue,
    redis_client: Redis,
    stream: str,
    tmp_path: Path,
) -> None:
    tokens = pay_orders(postgres_engine, 1_000)
    assert relay_all(postgres_engine, queue) == 1_000
    processes = [
        workers.start(
            f"racer-{number}",
            notifications=EmailLog(tmp_path / f"racer-{number}.emails"),
            relay=False,
            visibility=timedelta(seconds=30),
            wait=WAIT,
            limit=10,
        )
        for number in range(4)
    ]

    wait_until(
        lambda: group_backlog(redis_client, stream, GROUP) == 0,
        "the group acknowledged every message",
        timeout=45,
    )
    assert Workers.terminate(processes) == [0] * 4

    sent = emails(tmp_path)
    assert len(sent) == 1_000
    assert sent == confirmations(tokens)  # each order once, none twice
    assert enrollments(postgres_engine) == enrolled_orders(postgres_engine) == 1_000
    assert handled(postgres_engine) == 1_000
    assert count(postgres_engine, "SELECT count(*) FROM orders WHERE status = 'completed'") == 1_000
    assert queue.dead_letters(GROUP) == []


def test_events_published_twice_by_a_relay_that_died_are_handled_once(
    postgres_engine: Engine,
    workers: Workers,
    queue: RedisStreamQueue,
    redis_client: Redis,
    stream: str,
    tmp_path: Path,
) -> None:
    tokens = pay_orders(postgres_engine, 5)
    dying = OutboxRelay(postgres_engine, DiesAfterPublishing(queue, after=5), clock=SystemClock())

    with pytest.raises(RelayDied):
        dying.relay_once()
    assert len(SqlOutboxReader(postgres_engine).pending(100)) == 5  # published, not marked sent
    assert relay_all(postgres_engine, queue) == 5
    assert redis_client.xlen(stream) == 10
    worker = workers.start(
        "deduper",
        1.5,
        notifications=EmailLog(tmp_path / "deduper.emails"),
        relay=False,
        visibility=VISIBILITY,
        wait=WAIT,
    )
    worker.join(30)

    assert worker.exitcode == 0
    assert emails(tmp_path) == confirmations(tokens)
    assert enrollments(postgres_engine) == enrolled_orders(postgres_engine) == 5
    assert handled(postgres_engine) == 5
    assert group_backlog(redis_client, stream, GROUP) == 0
