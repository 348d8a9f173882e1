"""The message queue over the in-memory store's outbox, and a relay from that outbox to any queue.

:class:`InMemoryQueue` is the twin of the SQL adapter's ``SqlOutboxQueue``:
the events committed to :attr:`InMemoryStore.outbox` are the messages, their
positions the message ids. Each consumer group keeps how far it has read
(the outbox's positions only grow, and transactions on the store run one at
a time, so every event past that position is new to the group) and, for
each message delivered and not yet acknowledged, its attempts, when it is
due again and whether it is dead. Time is the injected clock's: a delivery
is leased until ``now + visibility``, a retry is due at ``now + delay``.

Everything happens under the store's lock, so the queue sees only what was
committed; call it outside a unit of work (the lock is re-entrant, so a
thread inside one would also see what its own transaction wrote).

:class:`InMemoryRelay` moves the store's committed events to another queue
(Redis Streams in a test, say), in order, marking each sent.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from attrs import define, field

from checkout_adapters.memory.store import InMemoryStore
from checkout_core.domain.events import DomainEvent
from checkout_core.domain.messaging import DeadLetter, Delivery
from checkout_core.ports import Clock

__all__ = ["InMemoryQueue", "InMemoryRelay"]


@define
class _Pending:
    """A message of a group delivered at least once and not acknowledged: retried or dead."""

    attempts: int
    due_at: datetime
    dead: bool = False
    error: str | None = None
    failed_at: datetime | None = None


@define
class _Group:
    read_up_to: int = 0
    """The last outbox position delivered to the group for the first time."""
    pending: dict[int, _Pending] = field(factory=dict)


def _check_receive(limit: int, wait: timedelta, visibility: timedelta) -> None:
    if limit < 1:
        raise ValueError(f"receive takes at least one message, not {limit}")
    if wait < timedelta(0):
        raise ValueError(f"a wait is not negative, not {wait}")
    if visibility <= timedelta(0):
        raise ValueError(f"a visibility is positive, not {visibility}")


class InMemoryQueue:
    """A :class:`~checkout_core.ports.MessageQueue` over ``store``'s outbox, timed by ``clock``."""

    def __init__(
        self,
        store: InMemoryStore,
        clock: Clock,
        *,
        poll_interval: timedelta = timedelta(milliseconds=10),
    ) -> None:
        if poll_interval <= timedelta(0):
            raise ValueError(f"a poll interval is positive, not {poll_interval}")
        self._store = store
        self._clock = clock
        self._poll_seconds = poll_interval.total_seconds()
        self._groups: dict[str, _Group] = {}

    def publish(self, event: DomainEvent) -> None:
        """Nothing when ``event`` is in the outbox already (the normal case); else append it."""
        store = self._store
        with store.lock:
            if any(stored.event_id == event.event_id for stored in store.outbox.values()):
                return
            store.outbox[store.next_outbox_position()] = event

    def receive(
        self, group: str, consumer: str, *, limit: int, wait: timedelta, visibility: timedelta
    ) -> list[Delivery]:
        """Up to ``limit`` deliveries: the group's due messages first, then new ones in order.

        When there are none, looks again every ``poll_interval`` until
        ``wait`` (real time) has passed.
        """
        _check_receive(limit, wait, visibility)
        del consumer  # any consumer of the group may take any message
        deadline = time.monotonic() + wait.total_seconds()
        while True:
            deliveries = self._take(group, limit, visibility)
            left = deadline - time.monotonic()
            if deliveries or left <= 0:
                return deliveries
            time.sleep(min(self._poll_seconds, left))

    def ack(self, group: str, delivery: Delivery) -> None:
        """The group is done with the message: it is never delivered to the group again."""
        with self._store.lock:
            pending = self._group(group).pending
            position = int(delivery.message_id)
            if position in pending and not pending[position].dead:
                del pending[position]

    def ack_many(self, group: str, deliveries: Sequence[Delivery]) -> None:
        """:meth:`ack` each of ``deliveries``."""
        for delivery in deliveries:
            self.ack(group, delivery)

    def retry_later(self, group: str, delivery: Delivery, delay: timedelta, error: str) -> None:
        """Deliver the message to the group again once ``delay`` has passed, one attempt later."""
        if delay < timedelta(0):
            raise ValueError(f"a delay is not negative, not {delay}")
        with self._store.lock:
            pending = self._group(group).pending.get(int(delivery.message_id))
            if pending is not None and not pending.dead:
                pending.due_at = self._clock.now() + delay
                pending.error = error

    def dead_letter(self, group: str, delivery: Delivery, error: str) -> None:
        """Give up on the message for the group: a dead letter with ``error``, until replayed."""
        with self._store.lock:
            pending = self._group(group).pending.get(int(delivery.message_id))
            if pending is not None and not pending.dead:
                pending.dead = True
                pending.error = error
                pending.failed_at = self._clock.now()

    def dead_letters(self, group: str, *, limit: int = 100) -> list[DeadLetter]:
        """The group's dead letters, the first to fail first."""
        with self._store.lock:
            return [
                DeadLetter(
                    message_id=str(position),
                    event=self._store.outbox[position],
                    attempts=letter.attempts,
                    error=letter.error or "",
                    failed_at=failed_at,
                )
                for position, letter, failed_at in self._dead(group)[:limit]
            ]

    def replay(self, group: str, message_ids: Collection[str] | None = None) -> int:
        """Make dead letters due again now, their attempts counted afresh; return how many."""
        with self._store.lock:
            wanted = None if message_ids is None else set(message_ids)
            now = self._clock.now()
            replayed = 0
            for position, letter, _ in self._dead(group):
                if wanted is None or str(position) in wanted:
                    self._group(group).pending[position] = _Pending(
                        attempts=0, due_at=now, error=letter.error
                    )
                    replayed += 1
            return replayed

    def _dead(self, group: str) -> list[tuple[int, _Pending, datetime]]:
        dead = [
            (position, letter, letter.failed_at)
            for position, letter in self._group(group).pending.items()
            if letter.dead and letter.failed_at is not None
        ]
        return sorted(dead, key=lambda each: (each[2], each[0]))

    def _take(self, group_name: str, limit: int, visibility: timedelta) -> list[Delivery]:
        store = self._store
        with store.lock:
            group = self._group(group_name)
            now = self._clock.now()
            lease = now + visibility
            due = sorted(
                (pending.due_at, position)
                for position, pending in group.pending.items()
                if not pending.dead and pending.due_at <= now
            )[:limit]
            deliveries = []
            for _, position in due:
                pending = group.pending[position]
                pending.attempts += 1
                pending.due_at = lease
                deliveries.append(Delivery(str(position), store.outbox[position], pending.attempts))
            if len(deliveries) < limit:
                fresh = sorted(position for position in store.outbox if position > group.read_up_to)
                for position in fresh[: limit - len(deliveries)]:
                    group.pending[position] = _Pending(attempts=1, due_at=lease)
                    group.read_up_to = position
                    deliveries.append(Delivery(str(position), store.outbox[position], 1))
            return deliveries

    def _group(self, name: str) -> _Group:
        return self._groups.setdefault(name, _Group())


class _Publisher(Protocol):
    """Where a relay puts events: any :class:`~checkout_core.ports.MessageQueue` will do."""

    def publish(self, event: DomainEvent) -> None:
        """Put ``event`` on the queue."""
        ...


class InMemoryRelay:
    """Publishes the events committed to ``store``'s outbox to ``queue``, oldest first.

    As the SQL adapter's ``OutboxRelay`` does with ``sent_at``, it marks
    each event it published sent, at ``clock``'s time, in
    :attr:`InMemoryStore.outbox_sent`, and publishes the events without a
    mark: those never published, and those whose mark was taken off to
    publish them again (``Outbox.resend``).
    """

    def __init__(
        self, store: InMemoryStore, queue: _Publisher, *, clock: Clock, batch_size: int = 100
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"a batch holds at least one event, not {batch_size}")
        self._store = store
        self._queue = queue
        self._clock = clock
        self._batch_size = batch_size

    def relay_once(self) -> int:
        """Publish up to ``batch_size`` unsent events in order, marking each sent; return how many.

        An exception from the queue propagates; the event it was given and
        those after it stay unsent, to be published again.
        """
        store = self._store
        with store.lock:
            unsent = sorted(
                (
                    (position, event)
                    for position, event in store.outbox.items()
                    if position not in store.outbox_sent
                ),
                key=lambda each: each[0],
            )[: self._batch_size]
        for position, event in unsent:
            self._queue.publish(event)
            with store.lock:
                store.outbox_sent[position] = self._clock.now()
        return len(unsent)
