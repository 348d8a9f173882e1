"""The port contracts, on the Redis adapters.

The contracts move a fixed clock while Redis keeps real time, so each
adapter is given the contract's clock and decides expiry by it (the ``PX``
Redis sets besides is only a safety net, far longer than a test runs).
The idempotency cache has no clock: its contract runs on the real time.
"""

from __future__ import annotations

import pytest
from redis import Redis

from checkout_adapters.memory import FixedClock
from checkout_adapters.redis import (
    RedisCartCache,
    RedisIdempotencyCache,
    RedisLock,
    RedisRateLimiter,
)
from checkout_core.ports import CartCache, IdempotencyCache, Lock, RateLimiter
from tests.contract.cache import CartCacheContract
from tests.contract.idempotency_cache import IdempotencyCacheContract
from tests.contract.limits import RateLimiterContract
from tests.contract.lock import LockContract


class TestRedisCartCache(CartCacheContract):
    @pytest.fixture
    def cart_cache(self, clock: FixedClock, redis_client: Redis) -> CartCache:
        return RedisCartCache(redis_client, clock=clock)


class TestRedisLock(LockContract):
    @pytest.fixture
    def lock(self, clock: FixedClock, redis_client: Redis) -> Lock:
        return RedisLock(redis_client, clock=clock)


class TestRedisRateLimiter(RateLimiterContract):
    @pytest.fixture
    def limiter(self, clock: FixedClock, redis_client: Redis) -> RateLimiter:
        return RedisRateLimiter(redis_client, clock=clock)


class TestRedisIdempotencyCache(IdempotencyCacheContract):
    @pytest.fixture
    def idempotency_cache(self, redis_client: Redis) -> IdempotencyCache:
        return RedisIdempotencyCache(redis_client)
