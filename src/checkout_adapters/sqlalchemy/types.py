"""Column types that read back the same on PostgreSQL and SQLite.

SQLite has no timezone-aware timestamp and no JSONB; these types hide the
difference, so a repository reads the same values from either database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["Json", "UtcDateTime"]


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, stored in UTC and read back timezone-aware in UTC.

    PostgreSQL keeps it as ``timestamptz``. SQLite keeps it as text without
    an offset, which is why every value is converted to UTC before it is
    written: text compares in time order only when every value has one zone.
    A naive datetime is refused, as the domain refuses it.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse a naive time; convert an aware one to UTC (naive UTC for SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"a stored time must be timezone-aware, not {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read the stored time back as an aware UTC datetime."""
        del dialect
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Json(TypeDecorator[Any]):
    """A JSON document: ``jsonb`` on PostgreSQL, JSON text elsewhere."""

    # none_as_null: a Python None is SQL NULL, not the JSON text "null".
    impl = JSON(none_as_null=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Use ``jsonb`` on PostgreSQL: smaller, and comparable should an index need it."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(JSON(none_as_null=True))
