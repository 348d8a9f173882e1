"""Nothing lost when the broker loses data: paid orders complete once, whatever Redis forgot.

The server's own composition (``served()``: the outbox relay, the Redis
Streams queue, the enrollment worker) on the session's PostgreSQL database
and on a ``redis-server`` of the test's own, which the test empties with
``FLUSHALL`` as a restart without persistence would. The ``orders.redeliver``
job runs through the runner the scheduler uses (``job_runner``), on a clock
the test moves past the delay.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from attrs import frozen
from redis import Redis
from sqlalchemy import URL, Engine, text

from checkout_adapters.bootstrap import Served, served
from checkout_adapters.jobs import JobRunner, JobSettings, Outcome, job_named
from checkout_adapters.jobs.wiring import job_runner
from checkout_adapters.memory import FixedClock, RecordingNotificationSender
from checkout_adapters.settings import ServerSettings
from checkout_core.domain.messages import Notification
from checkout_core.ports import NotificationSender
from tests.integration.concurrency_support import count
from tests.integration.fulfilment_support import GROUP, group_backlog, pay_orders
from tests.redis_adapter.redis_server import RedisServer

STREAM = "checkout:events"
"""The stream ``served()`` publishes to."""
WAIT = timedelta(milliseconds=200)


@frozen
class Deployment:
    """A server's relay, worker and job runner, on one clock, and what they touch."""

    server: Served
    runner: JobRunner
    clock: FixedClock
    mailer: RecordingNotificationSender
    redis: Redis
    engine: Engine

    def relay(self) -> int:
        """Publish what the outbox holds unsent, as the server's worker thread does first."""
        relay = self.server.relay
        assert relay is not None, "with Redis, the server relays the outbox"
        published = total = relay.relay_once()
        while published:
            published = relay.relay_once()
            total += published
        return total

    def work(self) -> int:
        """Handle what the stream holds for the enrollment group, as the worker thread does."""
        handled = total = self.server.worker.run_once(limit=32, wait=WAIT)
        while handled:
            handled = self.server.worker.run_once(limit=32, wait=WAIT)
            total += handled
        return total

    def redeliver(self) -> dict[str, object]:
        """Run ``orders.redeliver`` as the scheduler would; its figures."""
        run = self.runner.run(job_named("orders.redeliver"))
        assert run.outcome is Outcome.OK, run.error
        assert run.report is not None
        return dict(run.report.figures)

    def streamed_event_ids(self) -> list[str]:
        """The ids of the events the stream holds, in order."""
        ids: list[str] = []
        for _, fields in self.redis.xrange(STREAM) or []:
            assert fields is not None
            ids.append(json.loads(fields[b"event"])["event_id"])
        return ids

    def statuses(self, tokens: list[str]) -> list[str]:
        """The status of each order of ``tokens``, in that order."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT token, status FROM orders WHERE token = ANY(:tokens)"),
                {"tokens": tokens},
            ).all()
        found = {row.token: row.status for row in rows}
        return [found[token] for token in tokens]

    def enrollments(self, token: str) -> int:
        return count(
            self.engine, "SELECT count(*) FROM enrollments WHERE order_token = :t", t=token
        )

    def lines(self, token: str) -> int:
        return count(
            self.engine,
            "SELECT jsonb_array_length(pricing -> 'lines') FROM orders WHERE token = :t",
            t=token,
        )

    def confirmations(self) -> list[str]:
        return sorted(n.order_token for n in self.mailer.sent if n.template == "confirmation")


Deploy = Callable[..., Deployment]


class WorkerDied(BaseException):
    """The worker's process ends here, as a SIGKILL would end it."""


@frozen
class DiesBeforeTheFirstConfirmation:
    """Sends through ``mailer``, but the process dies the first time a confirmation is due."""

    mailer: RecordingNotificationSender
    died: list[str]

    def send(self, notification: Notification) -> None:
        if notification.template == "confirmation" and not self.died:
            self.died.append(notification.order_token)
            raise WorkerDied
        self.mailer.send(notification)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, persisting nothing: flushing it touches no one else."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.close()


@pytest.fixture
def deploy(
    postgres_engine: Engine, postgres_url: URL, redis_server: RedisServer
) -> Iterator[Deploy]:
    opened: list[Served] = []
    clients: list[Redis] = []

    def make(job_settings: JobSettings, *, dies: bool = False) -> Deployment:
        settings = ServerSettings(
            database_url=postgres_url.render_as_string(hide_password=False),
            redis_url=redis_server.url,
        )
        clock = FixedClock(datetime.now(UTC))
        mailer = RecordingNotificationSender()
        sender: NotificationSender = DiesBeforeTheFirstConfirmation(mailer, []) if dies else mailer
        server = served(settings, clock=clock, notifications=sender)
        opened.append(server)
        redis = Redis.from_url(redis_server.url, socket_timeout=5)
        clients.append(redis)
        runner = job_runner(server, settings, job_settings, clock)
        return Deployment(server, runner, clock, mailer, redis, postgres_engine)

    yield make
    for client in clients:
        client.close()
    for server in opened:
        server.close()


def test_paid_orders_whose_events_redis_lost_complete_once_after_the_job_publishes_them_again(
    deploy: Deploy, postgres_engine: Engine, tmp_path: Path
) -> None:
    tokens = pay_orders(postgres_engine, 3)
    deployment = deploy(JobSettings(reports_dir=tmp_path))
    assert deployment.relay() == 3
    paid_events = deployment.streamed_event_ids()
    assert len(paid_events) == 3

    deployment.redis.flushall()  # a restart without persistence, before any worker read them

    assert deployment.work() == 0
    assert deployment.statuses(tokens) == ["paid"] * 3
    deployment.clock.advance(timedelta(minutes=9))
    assert deployment.redeliver() == {"stalled": 0, "unfinished": 0, "republished": 0}
    deployment.clock.advance(timedelta(minutes=2))
    assert deployment.redeliver() == {"stalled": 3, "unfinished": 0, "republished": 3}
    assert deployment.relay() == 3
    assert sorted(deployment.streamed_event_ids()) == sorted(paid_events)
    assert deployment.work() == 3

    assert deployment.statuses(tokens) == ["completed"] * 3
    for token in tokens:
        assert deployment.enrollments(token) == deployment.lines(token) == 1
    assert deployment.confirmations() == sorted(tokens)
    assert group_backlog(deployment.redis, STREAM, GROUP) == 0
    deployment.clock.advance(timedelta(hours=1))
    assert deployment.redeliver() == {"stalled": 0, "unfinished": 0, "republished": 0}
    assert deployment.relay() == 0


def test_an_order_republished_while_its_event_waited_in_redis_is_handled_once_from_both_copies(
    deploy: Deploy, postgres_engine: Engine, tmp_path: Path
) -> None:
    # The worker was down, not the broker; the delay comes from CHECKOUT_REDELIVERY_DELAY.
    (token,) = pay_orders(postgres_engine, 1)
    job_settings = JobSettings.from_env(
        {"CHECKOUT_REPORTS_DIR": str(tmp_path), "CHECKOUT_REDELIVERY_DELAY": "60"}
    )
    deployment = deploy(job_settings)
    assert deployment.relay() == 1
    deployment.clock.advance(timedelta(minutes=2))

    assert deployment.redeliver() == {"stalled": 1, "unfinished": 0, "republished": 1}
    assert deployment.relay() == 1
    (original, copy) = deployment.streamed_event_ids()
    assert original == copy
    assert deployment.work() == 2

    assert deployment.statuses([token]) == ["completed"]
    assert deployment.enrollments(token) == 1
    assert deployment.confirmations() == [token]
    assert group_backlog(deployment.redis, STREAM, GROUP) == 0
    handled = count(
        postgres_engine,
        "SELECT count(*) FROM webhook_inbox"
        " WHERE provider = 'consumer:enrollment' AND status = 'applied'",
    )
    assert handled == 1


def test_an_order_completed_by_a_worker_that_died_before_confirming_is_confirmed_once(
    deploy: Deploy, postgres_engine: Engine, tmp_path: Path
) -> None:
    (token,) = pay_orders(postgres_engine, 1)
    deployment = deploy(JobSettings(reports_dir=tmp_path), dies=True)
    assert deployment.relay() == 1
    with pytest.raises(WorkerDied):
        deployment.work()  # the order is completed and enrolled; no confirmation went out
    assert deployment.statuses([token]) == ["completed"]
    deployment.redis.flushall()  # and the message the dead worker held is lost with Redis

    deployment.clock.advance(timedelta(minutes=11))
    assert deployment.redeliver() == {"stalled": 0, "unfinished": 1, "republished": 1}
    assert deployment.relay() == 1
    assert deployment.work() == 1

    assert deployment.enrollments(token) == deployment.lines(token) == 1
    assert deployment.confirmations() == [token]
    deployment.clock.advance(timedelta(hours=1))
    assert deployment.redeliver() == {"stalled": 0, "unfinished": 0, "republished": 0}
