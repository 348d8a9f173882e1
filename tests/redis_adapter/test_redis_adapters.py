"""What the Redis adapters do beyond their ports' contracts: counts, keys, races.

Two clients on one Redis stand for two processes of one host.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from redis.crc import key_slot

from checkout_adapters.memory import FixedClock
from checkout_adapters.redis import (
    CartCacheStats,
    RedisCartCache,
    RedisIdempotencyCache,
    RedisLock,
    RedisRateLimiter,
)
from checkout_core.domain.idempotency import IdempotencyRecord
from checkout_core.domain.limits import RateLimit
from checkout_core.ports import LockLease
from tests.contract.unit_of_work import NOW, make_cart
from tests.redis_support import REDIS_URL

_TTL = timedelta(minutes=15)
_PRINT = "f" * 64


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def _connect(**options: bool) -> Redis:
    return Redis.from_url(REDIS_URL, socket_timeout=5, **options)


@pytest.fixture
def other_client(redis_client: Redis) -> Iterator[Redis]:  # noqa: ARG001 - it empties the database
    client = _connect()
    yield client
    client.close()


@pytest.fixture
def decoding_client(redis_client: Redis) -> Iterator[Redis]:  # noqa: ARG001 - it empties the database
    client = _connect(decode_responses=True)
    yield client
    client.close()


def _text(value: bytes | str | None) -> str:
    assert value is not None
    return value.decode() if isinstance(value, bytes) else value


# The cart cache.


def test_the_cache_counts_hits_and_misses_in_the_process(
    redis_client: Redis, clock: FixedClock
) -> None:
    cache = RedisCartCache(redis_client, clock=clock)
    cache.get("cart_1")
    cache.put(make_cart(), _TTL)
    for _ in range(3):
        cache.get("cart_1")
    clock.advance(_TTL)
    cache.get("cart_1")

    assert cache.stats == CartCacheStats(hits=3, misses=2)
    assert cache.stats.reads == 5
    assert cache.stats.miss_rate == pytest.approx(0.4)


def test_a_cache_never_read_has_a_miss_rate_of_zero(redis_client: Redis, clock: FixedClock) -> None:
    cache = RedisCartCache(redis_client, clock=clock)

    assert cache.stats == CartCacheStats(0, 0)
    assert cache.stats.miss_rate == 0.0
    assert cache.shared_stats() == CartCacheStats(0, 0)


def test_the_counts_of_every_process_add_up_in_redis(
    redis_client: Redis, other_client: Redis, clock: FixedClock
) -> None:
    first = RedisCartCache(redis_client, clock=clock)
    second = RedisCartCache(other_client, clock=clock)
    first.put(make_cart(), _TTL)
    first.get("cart_1")
    second.get("cart_1")
    second.get("cart_1")
    second.get("cart_2")

    assert first.stats == CartCacheStats(hits=1, misses=0)
    assert second.stats == CartCacheStats(hits=2, misses=1)
    # Reads are shared in batches: until a batch or a flush, Redis lags behind.
    assert redis_client.get("checkout:cart:stats:hits") is None
    second.flush()
    assert first.shared_stats() == second.shared_stats() == CartCacheStats(hits=3, misses=1)
    assert redis_client.get("checkout:cart:stats:hits") == b"3"
    assert redis_client.get("checkout:cart:stats:misses") == b"1"


def test_reads_are_shared_every_batch(redis_client: Redis, clock: FixedClock) -> None:
    cache = RedisCartCache(redis_client, clock=clock, share_every=3)
    for _ in range(7):
        cache.get("cart_1")
    assert redis_client.get("checkout:cart:stats:misses") == b"6"
    assert cache.shared_stats() == CartCacheStats(hits=0, misses=7)


def test_concurrent_reads_are_all_counted(
    redis_client: Redis, other_client: Redis, clock: FixedClock
) -> None:
    caches = [RedisCartCache(client, clock=clock) for client in (redis_client, other_client)]
    caches[0].put(make_cart(), _TTL)
    start = threading.Barrier(8)

    def read(worker: int) -> None:
        start.wait()
        for turn in range(25):
            caches[worker % 2].get("cart_1" if turn % 5 else "cart_9")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(read, range(8)))

    assert caches[0].stats.reads == caches[1].stats.reads == 100
    assert caches[0].shared_stats() == CartCacheStats(hits=160, misses=40)


def test_a_cart_is_one_key_under_the_prefix_that_redis_forgets_after_its_ttl(
    redis_client: Redis, clock: FixedClock
) -> None:
    RedisCartCache(redis_client, clock=clock).put(make_cart(), _TTL)
    RedisCartCache(redis_client, prefix="shop:carts:", clock=clock).put(make_cart("cart_2"), _TTL)

    assert sorted(redis_client.keys()) == [b"checkout:cart:cart_1", b"shop:carts:cart_2"]
    assert 0 < redis_client.pttl("checkout:cart:cart_1") <= _TTL / timedelta(milliseconds=1)
    until, _, cart = _text(redis_client.get("checkout:cart:cart_1")).partition(":")
    assert int(until) == (NOW + _TTL - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        microseconds=1
    )
    assert '"token":"cart_1"' in cart


def test_a_token_naming_a_counter_is_a_miss_not_an_error(
    redis_client: Redis, clock: FixedClock
) -> None:
    cache = RedisCartCache(redis_client, clock=clock)
    cache.get("cart_1")

    assert cache.get("stats:misses") is None
    assert cache.stats == CartCacheStats(hits=0, misses=2)


def test_the_adapters_work_on_a_client_that_decodes_responses(
    decoding_client: Redis, clock: FixedClock
) -> None:
    cache = RedisCartCache(decoding_client, clock=clock)
    cache.put(make_cart(), _TTL)
    idempotency = RedisIdempotencyCache(decoding_client)
    record = IdempotencyRecord.begin("key-1", _PRINT, datetime.now(UTC)).complete(200, "{}")
    idempotency.store(record)
    lock = RedisLock(decoding_client, clock=clock)
    lease = lock.acquire("jobs.expire_carts", timedelta(seconds=30))
    assert lease is not None
    lock.release(lease)
    limit = RateLimit("orders_per_user", limit=1, period=timedelta(hours=1))
    limiter = RedisRateLimiter(decoding_client, clock=clock)

    assert cache.get("cart_1") == make_cart()
    assert cache.get("stats:hits") is None
    assert cache.shared_stats() == CartCacheStats(hits=1, misses=1)
    assert idempotency.completed("key-1") == record
    assert lock.acquire("jobs.expire_carts", timedelta(seconds=30)) is not None
    assert [limiter.hit(limit, "usr_1").allowed for _ in range(2)] == [True, False]


# The idempotency cache.


def test_a_claim_is_an_in_progress_mark_that_lasts_its_lease(redis_client: Redis) -> None:
    RedisIdempotencyCache(redis_client).claim("key-1", _PRINT, timedelta(seconds=60))

    assert redis_client.get("checkout:idem:key-1") == f"in_progress:{_PRINT}".encode()
    assert 59_000 < redis_client.pttl("checkout:idem:key-1") <= 60_000


def test_a_completed_record_is_kept_until_its_expiry(redis_client: Redis) -> None:
    now = datetime.now(UTC)
    record = IdempotencyRecord.begin("key-1", _PRINT, now, ttl=timedelta(hours=1))
    cache = RedisIdempotencyCache(redis_client, prefix="shop:idem:")

    cache.store(record.complete(200, "{}"))

    expires_at_ms = redis_client.pexpiretime("shop:idem:key-1")
    assert abs(expires_at_ms - (now + timedelta(hours=1)).timestamp() * 1000) <= 1


def test_of_two_processes_claiming_a_key_at_once_exactly_one_wins(
    redis_client: Redis, other_client: Redis
) -> None:
    caches = [RedisIdempotencyCache(client) for client in (redis_client, other_client)]
    start = threading.Barrier(8)

    def claim(worker: int) -> bool:
        start.wait()
        return caches[worker % 2].claim("key-1", f"{worker:064d}", timedelta(seconds=60))

    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(claim, range(8)))

    assert claims.count(True) == 1


# The lock.


def test_a_lock_and_its_fencing_counter_share_a_hash_tag(
    redis_client: Redis, clock: FixedClock
) -> None:
    lease = RedisLock(redis_client, clock=clock).acquire("jobs.expire_carts", timedelta(seconds=30))
    assert lease is not None

    holder, fence = (
        b"checkout:lock:{jobs.expire_carts}:lock",
        b"checkout:lock:{jobs.expire_carts}:fence",
    )
    assert sorted(redis_client.keys()) == [fence, holder]
    assert key_slot(holder) == key_slot(fence)
    assert redis_client.get(fence) == str(lease.fencing_token).encode()
    assert 0 < redis_client.pttl(holder) <= 30_000
    assert redis_client.ttl(fence) == -1


def test_the_fencing_counter_outlives_releases(redis_client: Redis, clock: FixedClock) -> None:
    lock = RedisLock(redis_client, prefix="shop:lock:", clock=clock)
    tokens = []
    for _ in range(3):
        lease = lock.acquire("jobs.daily_report", timedelta(seconds=30))
        assert lease is not None
        tokens.append(lease.fencing_token)
        lock.release(lease)

    assert tokens == [1, 2, 3]
    assert redis_client.keys() == [b"shop:lock:{jobs.daily_report}:fence"]


def test_clients_racing_for_a_lock_get_one_grant_each_time_with_growing_tokens(
    redis_client: Redis, other_client: Redis, clock: FixedClock
) -> None:
    locks = [RedisLock(client, clock=clock) for client in (redis_client, other_client)]
    ttl = timedelta(seconds=30)
    winners: list[LockLease] = []
    for turn in range(20):
        start = threading.Barrier(8)

        def acquire(worker: int, start: threading.Barrier = start) -> LockLease | None:
            start.wait()
            return locks[worker % 2].acquire("jobs.expire_carts", ttl)

        with ThreadPoolExecutor(max_workers=8) as pool:
            grants = [lease for lease in pool.map(acquire, range(8)) if lease is not None]
        assert len(grants) == 1, f"turn {turn}: {len(grants)} grants"
        winners.append(grants[0])
        if turn % 2:
            locks[0].release(grants[0])
        else:
            # The holder never releases: its lease runs out and is taken over.
            clock.advance(ttl)

    tokens = [lease.fencing_token for lease in winners]
    assert tokens == list(range(1, 21))


# The rate limiter.


def test_a_limited_key_is_named_by_the_limit_and_expires_when_its_allowance_is_back(
    redis_client: Redis, clock: FixedClock
) -> None:
    limit = RateLimit("coupon_attempts_per_cart", limit=5, period=timedelta(minutes=10))
    RedisRateLimiter(redis_client, clock=clock).hit(limit, "cart_1")
    RedisRateLimiter(redis_client, prefix="shop:limit:", clock=clock).hit(limit, "::1")

    assert sorted(redis_client.keys()) == [
        b"checkout:limit:coupon_attempts_per_cart:cart_1",
        b"shop:limit:coupon_attempts_per_cart:::1",
    ]
    # One attempt of five uses a fifth of the period: two minutes.
    assert 119_000 < redis_client.pttl("checkout:limit:coupon_attempts_per_cart:cart_1") <= 120_000


def test_eight_threads_of_two_processes_never_get_past_the_limit(
    redis_client: Redis, other_client: Redis, clock: FixedClock
) -> None:
    limiters = [RedisRateLimiter(client, clock=clock) for client in (redis_client, other_client)]
    limit = RateLimit("orders_per_user", limit=10, period=timedelta(hours=1))
    start = threading.Barrier(8)

    def hit_five(worker: int) -> list[bool]:
        start.wait()
        return [limiters[worker % 2].hit(limit, "usr_1").allowed for _ in range(5)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        verdicts = [allowed for verdicts in pool.map(hit_five, range(8)) for allowed in verdicts]

    assert verdicts.count(True) == 10
    refused = limiters[0].hit(limit, "usr_1")
    assert (refused.allowed, refused.retry_after) == (False, timedelta(minutes=6))


def test_a_limit_too_fine_to_count_exactly_is_refused(
    redis_client: Redis, clock: FixedClock
) -> None:
    limit = RateLimit("absurd", limit=10**9, period=timedelta(days=365))

    with pytest.raises(ValueError, match="too fine"):
        RedisRateLimiter(redis_client, clock=clock).hit(limit, "usr_1")
