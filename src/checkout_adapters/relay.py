"""The outbox relay: committed outbox rows onto the message queue, in id order, at least once.

:meth:`OutboxRelay.relay_once` is one transaction: take up to
``batch_size`` unsent rows, oldest first, publish each event to the queue
in that order, then mark the rows sent (``sent_at``) and commit. A relay
that dies after publishing and before committing has marked nothing; its
rows are published again by the next relay (at least once: consumers
ignore a repeat by the event's id).

On PostgreSQL the rows are taken ``FOR UPDATE SKIP LOCKED``, so several
relays may run at once without waiting for each other and without
publishing a row twice in normal operation. Two relays locking at the same
moment may interleave their batches (one takes rows 1-3 and 5, the other
row 4), so to keep the id order a relay publishes only the part of its
batch that runs unbroken from the first unsent row: rows after a row held
by another relay that has not committed yet stay unsent this time, and a
batch that does not start at the first unsent row publishes nothing.
Batches go out one after another, in order, whichever relay sends them.
On SQLite every transaction begins ``IMMEDIATE``, so relays take turns.

Rows are ordered by id, which follows the order in which the rows were
inserted; a transaction that commits after a later one may make its row
visible after a greater id was published. The relay publishes it then,
late: order is per row id, never an event skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final, Protocol

from sqlalchemy import Engine, bindparam, select, update

from checkout_adapters.sqlalchemy.serialization import load_event
from checkout_adapters.sqlalchemy.tables import outbox
from checkout_core.domain.events import DomainEvent
from checkout_core.ports import Clock

__all__ = ["EventPublisher", "OutboxRelay"]

_c = outbox.c
_UNSENT: Final = (
    select(_c.id, _c.name, _c.payload)
    .where(_c.sent_at.is_(None))
    .order_by(_c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_UNSENT_THROUGH: Final = (
    select(_c.id).where(_c.sent_at.is_(None), _c.id <= bindparam("last")).order_by(_c.id)
)
_MARK_SENT: Final = (
    update(outbox)
    .where(_c.id.in_(bindparam("ids", expanding=True)))
    .values(sent_at=bindparam("now"))
)


def _unbroken(ids: Sequence[int], unsent: Iterable[int]) -> int:
    """How many of ``ids`` run from the first of the ``unsent`` ids with no other id between."""
    for count, (taken, first) in enumerate(zip(ids, unsent, strict=False)):
        if taken != first:
            return count
    return len(ids)


class EventPublisher(Protocol):
    """Where the relay puts events: any :class:`~checkout_core.ports.MessageQueue` will do."""

    def publish(self, event: DomainEvent) -> None:
        """Put ``event`` on the queue."""
        ...


class OutboxRelay:
    """Moves the committed, unsent events of ``engine``'s outbox to ``queue``, a batch at a time."""

    def __init__(
        self, engine: Engine, queue: EventPublisher, *, batch_size: int = 100, clock: Clock
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"a batch holds at least one event, not {batch_size}")
        self._engine = engine
        self._queue = queue
        self._batch_size = batch_size
        self._clock = clock

    def relay_once(self) -> int:
        """Publish one batch of unsent events in id order and mark them sent; return how many.

        ``0`` when nothing is waiting, or when another relay is sending the
        rows before this batch. An exception from the queue propagates, and
        the batch stays unsent, to be published again.
        """
        with self._engine.begin() as connection:
            rows = connection.execute(_UNSENT, {"limit": self._batch_size}).all()
            if not rows:
                return 0
            if connection.dialect.name == "postgresql":
                unsent = connection.execute(_UNSENT_THROUGH, {"last": rows[-1].id}).scalars()
                rows = rows[: _unbroken([row.id for row in rows], unsent)]
                if not rows:
                    return 0
            for row in rows:
                self._queue.publish(load_event(row.name, row.payload))
            connection.execute(
                _MARK_SENT, {"ids": [row.id for row in rows], "now": self._clock.now()}
            )
        return len(rows)
