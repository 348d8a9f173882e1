"""Indexes for the scheduled jobs: reconciling unsettled payments, and the orphan report.

``ix_payments_unsettled`` holds only the payments with no money taken yet
(created, authorized or failed), in ``(updated_at, id)`` order: the order in
which reconciliation and the retry of payment sessions walk them, without
reading the captured payments that make up most of the table.
``ix_payments_created_at`` lets the orphan report count the payments of the
last days.

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNSETTLED = "status IN ('created', 'authorized', 'failed')"


def upgrade() -> None:
    """Create the two indexes on ``payments``."""
    op.create_index(
        "ix_payments_unsettled",
        "payments",
        ["updated_at", "id"],
        postgresql_where=sa.text(_UNSETTLED),
        sqlite_where=sa.text(_UNSETTLED),
    )
    op.create_index("ix_payments_created_at", "payments", ["created_at"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_payments_created_at", table_name="payments")
    op.drop_index("ix_payments_unsettled", table_name="payments")
