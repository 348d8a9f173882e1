"""The server's composition root: ``served()`` with and without Redis, end to end on SQLite."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import inspect

from checkout_adapters.bootstrap import Served, served, webhook_receiver
from checkout_adapters.demo import demo_catalog, seed_demo_catalog
from checkout_adapters.memory import InMemoryBreakerStore, InMemoryCartCache, InMemoryRateLimiter
from checkout_adapters.observability import MeteredCartCache
from checkout_adapters.redis import (
    DegradingBreakerStore,
    DegradingCartCache,
    DegradingIdempotencyCache,
    DegradingRateLimiter,
    RedisBreakerStore,
    RedisCartCache,
    RedisIdempotencyCache,
    RedisRateLimiter,
    RedisStreamQueue,
)
from checkout_adapters.resilience import GuardedGateway
from checkout_adapters.settings import ConfigurationError, ServerSettings
from checkout_adapters.sqlalchemy import SqlOutboxQueue
from checkout_core.domain.cart import CartLine
from checkout_core.domain.catalog import Period
from checkout_core.domain.orders import OrderStatus
from checkout_core.services import CheckoutSettings
from tests.redis_support import REDIS_URL, reachable_redis

CHECKOUT_SETTINGS = CheckoutSettings(tax=demo_catalog().tax)


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = reachable_redis()
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


def _settings(tmp_path: Path, **variables: str) -> ServerSettings:
    database = tmp_path / "checkout.db"
    return ServerSettings.from_env({"CHECKOUT_DATABASE_URL": f"sqlite:///{database}", **variables})


def _pay_and_wait_for_enrollment(server: Served) -> list[str]:
    """Order int_123 as a buyer, pay it on the sandbox, and wait for the worker's enrollment."""
    seed_demo_catalog(server.catalog, demo_catalog())
    checkout = server.checkout
    cart = checkout.carts.create_cart([CartLine("int_123", Period(3, "month"))]).unwrap()
    placed = checkout.orders.create_from_cart(cart.token, f"idem_{uuid.uuid4().hex}", "user_42")
    receipt = placed.unwrap().receipt
    assert receipt.status == OrderStatus.AWAITING_PAYMENT
    assert receipt.provider_ref is not None
    assert server.sandbox is not None
    server.sandbox.complete_payment("razorpay", receipt.provider_ref)
    deadline = time.monotonic() + 15
    status = None
    while time.monotonic() < deadline:
        with checkout.ports.unit_of_work() as uow:
            order = uow.orders.get(receipt.order_token)
            enrollments = uow.enrollments.for_order(receipt.order_token)
        assert order is not None
        status = order.status
        if status is OrderStatus.COMPLETED and enrollments:
            return [enrollment.id for enrollment in enrollments]
        time.sleep(0.05)
    pytest.fail(f"order {receipt.order_token} did not complete: it is {status}")


def test_without_redis_the_shared_state_is_in_memory_and_the_worker_reads_the_outbox(
    tmp_path: Path,
) -> None:
    with served(_settings(tmp_path), checkout_settings=CHECKOUT_SETTINGS) as server:
        ports = server.checkout.ports
        assert isinstance(server.breakers, InMemoryBreakerStore)
        assert isinstance(ports.gateway, GuardedGateway)
        assert ports.gateway.breakers is server.breakers
        assert isinstance(ports.cart_cache, MeteredCartCache)
        assert ports.cart_cache.metrics is server.metrics
        assert isinstance(ports.cart_cache.inner, InMemoryCartCache)
        # Rate limits still apply within the one process.
        assert isinstance(ports.rate_limiter, InMemoryRateLimiter)
        assert ports.idempotency_cache is None
        assert isinstance(server.worker.queue, SqlOutboxQueue)
        assert server.relay is None
        assert "orders" in inspect(server.engine).get_table_names()


def test_without_redis_a_paid_order_completes_through_the_worker_thread(tmp_path: Path) -> None:
    with served(_settings(tmp_path), checkout_settings=CHECKOUT_SETTINGS) as server:
        before = server.running
        server.start()
        started = server.running
        enrollments = _pay_and_wait_for_enrollment(server)
    assert (before, started, server.running) == (False, True, False)
    assert len(enrollments) == 1
    assert enrollments[0].startswith("enr_")


def test_with_redis_the_breakers_caches_limits_and_queue_live_in_redis(
    tmp_path: Path, redis_url: str
) -> None:
    settings = _settings(tmp_path, CHECKOUT_REDIS_URL=redis_url)
    with served(settings, checkout_settings=CHECKOUT_SETTINGS) as server:
        ports = server.checkout.ports
        assert isinstance(server.breakers, DegradingBreakerStore)
        assert isinstance(server.breakers.inner, RedisBreakerStore)
        assert isinstance(ports.gateway, GuardedGateway)
        assert ports.gateway.breakers is server.breakers
        assert isinstance(ports.cart_cache, MeteredCartCache)
        assert isinstance(ports.cart_cache.inner, DegradingCartCache)
        assert isinstance(ports.cart_cache.inner.inner, RedisCartCache)
        assert isinstance(ports.rate_limiter, DegradingRateLimiter)
        assert isinstance(ports.rate_limiter.inner, RedisRateLimiter)
        assert isinstance(ports.idempotency_cache, DegradingIdempotencyCache)
        assert isinstance(ports.idempotency_cache.inner, RedisIdempotencyCache)
        assert isinstance(server.worker.queue, RedisStreamQueue)
        assert server.relay is not None


def test_with_redis_the_gateways_breaker_is_written_to_redis(
    tmp_path: Path, redis_url: str
) -> None:
    settings = _settings(tmp_path, CHECKOUT_REDIS_URL=redis_url)
    with served(settings, checkout_settings=CHECKOUT_SETTINGS) as server:
        server.start()
        _pay_and_wait_for_enrollment(server)
    client = Redis.from_url(redis_url)
    try:
        stored = client.hgetall("checkout:breaker:{gateway:razorpay}")
        # The order's session went through the guard, which recorded its success.
        assert stored[b"state"] == b"closed"
        assert client.xlen("checkout:events") >= 1
    finally:
        client.close()


def test_with_redis_a_paid_order_completes_through_the_relay_and_streams(
    tmp_path: Path, redis_url: str
) -> None:
    settings = _settings(tmp_path, CHECKOUT_REDIS_URL=redis_url)
    with served(settings, checkout_settings=CHECKOUT_SETTINGS) as server:
        server.start()
        assert len(_pay_and_wait_for_enrollment(server)) == 1


def test_the_metrics_count_cart_cache_reads_and_watch_the_database_pool(tmp_path: Path) -> None:
    with served(_settings(tmp_path), checkout_settings=CHECKOUT_SETTINGS) as server:
        seed_demo_catalog(server.catalog, demo_catalog())
        cart = server.checkout.carts.create_cart([CartLine("int_123", Period(1, "month"))])
        server.checkout.pricing.calculate(cart.unwrap().token, None).unwrap()
        exposition = server.metrics.render()[0].decode()
    reads = [
        line
        for line in exposition.splitlines()
        if line.startswith("checkout_cache_requests_total{") and 'cache="cart"' in line
    ]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in reads) >= 1
    assert "checkout_db_pool_size" in exposition


def test_the_sandbox_pay_page_sends_the_buyer_back_to_the_return_url(tmp_path: Path) -> None:
    with served(
        _settings(tmp_path),
        checkout_settings=CHECKOUT_SETTINGS,
        return_url="http://127.0.0.1:9/checkout/return",
    ) as server:
        seed_demo_catalog(server.catalog, demo_catalog())
        cart = server.checkout.carts.create_cart([CartLine("int_123", Period(1, "month"))])
        placed = server.checkout.orders.create_from_cart(cart.unwrap().token, "idem_1", "u1")
        checkout_url = placed.unwrap().receipt.checkout_url
    assert checkout_url is not None
    assert checkout_url.endswith("?callback_url=http%3A%2F%2F127.0.0.1%3A9%2Fcheckout%2Freturn")


def test_closing_stops_the_sandbox(tmp_path: Path) -> None:
    server = served(_settings(tmp_path))
    sandbox = server.sandbox
    assert sandbox is not None
    assert sandbox.base_url.startswith("http://127.0.0.1:")
    server.close()
    with pytest.raises(RuntimeError, match="not running"):
        _ = sandbox.base_url


def test_a_worker_cannot_be_started_twice(tmp_path: Path) -> None:
    with served(_settings(tmp_path)) as server:
        server.start()
        with pytest.raises(RuntimeError, match="running already"):
            server.start()


def test_a_bad_webhook_is_answered_with_its_errors_status(tmp_path: Path) -> None:
    with served(_settings(tmp_path)) as server:
        receive = webhook_receiver(server.checkout)
        status = receive("razorpay", {"X-Razorpay-Signature": "forged"}, b"{}")
    assert status == 400


def test_stripe_without_a_return_url_names_the_public_url(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        CHECKOUT_GATEWAY="stripe",
        CHECKOUT_STRIPE_API_KEY="sk_test_x",
        CHECKOUT_STRIPE_WEBHOOK_SECRET="whsec_x",
    )
    with pytest.raises(ConfigurationError, match="CHECKOUT_PUBLIC_URL is not set"):
        served(settings)


def test_stripe_with_a_return_url_takes_payments_through_stripe(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        CHECKOUT_GATEWAY="stripe",
        CHECKOUT_STRIPE_API_KEY="sk_test_x",
        CHECKOUT_STRIPE_WEBHOOK_SECRET="whsec_x",
    )
    with served(settings, return_url="https://shop.example.com/checkout/return") as server:
        assert server.sandbox is None
        assert server.checkout.ports.gateway.provider == "stripe"


def test_razorpay_takes_payments_through_razorpay_with_its_keys(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        CHECKOUT_GATEWAY="razorpay",
        CHECKOUT_RAZORPAY_KEY_ID="rzp_test_x",
        CHECKOUT_RAZORPAY_KEY_SECRET="secret",
        CHECKOUT_RAZORPAY_WEBHOOK_SECRET="webhook",
    )
    with served(settings) as server:
        assert server.sandbox is None
        assert server.checkout.ports.gateway.provider == "razorpay"
