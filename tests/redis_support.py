"""The tests' Redis: where it is, and a client of it that fails the test when it is not there."""

from __future__ import annotations

import os
from typing import Final

import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

REDIS_URL: Final = os.environ.get("CHECKOUT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
"""The database the Redis tests empty, at CHECKOUT_TEST_REDIS_URL."""


def reachable_redis(url: str = REDIS_URL, variable: str = "CHECKOUT_TEST_REDIS_URL") -> Redis:
    """A client of the Redis at ``url``, which answered a ping; a test that needs it fails.

    Tests that need Redis never skip: an unreachable server fails them, naming
    the ``variable`` that points elsewhere.
    """
    client = Redis.from_url(url, socket_timeout=5)
    try:
        client.ping()
    except RedisConnectionError as unreachable:
        client.close()
        pytest.fail(
            f"Redis at {url} cannot be reached ({unreachable}): start it, or point "
            f"{variable} at one. Tests that need Redis fail; they never skip."
        )
    return client
