"""The transactional outbox: events written in the transaction of the change that made them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import Any, Final, NamedTuple

from sqlalchemy import Connection, Engine, Row, bindparam, func, insert, select, update

from checkout_adapters.sqlalchemy.serialization import dump_event, load_event
from checkout_adapters.sqlalchemy.tables import outbox
from checkout_core.domain.events import DomainEvent
from checkout_core.domain.redelivery import RelayedEvent

__all__ = ["OutboxEntry", "SqlOutbox", "SqlOutboxReader", "outbox_row"]

_c = outbox.c
_APPEND: Final = insert(outbox)
_PENDING: Final = (
    select(_c.id, _c.name, _c.payload)
    .where(_c.sent_at.is_(None))
    .order_by(_c.id)
    .limit(bindparam("limit"))
)
_UNSENT: Final = (
    select(func.count())
    .select_from(outbox)
    .where(_c.sent_at.is_(None), _c.occurred_at < bindparam("before"))
)
_MARK_SENT: Final = (
    update(outbox)
    .where(_c.id.in_(bindparam("ids", expanding=True)), _c.sent_at.is_(None))
    .values(sent_at=bindparam("now"))
)
_RELAYED: Final = (
    select(_c.event_id, _c.order_token, _c.occurred_at, _c.sent_at)
    .where(
        _c.name == bindparam("name"),
        _c.order_token.in_(bindparam("tokens", expanding=True)),
        _c.sent_at.is_not(None),
    )
    .order_by(_c.id)
)
_RELAYED_BY_ID: Final = (
    select(_c.event_id, _c.order_token, _c.occurred_at, _c.sent_at)
    .where(_c.event_id.in_(bindparam("ids", expanding=True)), _c.sent_at.is_not(None))
    .order_by(_c.id)
)
# Compare and set: a row a relay published again since it was read keeps its new mark.
_RESEND: Final = (
    update(outbox)
    .where(_c.event_id == bindparam("key"), _c.sent_at == bindparam("read_sent_at"))
    .values(sent_at=None)
)


def outbox_row(event: DomainEvent) -> dict[str, object]:
    """The row of ``event`` in the ``outbox`` table, unsent: what appending it writes."""
    return {
        "event_id": event.event_id,
        "name": event.name,
        "payload": dump_event(event),
        "occurred_at": event.occurred_at,
        "order_token": event.order_token,
    }


def _relayed(rows: Iterable[Row[Any]]) -> list[RelayedEvent]:
    return [
        RelayedEvent(row.event_id, row.order_token, row.occurred_at, row.sent_at) for row in rows
    ]


class SqlOutbox:
    """The ``outbox`` table, in the transaction of the ``connection()`` at hand.

    Events are appended with their order's token in a column of its own, so
    that an order's events are found without reading their JSON.
    """

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection

    def append(self, event: DomainEvent) -> None:
        """Queue ``event``; it is published only if the transaction commits."""
        self._connection().execute(_APPEND, outbox_row(event))

    def count_unsent(self, occurred_before: datetime) -> int:
        """Events that occurred before ``occurred_before`` and were never marked sent.

        Read through the partial index of unsent rows. Meaningful where a
        relay publishes the outbox: the embedded queue reads the rows
        without ever marking them sent.
        """
        result = self._connection().execute(_UNSENT, {"before": occurred_before})
        return int(result.scalar_one())

    def relayed(self, name: str, order_tokens: Collection[str]) -> list[RelayedEvent]:
        """The events called ``name`` of these orders marked sent, in id order.

        Found through the index on ``order_token``.
        """
        tokens = sorted(set(order_tokens))
        if not tokens:
            return []
        return _relayed(self._connection().execute(_RELAYED, {"name": name, "tokens": tokens}))

    def relayed_events(self, event_ids: Collection[str]) -> list[RelayedEvent]:
        """The events among ``event_ids`` marked sent, in id order (through ``event_id``'s key)."""
        ids = sorted(set(event_ids))
        if not ids:
            return []
        return _relayed(self._connection().execute(_RELAYED_BY_ID, {"ids": ids}))

    def resend(self, events: Collection[RelayedEvent]) -> int:
        """Mark unsent again the rows of ``events`` still marked sent at their ``sent_at``."""
        connection = self._connection()
        return sum(
            connection.execute(
                _RESEND, {"key": event.event_id, "read_sent_at": event.sent_at}
            ).rowcount
            for event in events
        )


class OutboxEntry(NamedTuple):
    """One row of the outbox not yet sent: its position, its event's name and the event."""

    id: int
    name: str
    event: DomainEvent


class SqlOutboxReader:
    """Reads the events waiting in the outbox, oldest first, and marks them sent.

    This is the adapter's side of the outbox, for a publisher, the demo and tests;
    the core only ever appends.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def pending(self, limit: int = 100) -> list[OutboxEntry]:
        """Up to ``limit`` events not yet sent, in the order they were written."""
        with self._engine.connect() as connection:
            rows = connection.execute(_PENDING, {"limit": limit}).all()
        return [OutboxEntry(row.id, row.name, load_event(row.name, row.payload)) for row in rows]

    def mark_sent(self, ids: Collection[int], now: datetime) -> int:
        """Record that the events ``ids`` were published at ``now``; return how many were new."""
        if not ids:
            return 0
        with self._engine.begin() as connection:
            return connection.execute(_MARK_SENT, {"ids": list(ids), "now": now}).rowcount
