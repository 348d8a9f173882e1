"""What differs between PostgreSQL and SQLite in the statements the repositories run.

Both dialects have ``INSERT ... ON CONFLICT``, each through its own ``insert``
construct; both name a violated constraint, each in its own words.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

__all__ = ["insert_on_conflict", "violates"]


def insert_on_conflict(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An ``INSERT`` into ``table`` that can say ``ON CONFLICT`` in the ``dialect`` named."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def violates(error: IntegrityError, constraint: str, *columns: str) -> bool:
    """Whether ``error`` is the violation of the unique ``constraint`` on ``columns``.

    PostgreSQL names the constraint (its name comes from the naming
    convention in ``tables.py``); SQLite names the columns instead
    (``UNIQUE constraint failed: orders.cart_token``).
    """
    diagnostics = getattr(error.orig, "diag", None)
    if diagnostics is not None:
        return getattr(diagnostics, "constraint_name", None) == constraint
    message = str(error.orig)
    return message.startswith("UNIQUE constraint failed: ") and message.removeprefix(
        "UNIQUE constraint failed: "
    ).split(", ") == list(columns)
