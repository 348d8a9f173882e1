"""The message queue over the outbox table, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from checkout_adapters.memory import FixedClock
from checkout_adapters.sqlalchemy import SqlOutboxReader, SqlUnitOfWorkFactory
from checkout_adapters.sqlalchemy.queue import SqlOutboxQueue
from checkout_adapters.sqlalchemy.tables import outbox, outbox_deliveries
from checkout_core.domain.messaging import Delivery
from checkout_core.ports import MessageQueue
from tests.contract.queue import MessageQueueContract, Publish, make_event
from tests.contract.unit_of_work import NOW, write

_VISIBILITY = timedelta(seconds=30)


def _committing(engine: Engine) -> Publish:
    # Committed to the outbox, as the services do: the queue reads the outbox.
    factory = SqlUnitOfWorkFactory(engine)
    return lambda event: write(factory, lambda uow: uow.outbox.append(event))


class TestSqliteOutboxQueue(MessageQueueContract):
    @pytest.fixture
    def queue(self, clock: FixedClock, sqlite_engine: Engine) -> MessageQueue:
        return SqlOutboxQueue(sqlite_engine, clock=clock, poll_interval=timedelta(milliseconds=20))

    @pytest.fixture
    def publish(self, sqlite_engine: Engine) -> Publish:
        return _committing(sqlite_engine)


class TestPostgresOutboxQueue(MessageQueueContract):
    @pytest.fixture
    def queue(self, clock: FixedClock, postgres_engine: Engine) -> MessageQueue:
        return SqlOutboxQueue(
            postgres_engine, clock=clock, poll_interval=timedelta(milliseconds=20)
        )

    @pytest.fixture
    def publish(self, postgres_engine: Engine) -> Publish:
        return _committing(postgres_engine)


def test_publishing_appends_only_an_event_the_outbox_lacks(engine: Engine) -> None:
    queue = SqlOutboxQueue(engine, clock=FixedClock(NOW))
    _committing(engine)(make_event(1))

    queue.publish(make_event(1))
    queue.publish(make_event(2))
    queue.publish(make_event(2))

    assert [entry.event for entry in SqlOutboxReader(engine).pending()] == [
        make_event(1),
        make_event(2),
    ]


def test_an_event_appended_or_published_keeps_its_orders_token_in_a_column(
    engine: Engine,
) -> None:
    _committing(engine)(make_event(1))

    SqlOutboxQueue(engine, clock=FixedClock(NOW)).publish(make_event(2))

    with engine.connect() as connection:
        rows = connection.execute(select(outbox.c.event_id, outbox.c.order_token)).all()
    assert sorted(map(tuple, rows)) == [("evt_1", "ord_1"), ("evt_2", "ord_2")]


def test_a_delivery_is_recorded_with_its_consumer_and_lease(engine: Engine) -> None:
    clock = FixedClock(NOW)
    queue = SqlOutboxQueue(engine, clock=clock)
    _committing(engine)(make_event(1))

    (delivery,) = queue.receive(
        "enrollment", "worker-7", limit=1, wait=timedelta(0), visibility=_VISIBILITY
    )
    with engine.connect() as connection:
        row = connection.execute(select(outbox_deliveries)).one()

    assert (row.group_name, str(row.outbox_id), row.attempts, row.status) == (
        "enrollment",
        delivery.message_id,
        1,
        "pending",
    )
    assert (row.consumer, row.leased_until, row.due_at) == (
        "worker-7",
        NOW + _VISIBILITY,
        NOW + _VISIBILITY,
    )


def test_a_poll_interval_must_be_positive(sqlite_engine: Engine) -> None:
    with pytest.raises(ValueError, match="positive"):
        SqlOutboxQueue(sqlite_engine, clock=FixedClock(NOW), poll_interval=timedelta(0))


def _race(consumers: int, receive: Callable[[str], list[Delivery]]) -> dict[str, list[Delivery]]:
    """Each consumer receives from its own thread, all at once, until it gets nothing."""
    start = threading.Barrier(consumers)

    def drain(consumer: str) -> list[Delivery]:
        start.wait()
        taken: list[Delivery] = []
        while batch := receive(consumer):
            taken.extend(batch)
        return taken

    names = [f"worker-{number}" for number in range(consumers)]
    with ThreadPoolExecutor(consumers) as pool:
        return dict(zip(names, pool.map(drain, names), strict=True))


def test_consumers_racing_on_postgres_take_disjoint_messages(postgres_engine: Engine) -> None:
    clock = FixedClock(NOW)
    queue = SqlOutboxQueue(postgres_engine, clock=clock)
    publish = _committing(postgres_engine)
    for number in range(60):
        publish(make_event(number))

    def receive(consumer: str) -> list[Delivery]:
        return queue.receive(
            "enrollment", consumer, limit=4, wait=timedelta(0), visibility=_VISIBILITY
        )

    first = _race(6, receive)
    clock.advance(_VISIBILITY)
    again = _race(6, receive)

    for taken, attempt in ((first, 1), (again, 2)):
        ids = [delivery.message_id for deliveries in taken.values() for delivery in deliveries]
        assert len(ids) == 60
        assert len(set(ids)) == 60
        assert {delivery.attempt for deliveries in taken.values() for delivery in deliveries} == {
            attempt
        }
    # Each consumer got its messages in the order they were published.
    for deliveries in first.values():
        numbers = [int(delivery.message_id) for delivery in deliveries]
        assert numbers == sorted(numbers)
