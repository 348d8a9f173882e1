"""The outbox relay: committed rows onto a queue in id order, marked sent, at least once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from checkout_adapters.memory import FixedClock
from checkout_adapters.relay import OutboxRelay
from checkout_adapters.sqlalchemy import SqlOutboxReader, SqlUnitOfWorkFactory
from checkout_adapters.sqlalchemy.tables import outbox
from checkout_core.domain.events import DomainEvent
from tests.contract.queue import make_event
from tests.contract.unit_of_work import NOW, write


class _Died(Exception):
    """The relay's process ends here."""


class _Recorder:
    """A queue that keeps what it was given, in the order given, from any thread."""

    def __init__(self) -> None:
        self.published: list[DomainEvent] = []
        self._mutex = threading.Lock()

    def publish(self, event: DomainEvent) -> None:
        with self._mutex:
            self.published.append(event)


class _DiesAfterPublishing(_Recorder):
    """Publishes, and dies just after publishing the ``after``-th event."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self._after = after

    def publish(self, event: DomainEvent) -> None:
        super().publish(event)
        if len(self.published) == self._after:
            raise _Died(event.event_id)


def _commit(engine: Engine, *numbers: int) -> None:
    write(
        SqlUnitOfWorkFactory(engine),
        *(lambda uow, number=number: uow.outbox.append(make_event(number)) for number in numbers),
    )


def _ids(events: list[DomainEvent]) -> list[str]:
    return [event.event_id for event in events]


def _unsent(engine: Engine) -> list[str]:
    return [entry.event.event_id for entry in SqlOutboxReader(engine).pending(1_000)]


def test_the_relay_publishes_committed_rows_in_order_and_marks_them_sent(engine: Engine) -> None:
    clock = FixedClock(NOW)
    recorder = _Recorder()
    relay = OutboxRelay(engine, recorder, batch_size=2, clock=clock)
    _commit(engine, 1, 2)
    _commit(engine, 3)
    with SqlUnitOfWorkFactory(engine)() as uow:
        uow.outbox.append(make_event(99))  # rolled back: never published
    clock.advance(timedelta(minutes=1))

    counts = [relay.relay_once() for _ in range(3)]

    assert counts == [2, 1, 0]
    assert _ids(recorder.published) == ["evt_1", "evt_2", "evt_3"]
    assert _unsent(engine) == []
    with engine.connect() as connection:
        sent = connection.scalars(select(outbox.c.sent_at)).all()
    assert sent == [NOW + timedelta(minutes=1)] * 3


def test_rows_committed_later_go_out_with_the_next_batch(engine: Engine) -> None:
    recorder = _Recorder()
    relay = OutboxRelay(engine, recorder, clock=FixedClock(NOW))
    _commit(engine, 1)
    relay.relay_once()

    _commit(engine, 2, 3)

    assert relay.relay_once() == 2
    assert _ids(recorder.published) == ["evt_1", "evt_2", "evt_3"]


def test_a_relay_that_dies_before_marking_leaves_its_rows_to_be_published_again(
    engine: Engine,
) -> None:
    _commit(engine, 1, 2, 3)
    dying = _DiesAfterPublishing(after=3)

    with pytest.raises(_Died):
        OutboxRelay(engine, dying, clock=FixedClock(NOW)).relay_once()
    assert _unsent(engine) == ["evt_1", "evt_2", "evt_3"]
    recorder = _Recorder()
    relayed = OutboxRelay(engine, recorder, clock=FixedClock(NOW)).relay_once()

    # At least once: the events went out twice; consumers drop the repeats by event id.
    assert _ids(dying.published) == ["evt_1", "evt_2", "evt_3"]
    assert relayed == 3
    assert _ids(recorder.published) == ["evt_1", "evt_2", "evt_3"]
    assert _unsent(engine) == []


def test_a_queue_that_fails_midway_leaves_the_whole_batch_unsent(engine: Engine) -> None:
    _commit(engine, 1, 2, 3)

    with pytest.raises(_Died):
        OutboxRelay(engine, _DiesAfterPublishing(after=2), clock=FixedClock(NOW)).relay_once()

    assert _unsent(engine) == ["evt_1", "evt_2", "evt_3"]


def test_relays_racing_on_postgres_publish_each_row_once_in_order(
    postgres_engine: Engine,
) -> None:
    for first in range(0, 200, 20):
        _commit(postgres_engine, *range(first, first + 20))
    recorder = _Recorder()
    relays = [
        OutboxRelay(postgres_engine, recorder, batch_size=7, clock=FixedClock(NOW))
        for _ in range(4)
    ]
    start = threading.Barrier(len(relays))

    def run(relay: OutboxRelay) -> int:
        start.wait()
        published = 0
        while _unsent(postgres_engine):
            published += relay.relay_once()
        return published

    with ThreadPoolExecutor(len(relays)) as pool:
        counts = list(pool.map(run, relays))

    assert sum(counts) == 200
    assert _ids(recorder.published) == [f"evt_{number}" for number in range(200)]


def test_a_relay_steps_back_while_another_holds_the_earlier_rows(
    postgres_engine: Engine,
) -> None:
    _commit(postgres_engine, 1, 2, 3, 4)
    holding = threading.Event()
    go_on = threading.Event()
    recorder = _Recorder()

    class _Slow(_Recorder):
        def publish(self, event: DomainEvent) -> None:
            holding.set()
            assert go_on.wait(10)
            recorder.publish(event)

    slow = OutboxRelay(postgres_engine, _Slow(), batch_size=2, clock=FixedClock(NOW))
    other = OutboxRelay(postgres_engine, recorder, batch_size=2, clock=FixedClock(NOW))
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(slow.relay_once)
        assert holding.wait(10)
        stepped_back = other.relay_once()
        go_on.set()
        assert held.result() == 2

    assert stepped_back == 0
    assert other.relay_once() == 2
    assert _ids(recorder.published) == ["evt_1", "evt_2", "evt_3", "evt_4"]


def test_a_batch_holds_at_least_one_row(sqlite_engine: Engine) -> None:
    with pytest.raises(ValueError, match="at least one"):
        OutboxRelay(sqlite_engine, _Recorder(), batch_size=0, clock=FixedClock(NOW))
