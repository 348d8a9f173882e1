"""A Redis of the tests: the one at CHECKOUT_TEST_REDIS_URL, on a database of its own, emptied."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

REDIS_URL = os.environ.get("CHECKOUT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_client() -> Iterator[Redis]:
    client = Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.ping()
    except RedisConnectionError as unreachable:
        pytest.fail(
            f"Redis at {REDIS_URL} cannot be reached ({unreachable}): start it, or point "
            "CHECKOUT_TEST_REDIS_URL at one. Tests that need Redis fail; they never skip."
        )
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
