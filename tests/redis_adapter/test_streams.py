"""The message queue on Redis Streams: the contract, and what XAUTOCLAIM does across consumers.

Retries are timed by the contract's fixed clock, but the visibility of a
delivery is Redis's own idle time, in real time: these tests use a
visibility of a tenth of a second and sleep past it.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import ClassVar

import pytest
from redis import Redis
from redis.crc import key_slot

from checkout_adapters.memory import FixedClock
from checkout_adapters.redis.streams import RedisStreamQueue
from checkout_core.domain.messaging import Delivery
from checkout_core.ports import MessageQueue
from tests.contract.queue import MessageQueueContract, make_event
from tests.contract.unit_of_work import NOW

_VISIBILITY = timedelta(milliseconds=100)
_PAST_VISIBILITY = 0.12
_LONG = timedelta(minutes=5)


class TestRedisStreamQueue(MessageQueueContract):
    visibility: ClassVar[timedelta] = _VISIBILITY

    @pytest.fixture
    def queue(self, clock: FixedClock, redis_client: Redis) -> MessageQueue:
        return RedisStreamQueue(redis_client, clock=clock)

    def let_visibility_pass(self, clock: FixedClock) -> None:
        time.sleep(_PAST_VISIBILITY)
        clock.advance(_VISIBILITY)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def queue(redis_client: Redis, clock: FixedClock) -> RedisStreamQueue:
    return RedisStreamQueue(redis_client, clock=clock)


def _receive(
    queue: RedisStreamQueue,
    consumer: str,
    *,
    limit: int = 10,
    visibility: timedelta = _VISIBILITY,
    group: str = "enrollment",
) -> list[Delivery]:
    return queue.receive(group, consumer, limit=limit, wait=timedelta(0), visibility=visibility)


def test_consumers_in_threads_share_out_the_messages_of_a_consumer_that_died(
    queue: RedisStreamQueue,
) -> None:
    for number in range(20):
        queue.publish(make_event(number))
    held = _receive(queue, "worker-dead", limit=20)
    assert len(held) == 20
    time.sleep(_PAST_VISIBILITY)
    start = threading.Barrier(4)

    def claim(consumer: str) -> list[Delivery]:
        start.wait()
        taken = []
        # Each is acknowledged at once, so none runs past its visibility again.
        while batch := _receive(queue, consumer, limit=3):
            for delivery in batch:
                queue.ack("enrollment", delivery)
            taken.extend(batch)
        return taken

    with ThreadPoolExecutor(4) as pool:
        taken = [delivery for batch in pool.map(claim, ["a", "b", "c", "d"]) for delivery in batch]

    assert sorted(delivery.message_id for delivery in taken) == sorted(
        delivery.message_id for delivery in held
    )
    assert {delivery.attempt for delivery in taken} == {2}
    assert _receive(queue, "worker-e") == []


def test_each_claim_of_a_message_counts_as_an_attempt(queue: RedisStreamQueue) -> None:
    queue.publish(make_event(1))
    attempts = [_receive(queue, "worker-1")[0].attempt]

    for consumer in ("worker-2", "worker-3"):
        time.sleep(_PAST_VISIBILITY)
        attempts.append(_receive(queue, consumer)[0].attempt)

    assert attempts == [1, 2, 3]


def test_a_retried_copy_not_acknowledged_in_time_is_claimed_one_attempt_later(
    queue: RedisStreamQueue,
) -> None:
    queue.publish(make_event(1))
    (first,) = _receive(queue, "worker-1")
    queue.retry_later("enrollment", first, timedelta(0), "boom")
    (copy,) = _receive(queue, "worker-1")

    time.sleep(_PAST_VISIBILITY)
    (claimed,) = _receive(queue, "worker-2")

    assert copy.message_id.startswith("retry:")
    assert claimed.message_id == copy.message_id
    assert (first.attempt, copy.attempt, claimed.attempt) == (1, 2, 3)
    queue.ack("enrollment", claimed)
    assert queue.client.xlen("checkout:events:retry:{enrollment}") == 0


def test_a_group_keeps_its_keys_on_one_cluster_slot(
    queue: RedisStreamQueue, redis_client: Redis, clock: FixedClock
) -> None:
    for number in (1, 2):
        queue.publish(make_event(number))
    first, second = _receive(queue, "worker-1", visibility=_LONG)
    queue.retry_later("enrollment", first, timedelta(hours=1), "boom")
    queue.dead_letter("enrollment", second, "boom")

    keys = {key.decode() if isinstance(key, bytes) else key for key in redis_client.keys("*")}

    group_keys = {
        "checkout:events:due:{enrollment}",
        "checkout:events:retry:{enrollment}",
        "checkout:events:dead:{enrollment}",
    }
    assert keys == {"checkout:events", *group_keys}
    assert len({key_slot(key.encode()) for key in group_keys}) == 1
    assert clock.now() == NOW


def test_the_stream_holds_each_event_as_json_by_name(
    queue: RedisStreamQueue, redis_client: Redis
) -> None:
    queue.publish(make_event(1))

    ((_, fields),) = redis_client.xrange("checkout:events") or []

    assert fields is not None
    assert fields[b"name"] == b"notification.requested"
    assert json.loads(fields[b"event"])["event_id"] == "evt_1"


def test_a_queue_on_another_stream_shares_nothing_with_the_first(
    queue: RedisStreamQueue, redis_client: Redis, clock: FixedClock
) -> None:
    other = RedisStreamQueue(redis_client, stream="shop:events", clock=clock)
    queue.publish(make_event(1))

    assert _receive(other, "worker-1") == []
    assert [delivery.event for delivery in _receive(queue, "worker-1")] == [make_event(1)]


def test_the_group_is_made_again_when_the_stream_was_deleted(
    queue: RedisStreamQueue, redis_client: Redis
) -> None:
    assert _receive(queue, "worker-1") == []
    redis_client.delete("checkout:events", "checkout:events:retry:{enrollment}")
    queue.publish(make_event(1))

    assert [delivery.event for delivery in _receive(queue, "worker-1")] == [make_event(1)]


@pytest.mark.parametrize("group", ["", "a{b", "a}b"])
def test_a_group_name_cannot_hold_a_brace(queue: RedisStreamQueue, group: str) -> None:
    with pytest.raises(ValueError, match="braces"):
        _receive(queue, "worker-1", group=group)
