"""The checkout's shared state in Redis: caches, fast paths, limits and locks every process shares.

Redis is never the record: PostgreSQL is. What Redis holds here makes the
checkout faster (the cart cache, the idempotency fast path) or keeps
instances in step (rate limits, locks, circuit breakers); losing it costs
speed, never a sale or a second order.
"""

from __future__ import annotations

from checkout_adapters.redis.breakers import RedisBreakerStore
from checkout_adapters.redis.cache import CartCacheStats, RedisCartCache
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
from checkout_adapters.redis.streams import RedisStreamQueue

__all__ = [
    "CartCacheStats",
    "Degradations",
    "DegradingBreakerStore",
    "DegradingCartCache",
    "DegradingIdempotencyCache",
    "DegradingLock",
    "DegradingRateLimiter",
    "RedisBreakerStore",
    "RedisCartCache",
    "RedisIdempotencyCache",
    "RedisLock",
    "RedisRateLimiter",
    "RedisStreamQueue",
    "redis_client",
]
