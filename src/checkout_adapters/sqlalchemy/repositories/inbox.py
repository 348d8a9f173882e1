"""Webhook deliveries in the ``webhook_inbox`` table, once each by (provider, event id)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from functools import cache
from typing import Any, Final

from sqlalchemy import Connection, Row, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert

from checkout_adapters.sqlalchemy.dialects import insert_on_conflict
from checkout_adapters.sqlalchemy.tables import webhook_inbox
from checkout_core.domain.webhooks import InboxEntry, InboxStatus

__all__ = ["SqlWebhookInbox"]

_c = webhook_inbox.c
_GET: Final = select(webhook_inbox).where(
    _c.provider == bindparam("b_provider"), _c.event_id == bindparam("b_event_id")
)
_GET_MANY: Final = select(webhook_inbox).where(
    _c.provider == bindparam("b_provider"),
    _c.event_id.in_(bindparam("b_event_ids", expanding=True)),
)
_MARK_MANY: Final = (
    update(webhook_inbox)
    .where(
        _c.provider == bindparam("b_provider"),
        _c.event_id.in_(bindparam("b_event_ids", expanding=True)),
    )
    .values(status=bindparam("b_status"), detail=None)
)
_MARK: Final = (
    update(webhook_inbox)
    .where(_c.provider == bindparam("b_provider"), _c.event_id == bindparam("b_event_id"))
    .values(status=bindparam("b_status"), detail=bindparam("b_detail"))
)


_RECLAIM: Final = (
    update(webhook_inbox)
    .where(_c.provider == bindparam("b_provider"), _c.event_id == bindparam("b_event_id"))
    .values(status=InboxStatus.CLAIMED.value, received_at=bindparam("b_at"))
)


# Read through the index on (status, received_at); nothing is locked, nothing is written.
_STALE_CLAIMS: Final = (
    select(webhook_inbox)
    .where(
        _c.status == InboxStatus.CLAIMED.value,
        _c.provider == bindparam("b_provider"),
        _c.type == bindparam("b_type"),
        _c.received_at >= bindparam("b_from"),
        _c.received_at < bindparam("b_before"),
    )
    .order_by(_c.received_at, _c.event_id)
    .limit(bindparam("b_limit"))
)
_STALE_CLAIMS_AFTER: Final = _STALE_CLAIMS.where(
    _c.received_at >= bindparam("b_after_at"),
    or_(_c.received_at > bindparam("b_after_at"), _c.event_id > bindparam("b_after_id")),
)


def _values(entry: InboxEntry) -> dict[str, Any]:
    return {
        "provider": entry.provider,
        "event_id": entry.event_id,
        "type": entry.type,
        "status": entry.status.value,
        "detail": entry.detail,
        "body": entry.body,
        "received_at": entry.received_at,
    }


def _entry(row: Row[Any]) -> InboxEntry:
    return InboxEntry(
        provider=row.provider,
        event_id=row.event_id,
        type=row.type,
        received_at=row.received_at,
        status=InboxStatus(row.status),
        body=row.body,
        detail=row.detail,
    )


@cache
def _record_many(dialect: str) -> postgresql.Insert | sqlite.Insert:
    return insert_on_conflict(dialect, webhook_inbox).on_conflict_do_nothing(
        index_elements=[_c.provider, _c.event_id]
    )


@cache
def _record(dialect: str) -> ReturningInsert[Any]:
    # Concurrent deliveries of one event meet at the primary key: one inserts, the rest wait
    # for it and then insert nothing.
    return (
        insert_on_conflict(dialect, webhook_inbox)
        .on_conflict_do_nothing(index_elements=[_c.provider, _c.event_id])
        .returning(_c.event_id)
    )


class SqlWebhookInbox:
    """Webhook deliveries, in the transaction of the ``connection()`` at hand."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection

    def record(self, entry: InboxEntry) -> bool:
        """Record a delivery; ``False`` when it was recorded before."""
        connection = self._connection()
        values = _values(entry)
        return connection.execute(_record(connection.dialect.name), values).first() is not None

    def record_many(self, entries: Sequence[InboxEntry]) -> int:
        """Record deliveries in one statement, skipping those recorded before; return how many."""
        if not entries:
            return 0
        connection = self._connection()
        statement = (
            _record_many(connection.dialect.name)
            .values([_values(e) for e in entries])
            .returning(_c.event_id)
        )
        return len(connection.execute(statement).all())

    def get_many(self, provider: str, event_ids: Collection[str]) -> dict[str, InboxEntry]:
        """The recorded deliveries of ``provider`` among ``event_ids``, by event id."""
        ids = sorted(set(event_ids))
        if not ids:
            return {}
        parameters = {"b_provider": provider, "b_event_ids": ids}
        rows = self._connection().execute(_GET_MANY, parameters)
        return {row.event_id: _entry(row) for row in rows}

    def mark_many(self, provider: str, event_ids: Collection[str], status: InboxStatus) -> int:
        """Give the recorded deliveries among ``event_ids`` ``status``; return how many."""
        ids = sorted(set(event_ids))
        if not ids:
            return 0
        parameters = {"b_provider": provider, "b_event_ids": ids, "b_status": status.value}
        return int(self._connection().execute(_MARK_MANY, parameters).rowcount)

    def mark(self, provider: str, event_id: str, status: InboxStatus, detail: str | None) -> None:
        """Say what became of a recorded delivery; an unknown one raises :class:`ValueError`."""
        parameters = {
            "b_provider": provider,
            "b_event_id": event_id,
            "b_status": status.value,
            "b_detail": detail,
        }
        if self._connection().execute(_MARK, parameters).rowcount != 1:
            raise ValueError(f"{provider} event {event_id} is not recorded")

    def reclaim(self, provider: str, event_id: str, at: datetime) -> None:
        """Claim a recorded delivery again, since ``at``; an unknown one raises ValueError."""
        parameters = {"b_provider": provider, "b_event_id": event_id, "b_at": at}
        if self._connection().execute(_RECLAIM, parameters).rowcount != 1:
            raise ValueError(f"{provider} event {event_id} is not recorded")

    def stale_claims(  # noqa: PLR0913 - the port's signature
        self,
        provider: str,
        type: str,  # noqa: A002 - the entries' field is named type
        claimed_from: datetime,
        claimed_before: datetime,
        *,
        after: InboxEntry | None,
        limit: int,
    ) -> list[InboxEntry]:
        """Entries still claimed since a time in the window, oldest claim first."""
        if limit <= 0:
            return []
        parameters: dict[str, Any] = {
            "b_provider": provider,
            "b_type": type,
            "b_from": claimed_from,
            "b_before": claimed_before,
            "b_limit": limit,
        }
        if after is not None:
            parameters |= {"b_after_at": after.received_at, "b_after_id": after.event_id}
        statement = _STALE_CLAIMS if after is None else _STALE_CLAIMS_AFTER
        return [_entry(row) for row in self._connection().execute(statement, parameters)]

    def get(self, provider: str, event_id: str) -> InboxEntry | None:
        """The recorded delivery, if any."""
        parameters = {"b_provider": provider, "b_event_id": event_id}
        row = self._connection().execute(_GET, parameters).one_or_none()
        return None if row is None else _entry(row)
