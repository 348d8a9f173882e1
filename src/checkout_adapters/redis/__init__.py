"""The checkout's shared state in Redis: circuit breakers every process agrees on."""

from __future__ import annotations

from checkout_adapters.redis.breakers import RedisBreakerStore

__all__ = ["RedisBreakerStore"]
