"""A PostgreSQL connection killed in the middle of a transaction: a retried success or a clean 503.

The server ends the connection (``pg_terminate_backend``) just as a chosen
statement is about to run: in a request, in the worker's batch, in a job's
batch. What the killed transaction wrote is rolled back; the use case runs
again on a new connection; if the fault outlasts its tries the HTTP answer
is a 503 with ``Retry-After`` and the error envelope, never a 500, and
nothing of the request is left behind. The pool recovers by itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import URL, Engine

from checkout_adapters.demo import demo_catalog
from checkout_adapters.fastapi import checkout_app
from checkout_adapters.jobs import JobContext, JobRunner, LeasedJobLock, Outcome, ProgressHook
from checkout_adapters.jobs.registry import job_named
from checkout_adapters.memory import (
    FakeGateway,
    FixedClock,
    InMemoryLock,
    RecordingAlertSink,
    RecordingAnalyticsTracker,
    RecordingNotificationSender,
)
from checkout_adapters.sqlalchemy import SqlOutboxQueue, SqlUnitOfWorkFactory, make_engine
from checkout_adapters.system import RandomIds, SystemClock
from checkout_core.domain.payment_events import PaymentEventKind
from checkout_core.ports import Clock
from checkout_core.services import Checkout, CheckoutPorts, CheckoutSettings, RetryWorker
from checkout_core.services._seam import ATTEMPTS
from tests.fastapi_adapter.support import TestClient, bearer, settings
from tests.integration.concurrency_support import count, open_cart, seed_catalog
from tests.integration.database_faults import ConnectionKiller, statement_starting
from tests.integration.fulfilment_support import pay_orders

PAID_CART: dict[str, Any] = {
    "products": [{"internship_id": "int_123", "period": {"value": 3, "unit": "month"}}]
}


@pytest.fixture
def engine(postgres_engine: Engine, postgres_url: URL) -> Iterator[Engine]:
    """An engine of the test's own on the emptied database, so its watchers end with it."""
    del postgres_engine  # emptied the tables
    own = make_engine(postgres_url)
    yield own
    own.dispose()


def _checkout(engine: Engine, clock: Clock | None = None) -> tuple[Checkout, FakeGateway]:
    gateway = FakeGateway("whsec_faults", clock=clock or SystemClock())
    ports = CheckoutPorts(
        unit_of_work=SqlUnitOfWorkFactory(engine),
        gateway=gateway,
        clock=gateway.clock,
        ids=RandomIds(),
        notifications=RecordingNotificationSender(),
        analytics=RecordingAnalyticsTracker(),
        alerts=RecordingAlertSink(),
    )
    return Checkout.build(ports, CheckoutSettings(tax=demo_catalog().tax)), gateway


def _client(checkout: Checkout) -> TestClient:
    # A 500 would be raised in the test; the app must answer every fault itself.
    return TestClient(checkout_app(checkout, settings()), raise_server_exceptions=True)


def _cart(client: TestClient, user: str, *, coupon: str | None = None) -> str:
    created = client.post("/api-proxy/api/cart", json=PAID_CART)
    assert created.status_code == 200, created.text
    token: str = created.json()["data"]["cart"]["cart_token"]
    bound = client.post(f"/api/v1/cart/{token}/auth/check", headers=bearer(user))
    assert bound.status_code == 200, bound.text
    if coupon is not None:
        applied = client.post(
            f"/api/v1/cart/{token}/coupon", json={"coupon": coupon}, headers=bearer(user)
        )
        assert applied.status_code == 200, applied.text
    return token


def _order(client: TestClient, cart: str, key: str, user: str) -> Any:
    return client.post(
        "/api/v1/order", json={"cart_token": cart, "idempotency_key": key}, headers=bearer(user)
    )


def test_an_order_whose_connection_is_killed_mid_transaction_is_placed_by_a_second_try(
    engine: Engine, postgres_url: URL
) -> None:
    checkout, _gateway = _checkout(engine)
    seed_catalog(engine, checkout)
    client = _client(checkout)
    cart = _cart(client, "user_1", coupon="SAVE20")
    inserting = statement_starting("INSERT INTO orders")

    with ConnectionKiller(engine, postgres_url, inserting) as killer:
        placed = _order(client, cart, "idem-killed-once", "user_1")

    assert killer.killed == 1
    assert placed.status_code == 200, placed.text
    assert placed.json()["data"]["order"]["status"] == "awaiting_payment"
    assert count(engine, "SELECT count(*) FROM orders") == 1
    assert count(engine, "SELECT count(*) FROM payments") == 1
    assert count(engine, "SELECT used FROM coupons WHERE code = 'SAVE20'") == 1
    assert count(engine, "SELECT count(*) FROM coupon_redemptions") == 1
    assert count(engine, "SELECT count(*) FROM idempotency_keys WHERE state = 'completed'") == 1


def test_an_order_whose_fault_outlasts_the_tries_is_a_503_that_leaves_nothing_behind(
    engine: Engine, postgres_url: URL
) -> None:
    checkout, _gateway = _checkout(engine)
    seed_catalog(engine, checkout)
    client = _client(checkout)
    cart = _cart(client, "user_1", coupon="SAVE20")
    inserting = statement_starting("INSERT INTO orders")

    with ConnectionKiller(engine, postgres_url, inserting, times=ATTEMPTS) as killer:
        refused = _order(client, cart, "idem-killed-always", "user_1")

    assert killer.killed == ATTEMPTS
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"] == "1"
    body = refused.json()
    assert (body["success"], body["error"]["code"]) == (False, 6005)
    assert "postgres" not in refused.text.lower()
    for table in ("orders", "payments", "coupon_redemptions", "idempotency_keys", "outbox"):
        assert count(engine, f"SELECT count(*) FROM {table}") == 0, table  # noqa: S608 - names
    assert count(engine, "SELECT used FROM coupons WHERE code = 'SAVE20'") == 0

    # The pool mended itself: the same request, tried again as Retry-After says, goes through.
    again = _order(client, cart, "idem-killed-always", "user_1")
    assert again.status_code == 200, again.text
    assert count(engine, "SELECT count(*) FROM orders") == 1
    assert count(engine, "SELECT used FROM coupons WHERE code = 'SAVE20'") == 1


def _placed_and_delivery(
    checkout: Checkout, gateway: FakeGateway, client: TestClient
) -> tuple[str, dict[str, str], bytes]:
    cart = _cart(client, "user_1")
    placed = _order(client, cart, f"idem-{uuid.uuid4().hex}", "user_1").json()["data"]["order"]
    headers, body = gateway.webhook(
        event_id=f"evt_{uuid.uuid4().hex}",
        type="payment.captured",
        provider_ref=placed["provider_order_id"],
        kind=PaymentEventKind.CAPTURED,
        amount=placed["total"],
    )
    del checkout
    return placed["order_token"], headers, body


@pytest.mark.parametrize("kills", [1, ATTEMPTS], ids=["killed-once", "killed-every-try"])
def test_a_webhook_whose_connection_is_killed_is_applied_once_by_a_try_or_by_the_providers_retry(
    engine: Engine, postgres_url: URL, kills: int
) -> None:
    checkout, gateway = _checkout(engine)
    seed_catalog(engine, checkout)
    client = _client(checkout)
    order, headers, body = _placed_and_delivery(checkout, gateway, client)
    recording = statement_starting("INSERT INTO webhook_inbox")

    with ConnectionKiller(engine, postgres_url, recording, times=kills) as killer:
        first = client.post("/api/v1/webhooks/fake", content=body, headers=headers)
    assert killer.killed == kills
    if kills == ATTEMPTS:
        assert first.status_code == 503, first.text
        assert first.headers["Retry-After"] == "1"
        assert count(engine, "SELECT count(*) FROM webhook_inbox") == 0
        # The provider delivers it again later, as providers do after a 5xx.
        first = client.post("/api/v1/webhooks/fake", content=body, headers=headers)
    assert first.status_code == 200, first.text
    repeat = client.post("/api/v1/webhooks/fake", content=body, headers=headers)

    assert first.json()["data"]["outcome"] == "applied"
    assert repeat.json()["data"]["duplicate"] is True
    assert count(engine, "SELECT count(*) FROM orders WHERE status = 'paid'") == 1
    paid = "SELECT count(*) FROM outbox WHERE name = 'order.paid' AND payload->>'order_token' = :t"
    assert count(engine, paid, t=order) == 1


@pytest.mark.parametrize(
    "statement",
    ["UPDATE orders", "UPDATE webhook_inbox"],
    ids=["while-completing-the-orders", "while-recording-them-handled"],
)
def test_a_worker_batch_whose_connection_is_killed_fulfils_each_order_once(
    engine: Engine, postgres_url: URL, statement: str
) -> None:
    tokens = pay_orders(engine, 5)
    checkout, _gateway = _checkout(engine)
    queue = SqlOutboxQueue(engine, clock=checkout.ports.clock)
    worker = RetryWorker(queue, "enrollment", "worker-1", checkout.fulfilment, checkout.alerts)

    with ConnectionKiller(engine, postgres_url, statement_starting(statement)) as killer:
        handled = worker.run_once(limit=32, wait=timedelta(0))

    assert killer.killed == 1
    assert handled == 5
    assert count(engine, "SELECT count(*) FROM orders WHERE status = 'completed'") == 5
    assert count(engine, "SELECT count(*) FROM enrollments") == 5
    sender = checkout.ports.notifications
    assert isinstance(sender, RecordingNotificationSender)
    assert sorted(sent.order_token for sent in sender.sent) == sorted(tokens)
    assert count(engine, "SELECT count(*) FROM outbox_deliveries WHERE status = 'done'") == 5
    assert worker.dead_letters() == []


def test_a_job_batch_whose_connection_is_killed_expires_each_stale_order_once(
    engine: Engine, postgres_url: URL, tmp_path: Path
) -> None:
    clock = FixedClock(datetime.now(UTC) - timedelta(hours=3))
    checkout, _gateway = _checkout(engine, clock)
    seed_catalog(engine, checkout)
    for number in range(5):
        buyer = f"user_{number}"
        cart = open_cart(checkout, buyer, coupon="SAVE20" if number % 2 else None)
        checkout.orders.create_from_cart(cart, f"idem-{number}", buyer).unwrap()
    clock.advance(timedelta(hours=3))
    job = job_named("orders.sync")

    def context(on_progress: ProgressHook) -> JobContext:
        return JobContext(
            checkout=checkout,
            clock=clock,
            engine=engine,
            reports_dir=tmp_path,
            on_progress=on_progress,
        )

    runner = JobRunner(context=context, lock=LeasedJobLock(InMemoryLock(clock)), clock=clock)
    # The second order's expiry is cut off, in the middle of the batch's transaction.
    expiring = statement_starting("UPDATE orders")
    with ConnectionKiller(engine, postgres_url, expiring, skip=1) as killer:
        run = runner.run(job)

    assert killer.killed == 1
    assert run.outcome is Outcome.OK, run.error
    assert count(engine, "SELECT count(*) FROM orders WHERE status = 'expired'") == 5
    assert count(engine, "SELECT count(*) FROM outbox WHERE name = 'order.expired'") == 5
    assert count(engine, "SELECT used FROM coupons WHERE code = 'SAVE20'") == 0
    released = "SELECT count(*) FROM coupon_redemptions WHERE status = 'released'"
    assert count(engine, released) == 2
