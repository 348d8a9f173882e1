from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from operator import methodcaller

from redis import Redis

from checkout_adapters.redis import RedisBreakerStore
from checkout_core.domain.retry import BreakerState, CircuitBreaker

NOW = datetime(2024, 6, 15, 10, tzinfo=UTC)


def fail(store: RedisBreakerStore, at: datetime = NOW) -> None:
    store.update("gateway:razorpay", lambda breaker: (None, breaker.record_failure(at)))


def test_a_breaker_never_stored_is_closed(redis_client: Redis) -> None:
    assert RedisBreakerStore(redis_client).get("gateway:razorpay") == CircuitBreaker()


def test_failures_seen_by_different_processes_open_one_breaker(redis_client: Redis) -> None:
    # Two stores on one Redis stand for two processes of one host.
    first, second = RedisBreakerStore(redis_client), RedisBreakerStore(redis_client)
    for store in (first, second, first, second, first):
        fail(store)
    breaker = second.get("gateway:razorpay")
    assert (breaker.state, breaker.opened_at) == (BreakerState.OPEN, NOW)
    allowed = first.update("gateway:razorpay", methodcaller("allow", NOW + timedelta(seconds=59)))
    assert allowed is False


def test_one_probe_is_let_through_after_the_recovery_timeout(redis_client: Redis) -> None:
    store = RedisBreakerStore(redis_client)
    for _ in range(5):
        fail(store)
    later = NOW + timedelta(seconds=60)
    verdicts = [store.update("gateway:razorpay", methodcaller("allow", later)) for _ in range(3)]
    assert verdicts == [True, False, False]
    assert store.get("gateway:razorpay").state is BreakerState.HALF_OPEN
    store.update("gateway:razorpay", lambda breaker: (None, breaker.record_success(later)))
    assert store.get("gateway:razorpay") == CircuitBreaker()


def test_concurrent_failures_are_all_counted(redis_client: Redis) -> None:
    store = RedisBreakerStore(redis_client, template=CircuitBreaker(failure_threshold=1000))
    start = threading.Barrier(8)

    def fail_ten(_: int) -> None:
        start.wait()
        for _ in range(10):
            fail(store)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fail_ten, range(8)))

    assert store.get("gateway:razorpay").consecutive_failures == 80


def test_breakers_live_under_their_own_keys(redis_client: Redis) -> None:
    store = RedisBreakerStore(redis_client, prefix="shop:")
    fail(store)
    assert redis_client.exists("shop:{gateway:razorpay}") == 1
    assert RedisBreakerStore(redis_client).get("gateway:razorpay") == CircuitBreaker()
