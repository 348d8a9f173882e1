"""Enrollments in the ``enrollments`` table: one per (order, offering), whatever happens."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, Final

from sqlalchemy import Connection, Row, bindparam, select
from sqlalchemy.sql.dml import ReturningInsert

from checkout_adapters.sqlalchemy.dialects import insert_on_conflict
from checkout_adapters.sqlalchemy.tables import enrollments
from checkout_core.domain.catalog import Period
from checkout_core.domain.enrollments import Enrollment

__all__ = ["SqlEnrollmentRepository"]

_c = enrollments.c
_FOR_ORDER: Final = (
    select(enrollments).where(_c.order_token == bindparam("order_token")).order_by(_c.seq)
)


@cache
def _insert_missing(dialect: str) -> ReturningInsert[Any]:
    # The unique (order, offering) decides what is missing, even against a
    # concurrent worker enrolling the same order: its rows make ours a no-op.
    return (
        insert_on_conflict(dialect, enrollments)
        .on_conflict_do_nothing(index_elements=[_c.order_token, _c.offering_id])
        .returning(_c.id)
    )


def _values(enrollment: Enrollment) -> dict[str, Any]:
    return {
        "id": enrollment.id,
        "order_token": enrollment.order_token,
        "offering_id": enrollment.offering_id,
        "user_id": enrollment.user_id,
        "period_value": enrollment.period.value,
        "period_unit": enrollment.period.unit.value,
        "created_at": enrollment.created_at,
    }


def _enrollment(row: Row[Any]) -> Enrollment:
    return Enrollment(
        id=row.id,
        user_id=row.user_id,
        offering_id=row.offering_id,
        period=Period(row.period_value, row.period_unit),
        order_token=row.order_token,
        created_at=row.created_at,
    )


class SqlEnrollmentRepository:
    """Enrollments, in the transaction of the ``connection()`` at hand."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection

    def add_missing(self, enrollments: Sequence[Enrollment]) -> list[Enrollment]:
        """Store the enrollments not stored yet (by order and offering); return those added.

        One statement for the whole batch; those it returns keep the order given.
        """
        if not enrollments:
            return []
        statement = _insert_missing(self._connection().dialect.name)
        result = self._connection().execute(statement, [_values(each) for each in enrollments])
        added = set(result.scalars())
        return [each for each in enrollments if each.id in added]

    def for_order(self, order_token: str) -> list[Enrollment]:
        """The enrollments an order made, in the order they were made."""
        rows = self._connection().execute(_FOR_ORDER, {"order_token": order_token})
        return [_enrollment(row) for row in rows]
