"""The message queue of the embedded default: the outbox table itself, read by consumer groups.

No broker: an event committed to ``outbox`` is a message, its id the
message id. What each consumer group made of each event is a row of
``outbox_deliveries`` (``group_name``, ``outbox_id``), written when the event
is first delivered to the group:

* ``pending``, with ``attempts`` (deliveries so far), ``due_at`` (when it may
  be delivered again), the ``consumer`` holding it and ``leased_until``;
* ``done`` once acknowledged, never delivered to the group again;
* ``dead``, with the last ``error`` and ``failed_at``, until replayed.

:meth:`SqlOutboxQueue.receive` gives, in one transaction, first the
group's pending rows whose ``due_at`` has come (retries that are due, and
messages whose consumer's lease ran out: a consumer that died loses
nothing), then the outbox events the group has no row for, in id order. A
delivered row gets ``attempts + 1`` and is leased to the consumer until
``now + visibility`` (``due_at`` is moved to the end of the lease, so one
indexed condition, ``due_at <= now``, finds everything due). Time is the
injected clock's.

Several consumers may receive at once. On PostgreSQL the due rows are taken
with ``FOR UPDATE SKIP LOCKED``, so two consumers never lease the same one;
a new event is claimed by inserting its row with ``ON CONFLICT DO NOTHING``,
so of two consumers of a group that reach for the same event only one gets
it back (the other, having waited for the first to commit, looks again
further on). Claiming by insert rather than by locking the outbox row keeps
the groups from holding each other up, or out of order. On SQLite every
transaction begins ``IMMEDIATE``, so receivers take turns.

:meth:`~SqlOutboxQueue.publish` is nothing in the normal flow: the event was
committed to the outbox with the change that made it, and the outbox row *is*
the message. An event that is not in the outbox yet is appended to it (once:
the outbox keeps one row per event id), so a relay pointed at this queue, or
a caller publishing directly, still works.

Finding the new events is an anti-join of the outbox against the group's
rows, which reads past the events the group handled; fine for one process's
embedded load, and the reason production uses Redis Streams.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from attrs import frozen
from sqlalchemy import Connection, Engine, exists, select, update

from checkout_adapters.sqlalchemy.dialects import insert_on_conflict
from checkout_adapters.sqlalchemy.repositories.outbox import outbox_row
from checkout_adapters.sqlalchemy.serialization import load_event
from checkout_adapters.sqlalchemy.tables import DeliveryStatus, outbox, outbox_deliveries
from checkout_core.domain.events import DomainEvent
from checkout_core.domain.messaging import DeadLetter, Delivery
from checkout_core.ports import Clock

__all__ = ["SqlOutboxQueue"]

_o = outbox.c
_d = outbox_deliveries.c
_PENDING: Final = DeliveryStatus.PENDING.value
_DONE: Final = DeliveryStatus.DONE.value
_DEAD: Final = DeliveryStatus.DEAD.value


def _check_receive(limit: int, wait: timedelta, visibility: timedelta) -> None:
    if limit < 1:
        raise ValueError(f"receive takes at least one message, not {limit}")
    if wait < timedelta(0):
        raise ValueError(f"a wait is not negative, not {wait}")
    if visibility <= timedelta(0):
        raise ValueError(f"a visibility is positive, not {visibility}")


class SqlOutboxQueue:
    """A :class:`~checkout_core.ports.MessageQueue` over ``engine``'s outbox, timed by ``clock``.

    ``poll_interval`` is how often :meth:`receive` looks again while it
    waits for a message (a database has nothing to block on).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock,
        poll_interval: timedelta = timedelta(milliseconds=100),
    ) -> None:
        if poll_interval <= timedelta(0):
            raise ValueError(f"a poll interval is positive, not {poll_interval}")
        self._engine = engine
        self._clock = clock
        self._poll_seconds = poll_interval.total_seconds()

    def publish(self, event: DomainEvent) -> None:
        """Nothing when ``event`` is in the outbox already (the normal case); else append it."""
        dialect = self._engine.dialect.name
        statement = insert_on_conflict(dialect, outbox).on_conflict_do_nothing(
            index_elements=[_o.event_id]
        )
        with self._engine.begin() as connection:
            connection.execute(statement, outbox_row(event))

    def receive(
        self, group: str, consumer: str, *, limit: int, wait: timedelta, visibility: timedelta
    ) -> list[Delivery]:
        """Up to ``limit`` deliveries: the group's due messages first, then new ones in id order.

        When there are none, looks again every ``poll_interval`` until
        ``wait`` (real time) has passed.
        """
        _check_receive(limit, wait, visibility)
        deadline = time.monotonic() + wait.total_seconds()
        while True:
            deliveries = self._take(group, consumer, limit, visibility)
            left = deadline - time.monotonic()
            if deliveries or left <= 0:
                return deliveries
            time.sleep(min(self._poll_seconds, left))

    def ack(self, group: str, delivery: Delivery) -> None:
        """The group is done with the message: it is never delivered to the group again."""
        self._set(group, delivery, status=_DONE, leased_until=None)

    def ack_many(self, group: str, deliveries: Sequence[Delivery]) -> None:
        """:meth:`ack` each of ``deliveries``, in one statement."""
        if not deliveries:
            return
        statement = (
            update(outbox_deliveries)
            .where(
                _d.group_name == group,
                _d.outbox_id.in_([int(delivery.message_id) for delivery in deliveries]),
                _d.status == _PENDING,
            )
            .values(status=_DONE, leased_until=None)
        )
        with self._engine.begin() as connection:
            connection.execute(statement)

    def retry_later(self, group: str, delivery: Delivery, delay: timedelta, error: str) -> None:
        """Deliver the message to the group again once ``delay`` has passed, one attempt later."""
        if delay < timedelta(0):
            raise ValueError(f"a delay is not negative, not {delay}")
        self._set(
            group,
            delivery,
            due_at=self._clock.now() + delay,
            error=error,
            consumer=None,
            leased_until=None,
        )

    def dead_letter(self, group: str, delivery: Delivery, error: str) -> None:
        """Give up on the message for the group: a dead letter with ``error``, until replayed."""
        self._set(
            group,
            delivery,
            status=_DEAD,
            error=error,
            failed_at=self._clock.now(),
            consumer=None,
            leased_until=None,
        )

    def dead_letters(self, group: str, *, limit: int = 100) -> list[DeadLetter]:
        """The group's dead letters, the first to fail first."""
        statement = (
            select(_d.outbox_id, _d.attempts, _d.error, _d.failed_at, _o.name, _o.payload)
            .join_from(outbox_deliveries, outbox, _d.outbox_id == _o.id)
            .where(_d.group_name == group, _d.status == _DEAD)
            .order_by(_d.failed_at, _d.outbox_id)
            .limit(limit)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(statement).all()
        return [
            DeadLetter(
                message_id=str(row.outbox_id),
                event=load_event(row.name, row.payload),
                attempts=row.attempts,
                error=row.error or "",
                failed_at=row.failed_at,
            )
            for row in rows
        ]

    def replay(self, group: str, message_ids: Collection[str] | None = None) -> int:
        """Make dead letters due again now, their attempts counted afresh; return how many."""
        statement = update(outbox_deliveries).where(_d.group_name == group, _d.status == _DEAD)
        if message_ids is not None:
            ids = [int(message_id) for message_id in message_ids if message_id.isdigit()]
            if not ids:
                return 0
            statement = statement.where(_d.outbox_id.in_(ids))
        statement = statement.values(
            status=_PENDING,
            attempts=0,
            due_at=self._clock.now(),
            consumer=None,
            leased_until=None,
            failed_at=None,
        )
        with self._engine.begin() as connection:
            return connection.execute(statement).rowcount

    def _take(self, group: str, consumer: str, limit: int, visibility: timedelta) -> list[Delivery]:
        now = self._clock.now()
        lease = _Lease(consumer, now, now + visibility)
        with self._engine.begin() as connection:
            due = _take_due(connection, group, lease, limit)
            taken = due + _take_new(connection, group, lease, limit - len(due))
            if not taken:
                return []
            ids = [outbox_id for outbox_id, _ in taken]
            events = {
                row.id: load_event(row.name, row.payload)
                for row in connection.execute(
                    select(_o.id, _o.name, _o.payload).where(_o.id.in_(ids))
                )
            }
        return [
            Delivery(str(outbox_id), events[outbox_id], attempt) for outbox_id, attempt in taken
        ]

    def _set(self, group: str, delivery: Delivery, **values: object) -> None:
        statement = (
            update(outbox_deliveries)
            .where(
                _d.group_name == group,
                _d.outbox_id == int(delivery.message_id),
                _d.status == _PENDING,
            )
            .values(**values)
        )
        with self._engine.begin() as connection:
            connection.execute(statement)


@frozen
class _Lease:
    """Who takes messages in one receive, when, and until when they are theirs."""

    consumer: str
    now: datetime
    until: datetime


def _take_due(
    connection: Connection, group: str, lease: _Lease, limit: int
) -> list[tuple[int, int]]:
    """Lease the group's messages due by now, oldest due first: (outbox id, attempt) each."""
    due = connection.execute(
        select(_d.outbox_id)
        .where(_d.group_name == group, _d.status == _PENDING, _d.due_at <= lease.now)
        .order_by(_d.due_at, _d.outbox_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not due:
        return []
    order = [row.outbox_id for row in due]
    leased = connection.execute(
        update(outbox_deliveries)
        .where(_d.group_name == group, _d.outbox_id.in_(order))
        .values(
            attempts=_d.attempts + 1,
            consumer=lease.consumer,
            leased_until=lease.until,
            due_at=lease.until,
        )
        .returning(_d.outbox_id, _d.attempts)
    ).all()
    attempts = {row.outbox_id: row.attempts for row in leased}
    return [(outbox_id, attempts[outbox_id]) for outbox_id in order]


def _take_new(
    connection: Connection, group: str, lease: _Lease, limit: int
) -> list[tuple[int, int]]:
    """Claim up to ``limit`` events the group never had, in id order: (outbox id, 1) each."""
    claim = (
        insert_on_conflict(connection.dialect.name, outbox_deliveries)
        .on_conflict_do_nothing(index_elements=[_d.group_name, _d.outbox_id])
        .returning(_d.outbox_id)
    )
    unseen = ~exists().where(_d.group_name == group, _d.outbox_id == _o.id)
    taken: list[int] = []
    while len(taken) < limit:
        candidates = connection.scalars(
            select(_o.id).where(unseen).order_by(_o.id).limit(limit - len(taken))
        ).all()
        if not candidates:
            break
        rows: list[dict[str, Any]] = [
            {
                "group_name": group,
                "outbox_id": outbox_id,
                "attempts": 1,
                "status": _PENDING,
                "due_at": lease.until,
                "consumer": lease.consumer,
                "leased_until": lease.until,
            }
            for outbox_id in candidates
        ]
        claimed = set(connection.scalars(claim.values(rows)).all())
        taken.extend(outbox_id for outbox_id in candidates if outbox_id in claimed)
        if len(claimed) == len(candidates):
            break
        # Another consumer of the group committed some of these first: look further on.
    return [(outbox_id, 1) for outbox_id in taken]
