"""A Redis of the tests: the one at CHECKOUT_TEST_REDIS_URL, on a database of its own, emptied."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis import Redis

from tests.redis_support import reachable_redis


@pytest.fixture
def redis_client() -> Iterator[Redis]:
    client = reachable_redis()
    client.flushdb()
    yield client
    client.flushdb()
    client.close()
