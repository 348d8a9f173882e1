"""Redis failing in the middle of what the checkout does with it: no sale lost, nothing twice.

Each test runs a redis-server of its own and kills it (``SIGKILL``) or
stalls it (``SIGSTOP``) in the middle of a call: a request's, the relay's,
the worker's or a job's lock. The books are then read from the database.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import Engine

from checkout_adapters.bootstrap import Served, served
from checkout_adapters.demo import demo_catalog, seed_demo_catalog
from checkout_adapters.fastapi import checkout_app
from checkout_adapters.jobs.locks import LeasedJobLock
from checkout_adapters.jobs.model import Outcome
from checkout_adapters.jobs.wiring import job_lock
from checkout_adapters.memory import FixedClock, RecordingNotificationSender
from checkout_adapters.redis import RedisStreamQueue
from checkout_adapters.relay import OutboxRelay
from checkout_adapters.settings import ServerSettings
from checkout_adapters.sqlalchemy import make_engine
from checkout_adapters.system import SystemClock
from checkout_adapters.workers import WorkerLoop
from checkout_core.domain.events import DomainEvent
from checkout_core.domain.retry import RetryPolicy
from checkout_core.services import Checkout, CheckoutSettings, RetryWorker
from tests.fastapi_adapter.support import CART_BODY, TestClient, bearer, settings
from tests.integration.concurrency_support import build_checkout, count
from tests.integration.fulfilment_support import GROUP, group_backlog, pay_orders, wait_until
from tests.jobs.fakes import START, counting_job
from tests.jobs.fakes import runner as jobs_runner
from tests.redis_adapter.redis_server import RedisServer, running_redis

QUEUE_TIMEOUT = 0.5
"""Seconds the tests' queue clients wait for Redis: a stalled server fails a call that soon."""
VISIBILITY = timedelta(seconds=1)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path) as server:
        yield server


@pytest.fixture
def queue_client(redis_server: RedisServer) -> Iterator[Redis]:
    client = Redis.from_url(
        redis_server.url, socket_timeout=QUEUE_TIMEOUT + 1, socket_connect_timeout=QUEUE_TIMEOUT
    )
    yield client
    client.close()


def _fulfilment(engine: Engine, client: Redis) -> tuple[Checkout, RedisStreamQueue, RetryWorker]:
    checkout, _gateway = build_checkout(engine)
    queue = RedisStreamQueue(client, clock=SystemClock())
    worker = RetryWorker(
        queue, GROUP, "worker-1", checkout.fulfilment, checkout.alerts, visibility=VISIBILITY
    )
    return checkout, queue, worker


def _emails(checkout: Checkout) -> list[str]:
    sender = checkout.ports.notifications
    assert isinstance(sender, RecordingNotificationSender)
    return sorted(f"{sent.template} {sent.order_token}" for sent in sender.sent)


def _assert_each_order_fulfilled_once(
    engine: Engine, checkout: Checkout, tokens: Sequence[str]
) -> None:
    assert count(engine, "SELECT count(*) FROM orders WHERE status = 'completed'") == len(tokens)
    assert count(engine, "SELECT count(*) FROM enrollments") == len(tokens)
    assert _emails(checkout) == sorted(f"confirmation {token}" for token in tokens)


def _drain(worker: RetryWorker, done: Callable[[], bool], *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"the worker did not finish in {timeout} s")
        try:
            worker.run_once(limit=32, wait=timedelta(milliseconds=100))
        except Exception:  # noqa: BLE001 - a round the fault cut short; the next one goes on
            time.sleep(0.05)


class _StallsRedisAfter:
    """Publishes to ``queue``, and stalls Redis once ``after`` events are out."""

    def __init__(self, queue: RedisStreamQueue, server: RedisServer, after: int) -> None:
        self._queue = queue
        self._server = server
        self._after = after
        self.published = 0

    def publish(self, event: DomainEvent) -> None:
        if self.published == self._after:
            self._server.pause()
        self._queue.publish(event)
        self.published += 1


def test_a_relay_batch_cut_off_by_a_stalled_redis_is_published_again_and_handled_once(
    postgres_engine: Engine, redis_server: RedisServer, queue_client: Redis
) -> None:
    tokens = pay_orders(postgres_engine, 6)
    checkout, queue, worker = _fulfilment(postgres_engine, queue_client)
    stalling = _StallsRedisAfter(queue, redis_server, after=3)
    try:
        with pytest.raises(Exception, match="Timeout"):
            OutboxRelay(postgres_engine, stalling, clock=SystemClock()).relay_once()
    finally:
        redis_server.resume()
    # Three events reached the stream; the batch's transaction rolled back: none is marked.
    assert stalling.published == 3
    unsent = "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
    assert count(postgres_engine, unsent) == 6

    assert OutboxRelay(postgres_engine, queue, clock=SystemClock()).relay_once() == 6
    _drain(worker, lambda: group_backlog(queue_client, queue.stream, GROUP) == 0)

    assert queue_client.xlen(queue.stream) >= 9  # the first three went out twice
    _assert_each_order_fulfilled_once(postgres_engine, checkout, tokens)
    assert worker.dead_letters() == []


def test_a_worker_whose_blocking_read_is_cut_off_goes_on_once_redis_is_back(
    postgres_engine: Engine,
    redis_server: RedisServer,
    queue_client: Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="checkout_adapters.workers")
    checkout, queue, worker = _fulfilment(postgres_engine, queue_client)
    relay = OutboxRelay(postgres_engine, queue, clock=SystemClock())
    loop = WorkerLoop(relay, worker, limit=32, wait=timedelta(seconds=2))
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        time.sleep(0.5)  # the loop now blocks in XREADGROUP ... BLOCK 2000
        redis_server.kill()
        time.sleep(1.5)  # rounds fail while Redis is gone
        tokens = pay_orders(postgres_engine, 4)
        redis_server.start()  # empty: the group is made again
        wait_until(
            lambda: count(postgres_engine, "SELECT count(*) FROM enrollments") == 4,
            "the orders paid while Redis was down are fulfilled",
        )
    finally:
        stop.set()
        thread.join(10)
    _assert_each_order_fulfilled_once(postgres_engine, checkout, tokens)
    logged = [record.getMessage() for record in caplog.records]
    assert any("failed; trying again every second" in line for line in logged), logged
    assert any(" works again after " in line for line in logged), logged
    assert not thread.is_alive()


class _StallsRedisOnce:
    """The queue, but Redis stalls just as the first call named in ``calls`` is made."""

    def __init__(self, queue: RedisStreamQueue, server: RedisServer, *calls: str) -> None:
        self._queue = queue
        self._server = server
        self._calls = calls
        self.stalled = False

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._queue, name)
        if name not in self._calls:
            return method

        def stalling(*args: Any, **kwargs: Any) -> Any:
            if not self.stalled:
                self.stalled = True
                self._server.pause()
            return method(*args, **kwargs)

        return stalling


def _stalling_worker(
    checkout: Checkout, queue: _StallsRedisOnce, *, policy: RetryPolicy | None = None
) -> RetryWorker:
    return RetryWorker(
        queue,
        GROUP,
        "worker-1",
        checkout.fulfilment,
        checkout.alerts,
        policy=policy or RetryPolicy(),
        visibility=VISIBILITY,
    )


def _round_cut_off(worker: RetryWorker, server: RedisServer) -> None:
    try:
        with pytest.raises(Exception, match="Timeout"):
            worker.run_once(limit=32, wait=timedelta(milliseconds=100))
    finally:
        server.resume()


def test_a_delivery_whose_acknowledgement_was_cut_off_comes_back_and_is_skipped(
    postgres_engine: Engine, redis_server: RedisServer, queue_client: Redis
) -> None:
    tokens = pay_orders(postgres_engine, 3)
    checkout, queue, _worker = _fulfilment(postgres_engine, queue_client)
    worker = _stalling_worker(checkout, _StallsRedisOnce(queue, redis_server, "ack", "ack_many"))
    assert OutboxRelay(postgres_engine, queue, clock=SystemClock()).relay_once() == 3

    _round_cut_off(worker, redis_server)
    # The orders were fulfilled and recorded before the acknowledgement was lost.
    _assert_each_order_fulfilled_once(postgres_engine, checkout, tokens)

    time.sleep(VISIBILITY.total_seconds())
    _drain(worker, lambda: group_backlog(queue_client, queue.stream, GROUP) == 0)

    _assert_each_order_fulfilled_once(postgres_engine, checkout, tokens)
    assert worker.dead_letters() == []


def test_a_retry_whose_scheduling_was_cut_off_is_delivered_again_and_handled_once(
    postgres_engine: Engine, redis_server: RedisServer, queue_client: Redis
) -> None:
    tokens = pay_orders(postgres_engine, 2)
    checkout, queue, _worker = _fulfilment(postgres_engine, queue_client)
    sender = checkout.ports.notifications
    assert isinstance(sender, RecordingNotificationSender)
    sender.fail_next()  # the first confirmation fails: its message is to be retried
    quick = RetryPolicy(initial_delay=timedelta(milliseconds=200))
    worker = _stalling_worker(
        checkout, _StallsRedisOnce(queue, redis_server, "retry_later"), policy=quick
    )
    assert OutboxRelay(postgres_engine, queue, clock=SystemClock()).relay_once() == 2

    _round_cut_off(worker, redis_server)
    time.sleep(VISIBILITY.total_seconds())
    due = f"{queue.stream}:due:{{{GROUP}}}"
    _drain(
        worker,
        lambda: (
            group_backlog(queue_client, queue.stream, GROUP) == 0
            and queue_client.zcard(due) == 0
            and group_backlog(queue_client, f"{queue.stream}:retry:{{{GROUP}}}", GROUP) == 0
        ),
    )

    # The message came back (its copy too) and each order was confirmed once.
    _assert_each_order_fulfilled_once(postgres_engine, checkout, tokens)
    assert worker.dead_letters() == []


def test_a_dead_letter_whose_acknowledgement_was_cut_off_is_kept_and_replayed_once(
    postgres_engine: Engine, redis_server: RedisServer, queue_client: Redis
) -> None:
    (token,) = pay_orders(postgres_engine, 1)
    checkout, queue, _worker = _fulfilment(postgres_engine, queue_client)
    sender = checkout.ports.notifications
    assert isinstance(sender, RecordingNotificationSender)
    sender.fail_next(2)  # the confirmation fails, and fails again when the message comes back
    once = RetryPolicy(max_attempts=1)
    stalling = _StallsRedisOnce(queue, redis_server, "dead_letter")
    worker = _stalling_worker(checkout, stalling, policy=once)
    assert OutboxRelay(postgres_engine, queue, clock=SystemClock()).relay_once() == 1

    _round_cut_off(worker, redis_server)  # Redis stalls as the message is dead-lettered
    time.sleep(VISIBILITY.total_seconds())
    _drain(worker, lambda: group_backlog(queue_client, queue.stream, GROUP) == 0)

    # Nothing is lost: the event is a dead letter (listed again for each delivery that
    # failed before it was acknowledged), and replaying the letters handles it once.
    letters = worker.dead_letters()
    assert {letter.event.order_token for letter in letters} == {token}
    assert worker.replay() == len(letters)
    _drain(
        worker,
        lambda: group_backlog(queue_client, f"{queue.stream}:retry:{{{GROUP}}}", GROUP) == 0,
    )
    _assert_each_order_fulfilled_once(postgres_engine, checkout, [token])
    assert worker.dead_letters() == []


def test_a_job_whose_redis_lock_cannot_be_taken_fails_its_run_and_runs_once_redis_is_back(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    server_settings = ServerSettings(
        database_url=f"sqlite:///{tmp_path / 'checkout.db'}", redis_url=redis_server.url
    )
    engine = make_engine(server_settings.database_url)
    clock = FixedClock(START)
    lock = job_lock(server_settings, engine, clock)
    assert isinstance(lock, LeasedJobLock)
    runs: list[tuple[str, datetime]] = []
    job = counting_job("carts.cleanup", timedelta(minutes=15), runs)
    runner = jobs_runner(clock, lock)
    try:
        redis_server.kill()
        failed = runner.run(job)
        redis_server.start()
        ran = runner.run(job)
    finally:
        engine.dispose()
    # Without Redis nobody can tell who holds the lock: the run fails, and nothing runs.
    assert failed.outcome is Outcome.FAILED
    assert failed.error is not None
    assert failed.error.startswith("lock: ")
    assert ran.outcome is Outcome.OK
    assert runs == [("carts.cleanup", START)]


def test_a_server_sells_while_redis_is_killed_and_completes_the_paid_orders_once_it_is_back(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    server_settings = ServerSettings(
        database_url=f"sqlite:///{tmp_path / 'checkout.db'}", redis_url=redis_server.url
    )
    with served(
        server_settings, checkout_settings=CheckoutSettings(tax=demo_catalog().tax)
    ) as server:
        seed_demo_catalog(server.catalog, demo_catalog())
        server.start()
        client = TestClient(checkout_app(server.checkout, settings(), metrics=server.metrics))
        first = _buy(client, server, "buyer_0")
        _wait_for_completion(server, [first])

        redis_server.kill()
        during = [_buy(client, server, f"buyer_{number}", coupon="SAVE20") for number in (1, 2, 3)]
        exposition = client.get("/metrics").text
        redis_server.start()  # empty: what the relay could not publish waits in the outbox
        _wait_for_completion(server, [first, *during])

    for port in ("breakers", "cart_cache", "idempotency_cache", "rate_limiter"):
        pattern = rf'checkout_redis_degradations_total{{operation="\w+",port="{port}"}} [1-9]'
        assert re.search(pattern, exposition), port
    engine = make_engine(server_settings.database_url)
    try:
        assert count(engine, "SELECT count(*) FROM enrollments") == 4
        assert count(engine, "SELECT used FROM coupons WHERE code = 'SAVE20'") == 3
    finally:
        engine.dispose()


def _buy(client: TestClient, server: Served, user: str, *, coupon: str | None = None) -> str:
    """A buyer through the paid flow over HTTP, paying on the sandbox; the order's token."""
    headers = bearer(user)
    created = client.post("/api-proxy/api/cart", json=CART_BODY)
    assert created.status_code == 200, created.text
    cart = created.json()["data"]["cart"]["cart_token"]
    estimate = client.post("/api/v1/cart/estimate", json={"cart_token": cart}, headers=headers)
    assert estimate.status_code == 200, estimate.text
    if coupon is not None:
        applied = client.post(
            f"/api/v1/cart/{cart}/coupon", json={"coupon": coupon}, headers=headers
        )
        assert applied.status_code == 200, applied.text
    ordered = client.post(
        "/api/v1/order",
        json={"cart_token": cart, "idempotency_key": f"idem_{uuid.uuid4().hex}"},
        headers=headers,
    )
    assert ordered.status_code == 200, ordered.text
    order = ordered.json()["data"]["order"]
    assert order["status"] == "awaiting_payment"
    assert server.sandbox is not None
    server.sandbox.complete_payment("razorpay", order["provider_order_id"])
    token: str = order["order_token"]
    return token


def _wait_for_completion(server: Served, tokens: Sequence[str]) -> None:
    def completed() -> bool:
        with server.checkout.ports.unit_of_work() as uow:
            orders = uow.orders.get_many(tokens)
        return all(order.status.value == "completed" for order in orders.values())

    wait_until(completed, f"orders {tokens} completed")
