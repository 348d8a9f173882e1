from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from attrs import define, field
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from checkout_adapters.demo import DEMO_NOW
from checkout_adapters.memory import (
    FakeGateway,
    FixedClock,
    InMemoryBreakerStore,
    InMemoryCartCache,
    InMemoryCatalog,
    InMemoryStore,
    InMemoryUnitOfWorkFactory,
    RecordingAlertSink,
    RecordingAnalyticsTracker,
    RecordingNotificationSender,
    SequentialIds,
)
from checkout_adapters.redis.breakers import RedisBreakerStore
from checkout_adapters.redis.cache import RedisCartCache
from checkout_adapters.redis.degradation import (
    Degradations,
    DegradingBreakerStore,
    DegradingCartCache,
    DegradingIdempotencyCache,
    DegradingLock,
    DegradingRateLimiter,
    redis_client,
)
from checkout_adapters.redis.idempotency import RedisIdempotencyCache
from checkout_adapters.redis.limits import RedisRateLimiter
from checkout_adapters.redis.lock import RedisLock
from checkout_adapters.resilience import GuardedGateway
from checkout_core.domain.cart import Cart, CartLine
from checkout_core.domain.catalog import Period
from checkout_core.domain.idempotency import IdempotencyRecord
from checkout_core.domain.limits import RateDecision, RateLimit
from checkout_core.domain.retry import BreakerState, CircuitBreaker
from checkout_core.ports import LockLease
from checkout_core.services import Checkout, CheckoutPorts, CheckoutSettings
from tests.redis_adapter.redis_server import RedisServer, free_port, running_redis
from tests.unit.services.world import CATALOG, ok

T = TypeVar("T")

LOGGER = "checkout_adapters.redis.degradation"
FAULTS = [
    pytest.param(RedisConnectionError("Connection refused"), id="connection"),
    pytest.param(RedisTimeoutError("Timeout reading from socket"), id="timeout"),
    pytest.param(OSError("Network is unreachable"), id="os"),
]
LOGIN = RateLimit("login", limit=5, period=timedelta(minutes=1))


# Fakes of the ports: each call raises the outage's error while there is one.


@define
class Outage:
    error: Exception | None = None
    calls: list[str] = field(factory=list)

    def call(self, operation: str) -> None:
        self.calls.append(operation)
        if self.error is not None:
            raise self.error


@define
class FlakyCartCache:
    """A cart cache in memory (the state Redis would hold) behind an outage."""

    outage: Outage
    entries: dict[str, Cart] = field(factory=dict)
    stuck: set[str] = field(factory=set)

    def get(self, token: str) -> Cart | None:
        self.outage.call("get")
        return self.entries.get(token)

    def put(self, cart: Cart, ttl: timedelta) -> None:
        if ttl <= timedelta(0):
            raise ValueError("a positive ttl")
        self.outage.call("put")
        self.entries[cart.token] = cart

    def invalidate(self, token: str) -> None:
        self.outage.call("invalidate")
        if token in self.stuck:
            raise RedisTimeoutError("Timeout reading from socket")
        self.entries.pop(token, None)


@define
class FlakyRateLimiter:
    outage: Outage

    def hit(self, limit: RateLimit, key: str) -> RateDecision:
        del key
        self.outage.call("hit")
        return RateDecision(allowed=True, remaining=limit.limit - 2)


@define
class FlakyIdempotencyCache:
    outage: Outage
    marks: dict[str, str] = field(factory=dict)
    records: dict[str, IdempotencyRecord] = field(factory=dict)

    def completed(self, key: str) -> IdempotencyRecord | None:
        self.outage.call("completed")
        return self.records.get(key)

    def claim(self, key: str, fingerprint: str, ttl: timedelta) -> bool:
        del ttl
        self.outage.call("claim")
        if key in self.marks or key in self.records:
            return False
        self.marks[key] = fingerprint
        return True

    def store(self, record: IdempotencyRecord) -> None:
        self.outage.call("store")
        self.marks.pop(record.key, None)
        self.records[record.key] = record

    def release(self, key: str) -> None:
        self.outage.call("release")
        self.marks.pop(key, None)


@define
class FlakyBreakerStore:
    """Breakers kept as Redis would keep them, behind an outage."""

    outage: Outage
    shared: InMemoryBreakerStore = field(factory=InMemoryBreakerStore)

    def get(self, name: str) -> CircuitBreaker:
        self.outage.call("get")
        return self.shared.get(name)

    def update(self, name: str, change: Callable[[CircuitBreaker], tuple[T, CircuitBreaker]]) -> T:
        self.outage.call("update")
        return self.shared.update(name, change)


@define
class FlakyLock:
    outage: Outage
    released: list[LockLease] = field(factory=list)

    def acquire(self, name: str, ttl: timedelta) -> LockLease | None:
        self.outage.call("acquire")
        return LockLease(name, 1, DEMO_NOW + ttl)

    def release(self, lease: LockLease) -> None:
        self.outage.call("release")
        self.released.append(lease)


def a_cart(token: str = "cart_1", months: int = 3) -> Cart:  # noqa: S107  # a cart token
    return Cart.open(
        token=token,
        lines=[CartLine("int_123", Period(months, "month"))],
        offerings=CATALOG.offerings,
        now=DEMO_NOW,
        ttl=timedelta(hours=24),
    )


def a_record(key: str = "key-1") -> IdempotencyRecord:
    begun = IdempotencyRecord.begin(key, "f" * 64, datetime(2024, 6, 15, tzinfo=UTC))
    return begun.complete(201, '{"ok": true}')


@pytest.fixture
def outage() -> Outage:
    return Outage()


@pytest.fixture
def counter() -> Degradations:
    return Degradations()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == LOGGER and record.levelno == logging.WARNING
    ]


# The counter.


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_counter_counts_per_port_and_operation_and_in_all() -> None:
    counter = Degradations()
    error = RedisConnectionError("down")
    for port, operation in [("cart_cache", "get"), ("cart_cache", "get"), ("lock", "acquire")]:
        counter.record(port, operation, error)
    assert counter.snapshot() == {"cart_cache.get": 2, "lock.acquire": 1, "total": 3}
    assert (counter.count("cart_cache", "get"), counter.count("cart_cache")) == (2, 2)
    assert (counter.count("cart_cache", "put"), counter.count("rate_limiter")) == (0, 0)
    assert counter.total == 3
    assert Degradations().snapshot() == {"total": 0}


def test_the_counter_logs_a_port_once_per_interval_and_counts_every_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ticks = Ticks()
    counter = Degradations(log_interval=10.0, monotonic=ticks)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    error = RedisTimeoutError("Timeout reading from socket")
    counter.record("cart_cache", "get", error)
    ticks.now += 5
    counter.record("cart_cache", "put", error)
    counter.record("cart_cache", "get", error)
    counter.record("lock", "acquire", error)  # another port has its own interval
    ticks.now += 5
    counter.record("cart_cache", "invalidate", error)
    first, other, later = warnings_of(caplog)
    assert "cart_cache.get failed with TimeoutError (Timeout reading from socket)" in first
    assert "(1 degradation(s) of cart_cache since its last report)" in first
    assert "lock.acquire failed with TimeoutError" in other
    assert "cart_cache.invalidate failed" in later
    assert "(3 degradation(s) of cart_cache since its last report)" in later
    assert counter.count("cart_cache") == 4
    assert counter.total == 5


def test_the_counter_loses_no_count_under_concurrent_records() -> None:
    counter = Degradations()
    error = RedisConnectionError("down")

    def record_many() -> None:
        for _ in range(2000):
            counter.record("rate_limiter", "hit", error)

    threads = [threading.Thread(target=record_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.snapshot() == {"rate_limiter.hit": 16_000, "total": 16_000}


# The cart cache.


@pytest.mark.parametrize("error", FAULTS)
def test_a_cache_fault_on_get_is_a_miss_counted_and_logged(
    error: Exception, outage: Outage, counter: Degradations, caplog: pytest.LogCaptureFixture
) -> None:
    inner = FlakyCartCache(outage)
    cache = DegradingCartCache(inner, counter)
    cart = a_cart()
    cache.put(cart, timedelta(hours=1))
    assert cache.get(cart.token) == cart
    outage.error = error
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert cache.get(cart.token) is None
    assert counter.snapshot() == {"cart_cache.get": 1, "total": 1}
    (line,) = warnings_of(caplog)
    assert f"cart_cache.get failed with {type(error).__name__} ({error})" in line
    outage.error = None
    assert cache.get(cart.token) == cart  # a failed read leaves nothing to invalidate


def test_a_failed_invalidation_is_never_served_and_is_retried_once_redis_answers(
    outage: Outage, counter: Degradations
) -> None:
    inner = FlakyCartCache(outage)
    cache = DegradingCartCache(inner, counter)
    cart, other = a_cart("cart_1"), a_cart("cart_2")
    cache.put(cart, timedelta(hours=1))
    outage.error = RedisConnectionError("down")
    cache.invalidate(cart.token)  # the cart was ordered: Redis still holds its old state
    assert (counter.count("cart_cache", "invalidate"), cache.pending) == (1, 1)
    outage.error = None
    # Redis is back with the stale entry: the next successful call removes it.
    assert cache.get(other.token) is None
    assert cart.token not in inner.entries
    assert cache.pending == 0
    assert counter.total == 1


def test_a_pending_token_is_a_miss_and_its_invalidation_goes_first(
    outage: Outage, counter: Degradations
) -> None:
    inner = FlakyCartCache(outage)
    cache = DegradingCartCache(inner, counter)
    cart = a_cart()
    cache.put(cart, timedelta(hours=1))
    outage.error = RedisTimeoutError("Timeout writing to socket")
    cache.invalidate(cart.token)
    assert cache.get(cart.token) is None  # Redis still down: a miss, the retry counted
    outage.error = None
    outage.calls.clear()
    assert cache.get(cart.token) is None  # never the stale entry, even with Redis back
    assert outage.calls == ["invalidate"]
    assert cart.token not in inner.entries
    assert counter.snapshot() == {
        "cart_cache.invalidate": 1,
        "cart_cache.retry": 1,
        "total": 2,
    }
    assert cache.get(cart.token) is None  # an ordinary miss now
    assert outage.calls == ["invalidate", "get"]


def test_a_failed_put_makes_the_older_state_pending_until_a_put_replaces_it(
    outage: Outage, counter: Degradations
) -> None:
    inner = FlakyCartCache(outage)
    cache = DegradingCartCache(inner, counter)
    old, new = a_cart(months=3), a_cart(months=6)
    cache.put(old, timedelta(hours=1))
    outage.error = RedisConnectionError("down")
    cache.put(new, timedelta(hours=1))  # the old state stays in Redis
    assert (counter.count("cart_cache", "put"), cache.pending) == (1, 1)
    outage.error = None
    assert inner.entries[old.token] == old
    assert cache.get(old.token) is None  # not the old state: the database is read instead
    cache.put(new, timedelta(hours=1))
    assert (cache.get(new.token), cache.pending) == (new, 0)


def test_a_successful_put_settles_a_pending_token(outage: Outage, counter: Degradations) -> None:
    cache = DegradingCartCache(FlakyCartCache(outage), counter)
    cart = a_cart()
    outage.error = RedisConnectionError("down")
    cache.invalidate(cart.token)
    outage.error = None
    cache.put(cart, timedelta(hours=1))
    assert (cache.pending, cache.get(cart.token)) == (0, cart)


def test_retries_stop_at_the_first_fault_and_keep_the_rest(
    outage: Outage, counter: Degradations
) -> None:
    inner = FlakyCartCache(outage, stuck={"cart_5"})
    cache = DegradingCartCache(inner, counter)
    outage.error = RedisConnectionError("down")
    for number in range(30):
        cache.invalidate(f"cart_{number}")
    outage.error = None
    assert cache.get("cart_x") is None  # retries cart_0 to cart_4, stops at cart_5
    assert cache.pending == 25
    assert counter.count("cart_cache", "retry") == 1
    inner.stuck.clear()
    assert cache.get("cart_x") is None  # 20 more
    assert cache.pending == 5
    assert cache.get("cart_x") is None
    assert cache.pending == 0


def test_past_max_pending_the_oldest_token_is_forgotten_and_counted(
    outage: Outage, counter: Degradations
) -> None:
    cache = DegradingCartCache(FlakyCartCache(outage), counter, max_pending=2)
    outage.error = RedisConnectionError("down")
    for token in ("cart_1", "cart_2", "cart_3"):
        cache.invalidate(token)
    assert cache.pending == 2
    assert counter.snapshot() == {
        "cart_cache.forgotten": 1,
        "cart_cache.invalidate": 3,
        "total": 4,
    }


def test_what_is_not_a_redis_fault_propagates(outage: Outage, counter: Degradations) -> None:
    cache = DegradingCartCache(FlakyCartCache(outage), counter)
    with pytest.raises(ValueError, match="positive"):
        cache.put(a_cart(), timedelta(0))
    outage.error = RuntimeError("a bug")
    with pytest.raises(RuntimeError, match="a bug"):
        cache.get("cart_1")
    assert counter.total == 0


def test_with_a_pause_a_fault_spares_redis_the_next_calls_for_that_long(
    outage: Outage,
) -> None:
    ticks = Ticks()
    counter = Degradations(monotonic=ticks)
    cache = DegradingCartCache(FlakyCartCache(outage), counter, pause=0.5)
    lock = DegradingLock(FlakyLock(outage), counter, pause=0.5)
    outage.error = RedisTimeoutError("Timeout reading from socket")
    assert cache.get("cart_1") is None
    outage.error = None
    outage.calls.clear()
    ticks.now += 0.4
    assert cache.get("cart_1") is None
    cache.put(a_cart("cart_2"), timedelta(hours=1))
    assert lock.acquire("cleanup", timedelta(minutes=1)) is not None  # a pause of its own
    assert outage.calls == ["acquire"]
    assert counter.snapshot() == {"cart_cache.get": 2, "cart_cache.put": 1, "total": 3}
    assert cache.pending == 1  # the put that was not tried may have left an older state
    ticks.now += 0.2
    assert cache.get("cart_1") is None
    assert outage.calls == ["acquire", "get", "invalidate"]
    assert cache.pending == 0


def test_a_pause_is_not_negative(counter: Degradations, outage: Outage) -> None:
    with pytest.raises(ValueError, match="not negative"):
        DegradingLock(FlakyLock(outage), counter, pause=-1)


def test_the_wrapper_works_around_any_cart_cache(counter: Degradations) -> None:
    cache = DegradingCartCache(InMemoryCartCache(FixedClock(DEMO_NOW)), counter)
    cart = a_cart()
    cache.put(cart, timedelta(hours=1))
    assert cache.get(cart.token) == cart
    cache.invalidate(cart.token)
    assert (cache.get(cart.token), counter.total) == (None, 0)


# The rate limiter.


@pytest.mark.parametrize("error", FAULTS)
def test_a_limiter_failing_open_allows_the_attempt(
    error: Exception, outage: Outage, counter: Degradations, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = DegradingRateLimiter(FlakyRateLimiter(outage), fail_open=True, counter=counter)
    assert limiter.hit(LOGIN, "user_a") == RateDecision(allowed=True, remaining=3)
    outage.error = error
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert limiter.hit(LOGIN, "user_a") == RateDecision(allowed=True, remaining=4)
    assert counter.snapshot() == {"rate_limiter.hit": 1, "total": 1}
    (line,) = warnings_of(caplog)
    assert f"rate_limiter.hit failed with {type(error).__name__}" in line


@pytest.mark.parametrize("error", FAULTS)
def test_a_limiter_failing_closed_refuses_with_a_short_retry_after(
    error: Exception, outage: Outage, counter: Degradations
) -> None:
    limiter = DegradingRateLimiter(FlakyRateLimiter(outage), fail_open=False, counter=counter)
    outage.error = error
    decision = limiter.hit(LOGIN, "user_a")
    assert decision == RateDecision(allowed=False, remaining=0, retry_after=timedelta(seconds=1))
    outage.error = None
    assert limiter.hit(LOGIN, "user_a").allowed
    assert counter.snapshot() == {"rate_limiter.hit": 1, "total": 1}


def test_the_retry_after_of_a_closed_limiter_is_configurable(
    outage: Outage, counter: Degradations
) -> None:
    limiter = DegradingRateLimiter(
        FlakyRateLimiter(outage),
        fail_open=False,
        counter=counter,
        retry_after=timedelta(milliseconds=250),
    )
    outage.error = RedisConnectionError("down")
    assert limiter.hit(LOGIN, "user_a").retry_after == timedelta(milliseconds=250)


# The idempotency cache.


@pytest.mark.parametrize("error", FAULTS)
def test_an_idempotency_fault_leaves_the_database_to_decide(
    error: Exception, outage: Outage, counter: Degradations, caplog: pytest.LogCaptureFixture
) -> None:
    inner = FlakyIdempotencyCache(outage)
    cache = DegradingIdempotencyCache(inner, counter)
    record = a_record()
    inner.records[record.key] = record
    inner.marks["key-2"] = "f" * 64
    outage.error = error
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert cache.completed(record.key) is None
    assert cache.claim("key-2", "f" * 64, timedelta(minutes=1)) is True
    assert counter.snapshot() == {
        "idempotency_cache.claim": 1,
        "idempotency_cache.completed": 1,
        "total": 2,
    }
    (line,) = warnings_of(caplog)  # once per port per interval
    assert f"idempotency_cache.completed failed with {type(error).__name__}" in line


def test_an_idempotency_cache_that_answers_is_passed_through(
    outage: Outage, counter: Degradations
) -> None:
    inner = FlakyIdempotencyCache(outage)
    cache = DegradingIdempotencyCache(inner, counter)
    record = a_record()
    assert cache.claim(record.key, record.fingerprint, timedelta(minutes=1)) is True
    assert cache.claim(record.key, record.fingerprint, timedelta(minutes=1)) is False
    cache.store(record)
    assert cache.completed(record.key) == record
    assert counter.total == 0


def test_a_failed_release_is_retried_so_the_key_is_not_held(
    outage: Outage, counter: Degradations
) -> None:
    inner = FlakyIdempotencyCache(outage)
    cache = DegradingIdempotencyCache(inner, counter)
    assert cache.claim("key-1", "f" * 64, timedelta(minutes=1))
    outage.error = RedisConnectionError("down")
    cache.release("key-1")  # the request failed; its mark stays in Redis
    assert (counter.count("idempotency_cache", "release"), cache.pending) == (1, 1)
    outage.error = None
    assert cache.completed("key-1") is None
    # The retry of the request may claim again: the stale mark is released first.
    assert cache.claim("key-1", "f" * 64, timedelta(minutes=1)) is True
    assert cache.pending == 0


def test_a_failed_store_releases_the_mark_on_the_next_call(
    outage: Outage, counter: Degradations
) -> None:
    inner = FlakyIdempotencyCache(outage)
    cache = DegradingIdempotencyCache(inner, counter)
    record = a_record()
    assert cache.claim(record.key, record.fingerprint, timedelta(minutes=1))
    outage.error = RedisTimeoutError("Timeout writing to socket")
    cache.store(record)
    assert counter.snapshot() == {"idempotency_cache.store": 1, "total": 1}
    outage.error = None
    assert cache.completed("key-other") is None  # reaches Redis, then retries the release
    assert (inner.marks, cache.pending) == ({}, 0)


# The lock.


@pytest.mark.parametrize("error", FAULTS)
def test_a_lock_fault_runs_the_job_nowhere_rather_than_twice(
    error: Exception, outage: Outage, counter: Degradations, caplog: pytest.LogCaptureFixture
) -> None:
    inner = FlakyLock(outage)
    lock = DegradingLock(inner, counter)
    lease = lock.acquire("cleanup", timedelta(minutes=5))
    assert lease is not None
    outage.error = error
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert lock.acquire("cleanup", timedelta(minutes=5)) is None
    lock.release(lease)  # the lease will end with its ttl
    assert counter.snapshot() == {"lock.acquire": 1, "lock.release": 1, "total": 2}
    (line,) = warnings_of(caplog)
    assert f"lock.acquire failed with {type(error).__name__}" in line
    assert inner.released == []


# The circuit breakers.

BREAKER = "gateway:razorpay"


def _fail(breaker: CircuitBreaker) -> tuple[None, CircuitBreaker]:
    return None, breaker.record_failure(DEMO_NOW)


def _allow(breaker: CircuitBreaker) -> tuple[bool, CircuitBreaker]:
    return breaker.allow(DEMO_NOW + timedelta(seconds=1))


@pytest.mark.parametrize("error", FAULTS)
def test_a_breaker_fault_falls_back_to_the_breaker_last_seen_in_redis(
    error: Exception, outage: Outage, counter: Degradations, caplog: pytest.LogCaptureFixture
) -> None:
    inner = FlakyBreakerStore(outage)
    store = DegradingBreakerStore(inner, counter)
    for _ in range(5):  # the shared breaker opens
        store.update(BREAKER, _fail)
    assert inner.shared.get(BREAKER).state is BreakerState.OPEN
    outage.error = error
    caplog.set_level(logging.WARNING, logger=LOGGER)
    # Redis is gone: the process still knows the breaker is open, and refuses calls.
    assert store.get(BREAKER).state is BreakerState.OPEN
    assert store.update(BREAKER, _allow) is False
    assert counter.snapshot() == {"breakers.get": 1, "breakers.update": 1, "total": 2}
    (line,) = warnings_of(caplog)
    assert f"breakers.get failed with {type(error).__name__}" in line


def test_failures_seen_while_redis_is_down_open_the_processs_own_breaker(
    outage: Outage, counter: Degradations
) -> None:
    inner = FlakyBreakerStore(outage)
    store = DegradingBreakerStore(inner, counter)
    outage.error = RedisConnectionError("Connection refused")
    assert store.get(BREAKER).state is BreakerState.CLOSED
    for _ in range(5):
        store.update(BREAKER, _fail)
    assert store.get(BREAKER).state is BreakerState.OPEN
    assert store.update(BREAKER, _allow) is False
    # Redis answers again: the shared breaker, which saw none of it, decides once more.
    outage.error = None
    assert store.get(BREAKER).state is BreakerState.CLOSED
    assert store.update(BREAKER, _allow) is True


def test_a_breaker_written_in_redis_is_what_the_process_keeps(
    outage: Outage, counter: Degradations
) -> None:
    inner = FlakyBreakerStore(outage)
    store = DegradingBreakerStore(inner, counter)
    store.update(BREAKER, _fail)
    store.update(BREAKER, _fail)
    # Another process records failures in Redis; this one reads them there.
    inner.shared.update(BREAKER, _fail)
    assert store.get(BREAKER).consecutive_failures == 3
    outage.error = RedisTimeoutError("Timeout reading from socket")
    assert store.get(BREAKER).consecutive_failures == 3
    assert counter.total == 1


def test_the_gateway_guard_refuses_while_the_breaker_last_seen_is_open(
    outage: Outage, counter: Degradations
) -> None:
    clock = FixedClock(DEMO_NOW)
    inner = FlakyBreakerStore(outage)
    gateway = GuardedGateway(
        FakeGateway("whsec_test", clock=clock),
        clock,
        breakers=DegradingBreakerStore(inner, counter),
    )
    assert gateway.available()
    for _ in range(5):
        gateway.breakers.update(gateway.breaker_name, _fail)
    outage.error = RedisConnectionError("Connection refused")
    assert not gateway.available()
    assert counter.count("breakers") == 1


# The client.


def test_the_client_gives_up_fast_and_never_retries() -> None:
    client = redis_client("redis://127.0.0.1:1/0")
    try:
        kwargs = client.connection_pool.connection_kwargs
        assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (0.05, 0.05)
        assert kwargs["health_check_interval"] == 5
        retry = client.get_retry()
        assert retry is not None
        assert retry.get_retries() == 0
    finally:
        client.close()
    with pytest.raises(ValueError, match="positive"):
        redis_client("redis://127.0.0.1:1/0", timeout=0)


def test_the_client_fails_at_once_on_a_port_nobody_listens_on() -> None:
    client = redis_client(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(RedisError):
            client.ping()
    finally:
        client.close()


# A real Redis of the test's own, killed and paused mid-run.


@define
class Stack:
    """A checkout on in-memory records with a Redis cart cache, and the other Redis ports."""

    server: RedisServer
    counter: Degradations
    checkout: Checkout
    redis_cache: RedisCartCache
    cache: DegradingCartCache
    limiter: DegradingRateLimiter
    strict_limiter: DegradingRateLimiter
    idempotency: DegradingIdempotencyCache
    lock: DegradingLock

    def order(self, key: str) -> str:
        cart = ok(self.checkout.carts.create_cart([CartLine("int_123", Period(3, "month"))]))
        estimate = ok(self.checkout.pricing.calculate(cart.token, "user_a"))
        assert estimate.total > 0
        again = ok(self.checkout.pricing.calculate(cart.token, "user_a"))
        assert again.total == estimate.total
        receipt = ok(self.checkout.orders.create_from_cart(cart.token, key, "user_a")).receipt
        assert receipt.status == "awaiting_payment"
        assert receipt.total == estimate.total
        return cart.token

    def use_the_other_ports(self, key: str) -> None:
        assert self.limiter.hit(LOGIN, "user_a").allowed
        assert self.idempotency.completed(key) is None
        assert self.idempotency.claim(key, "f" * 64, timedelta(minutes=1)) is True
        self.idempotency.release(key)
        lease = self.lock.acquire(f"job-{key}", timedelta(minutes=1))
        if lease is not None:
            self.lock.release(lease)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path) as server:
        yield server


@pytest.fixture
def pause() -> float:
    return 0.0


@pytest.fixture
def stack(server: RedisServer, pause: float) -> Iterator[Stack]:
    clock = FixedClock(DEMO_NOW)
    client = redis_client(server.url)
    counter = Degradations()
    redis_cache = RedisCartCache(client, clock=clock)
    cache = DegradingCartCache(redis_cache, counter, pause=pause)
    ports = CheckoutPorts(
        unit_of_work=InMemoryUnitOfWorkFactory(
            InMemoryStore(), InMemoryCatalog(CATALOG.offerings, CATALOG.sales)
        ),
        gateway=GuardedGateway(
            FakeGateway("whsec_test", clock=clock),
            clock,
            breakers=DegradingBreakerStore(RedisBreakerStore(client), counter, pause=pause),
        ),
        clock=clock,
        ids=SequentialIds(),
        notifications=RecordingNotificationSender(),
        analytics=RecordingAnalyticsTracker(),
        alerts=RecordingAlertSink(),
        cart_cache=cache,
    )
    checkout = Checkout.build(
        ports, CheckoutSettings(tax=CATALOG.tax, cart_ttl=timedelta(hours=24))
    )
    limiter = RedisRateLimiter(client, clock=clock)
    try:
        yield Stack(
            server=server,
            counter=counter,
            checkout=checkout,
            redis_cache=redis_cache,
            cache=cache,
            limiter=DegradingRateLimiter(limiter, fail_open=True, counter=counter, pause=pause),
            strict_limiter=DegradingRateLimiter(limiter, fail_open=False, counter=counter),
            idempotency=DegradingIdempotencyCache(
                RedisIdempotencyCache(client), counter, pause=pause
            ),
            lock=DegradingLock(RedisLock(client, clock=clock), counter, pause=pause),
        )
    finally:
        client.close()


def test_checkout_goes_on_when_redis_is_killed_and_uses_it_again_once_back(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    stack.order("key-1")
    stack.use_the_other_ports("key-1")
    hits_before = stack.redis_cache.stats.hits
    assert hits_before >= 1  # the estimates read the cart from Redis
    assert stack.counter.total == 0

    stack.server.kill()
    started = time.monotonic()
    for number in range(2, 5):
        stack.order(f"key-{number}")
        stack.use_the_other_ports(f"key-{number}")
    assert time.monotonic() - started < 2.0  # a refused connection costs next to nothing
    refused = stack.strict_limiter.hit(LOGIN, "user_a")
    assert (refused.allowed, refused.retry_after) == (False, timedelta(seconds=1))
    assert stack.lock.acquire("cleanup", timedelta(minutes=1)) is None
    counts = stack.counter.snapshot()
    # A cart put during the outage is pending: reading it retries its invalidation.
    assert counts["cart_cache.put"] >= 3  # at least one per cart
    assert counts["cart_cache.retry"] >= 6  # two estimates per cart
    assert counts["cart_cache.invalidate"] == 3  # one per order
    assert counts["rate_limiter.hit"] == 4
    assert counts["idempotency_cache.completed"] == 3
    assert counts["idempotency_cache.claim"] == 3
    assert counts["lock.acquire"] == 4
    # Each order asks whether payments are available, then opens its session through the guard.
    assert (counts["breakers.get"], counts["breakers.update"]) == (3, 6)
    assert stack.redis_cache.stats.hits == hits_before
    logged = "\n".join(warnings_of(caplog))
    # Once per port: the first degradation of each, the rest only counted.
    assert "cart_cache.put failed with ConnectionError (Error 111 connecting" in logged
    for port in ("rate_limiter.hit", "idempotency_cache.completed", "lock.acquire", "breakers"):
        assert f"{port}" in logged
    assert len(warnings_of(caplog)) == 5
    assert stack.cache.pending >= 3  # the orders' invalidations, to retry

    stack.server.start()  # a new, empty server on the same port
    during_outage = stack.counter.total
    stack.order("key-5")
    stack.use_the_other_ports("key-5")
    assert stack.counter.total == during_outage
    assert stack.redis_cache.stats.hits > hits_before  # the cache is used again
    assert stack.cache.pending == 0
    assert stack.idempotency.pending == 0


@pytest.mark.parametrize("pause", [0.0, 0.3], ids=["every-call-tries", "pause-after-a-fault"])
def test_a_stalled_redis_costs_a_request_tens_of_milliseconds(
    stack: Stack, pause: float, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    token = stack.order("key-1")
    cart = ok(stack.checkout.carts.create_cart([CartLine("int_456", Period(1, "month"))]))
    stack.server.pause()  # connections are accepted, nothing is answered
    try:
        started = time.monotonic()
        estimate = ok(stack.checkout.pricing.calculate(cart.token, "user_a"))
        estimating = time.monotonic() - started
        started = time.monotonic()
        receipt = ok(stack.checkout.orders.create_from_cart(cart.token, "key-2", "user_a"))
        ordering = time.monotonic() - started
        started = time.monotonic()
        assert ok(stack.checkout.carts.get_cart(token)).token == token
        assert stack.limiter.hit(LOGIN, "user_a").allowed
        assert stack.idempotency.claim("key-3", "f" * 64, timedelta(minutes=1)) is True
        assert stack.lock.acquire("cleanup", timedelta(minutes=1)) is None
        the_rest = time.monotonic() - started
    finally:
        stack.server.resume()
    assert receipt.receipt.total == estimate.total
    # Each call to Redis gives up after 50 ms (a get and a put or two for the
    # estimate, an invalidation for the order): about 150 ms at most for one
    # request here. The bounds leave room for a busy machine.
    assert estimating < 1.0
    assert ordering < 1.0
    assert the_rest < 1.0
    counts = stack.counter.snapshot()
    assert counts["cart_cache.get"] >= 1
    assert counts["cart_cache.invalidate"] == 1
    assert (counts["rate_limiter.hit"], counts["lock.acquire"]) == (1, 1)
    assert counts["idempotency_cache.claim"] == 1
    assert "cart_cache.get failed with TimeoutError" in "\n".join(warnings_of(caplog))
    # Redis answers again: the cache serves carts again (once the pause is over).
    time.sleep(pause)
    hits = stack.redis_cache.stats.hits
    fresh = ok(stack.checkout.carts.create_cart([CartLine("int_123", Period(3, "month"))]))
    ok(stack.checkout.pricing.calculate(fresh.token, "user_a"))
    assert stack.redis_cache.stats.hits == hits + 1


def test_a_breaker_change_cut_off_in_the_middle_of_its_transaction_is_made_in_the_process(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    client = redis_client(server.url)
    counter = Degradations()
    store = DegradingBreakerStore(RedisBreakerStore(client), counter)
    try:
        for _ in range(4):
            store.update(BREAKER, _fail)

        def fail_and_crash(breaker: CircuitBreaker) -> tuple[None, CircuitBreaker]:
            # The breaker was watched and read; Redis dies before MULTI/EXEC.
            server.kill()
            return _fail(breaker)

        store.update(BREAKER, fail_and_crash)
        # The fifth failure opened the process's own breaker, which now refuses calls.
        assert store.get(BREAKER).state is BreakerState.OPEN
        assert store.update(BREAKER, _allow) is False
        assert counter.snapshot() == {
            "breakers.get": 1,
            "breakers.update": 2,
            "total": 3,
        }
        assert "breakers.update failed with ConnectionError" in "\n".join(warnings_of(caplog))
        server.start()  # empty: the shared breaker starts closed again
        assert store.get(BREAKER).state is BreakerState.CLOSED
        assert counter.total == 3
    finally:
        client.close()
