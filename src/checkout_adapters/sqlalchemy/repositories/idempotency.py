"""Idempotency records in the ``idempotency_keys`` table: the database makes a claim exclusive."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, Final

from sqlalchemy import Connection, Row, and_, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert

from checkout_adapters.sqlalchemy.dialects import insert_on_conflict
from checkout_adapters.sqlalchemy.tables import idempotency_keys
from checkout_core.domain.idempotency import IdempotencyRecord, IdempotencyState

__all__ = ["SqlIdempotencyStore"]

_c = idempotency_keys.c
_GET: Final = select(idempotency_keys).where(_c.key == bindparam("old_key"))
# A takeover replaces the record read before only if it is still exactly that
# record: of two callers taking over one key, the second finds it changed.
_REPLACE: Final = update(idempotency_keys).where(
    and_(
        *(
            column.is_not_distinct_from(bindparam(f"old_{column.name}"))
            for column in idempotency_keys.columns
        )
    )
)
_RELEASE: Final = delete(idempotency_keys).where(
    _c.key == bindparam("old_key"),
    _c.fingerprint == bindparam("old_fingerprint"),
    _c.state == IdempotencyState.IN_PROGRESS.value,
)


@cache
def _claim(dialect: str) -> ReturningInsert[Any]:
    return (
        insert_on_conflict(dialect, idempotency_keys)
        .on_conflict_do_nothing(index_elements=[_c.key])
        .returning(_c.key)
    )


@cache
def _store(dialect: str) -> postgresql.Insert | sqlite.Insert:
    statement = insert_on_conflict(dialect, idempotency_keys)
    return statement.on_conflict_do_update(
        index_elements=[_c.key],
        set_={
            column.name: statement.excluded[column.name]
            for column in idempotency_keys.columns
            if column.name != "key"
        },
    )


def _values(record: IdempotencyRecord) -> dict[str, Any]:
    return {
        "key": record.key,
        "fingerprint": record.fingerprint,
        "state": record.state.value,
        "status_code": record.status_code,
        "response_body": record.response_body,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "locked_until": record.locked_until,
    }


def _record(row: Row[Any]) -> IdempotencyRecord:
    return IdempotencyRecord(
        key=row.key,
        fingerprint=row.fingerprint,
        state=IdempotencyState(row.state),
        created_at=row.created_at,
        expires_at=row.expires_at,
        locked_until=row.locked_until,
        status_code=row.status_code,
        response_body=row.response_body,
    )


class SqlIdempotencyStore:
    """Idempotency records by key, in the transaction of the ``connection()`` at hand."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection

    def get(self, key: str) -> IdempotencyRecord | None:
        """The record of ``key``, if any."""
        row = self._connection().execute(_GET, {"old_key": key}).one_or_none()
        return None if row is None else _record(row)

    def claim(self, record: IdempotencyRecord, *, replacing: IdempotencyRecord | None) -> bool:
        """Store the in-progress ``record`` if nobody else holds its key; say if it was stored.

        Without ``replacing`` it is ``INSERT ... ON CONFLICT DO NOTHING``; with
        it, an ``UPDATE`` that matches only a row still equal to ``replacing``.

        Raises:
            ValueError: ``record`` is not in progress, or ``replacing`` is of another key.
        """
        if record.state is not IdempotencyState.IN_PROGRESS:
            raise ValueError(f"a claim on key {record.key!r} is an in-progress record")
        if replacing is None:
            statement = _claim(self._connection().dialect.name)
            return self._connection().execute(statement, _values(record)).first() is not None
        if replacing.key != record.key:
            raise ValueError(f"a claim on key {record.key!r} cannot replace key {replacing.key!r}")
        old = {f"old_{name}": value for name, value in _values(replacing).items()}
        result = self._connection().execute(_REPLACE, {**old, **_values(record)})
        return result.rowcount == 1

    def complete(self, record: IdempotencyRecord) -> None:
        """Store the completed ``record`` with the response to replay, replacing its claim.

        Raises:
            ValueError: ``record`` is not completed.
        """
        if record.state is not IdempotencyState.COMPLETED:
            raise ValueError(f"the record of key {record.key!r} is not completed")
        self._connection().execute(_store(self._connection().dialect.name), _values(record))

    def release(self, key: str, fingerprint: str) -> None:
        """Drop an in-progress claim after a fault, so a retry can proceed."""
        self._connection().execute(_RELEASE, {"old_key": key, "old_fingerprint": fingerprint})
