"""Indexes for the scheduled jobs: unsettled payments, stale orders, and the orphan report.

``ix_payments_unsettled`` holds only the payments with no money taken yet
(created, authorized or failed), by provider in ``(updated_at, id)`` order:
the order in which reconciliation and the retry of payment sessions walk
them, without reading the captured payments that make up most of the table.
``ix_orders_unpaid`` holds only the unpaid orders (pending, awaiting payment,
payment failed) in ``(updated_at, token)`` order, so expiry takes the oldest
a batch at a time without sorting them all. ``ix_payments_created_at`` lets
the orphan report count the payments of the last days.

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
_UNPAID = "status IN ('pending', 'awaiting_payment', 'payment_failed')"


def upgrade() -> None:
    """Create the indexes."""
    op.create_index(
        "ix_payments_unsettled",
        "payments",
        ["provider", "updated_at", "id"],
        postgresql_where=sa.text(_UNSETTLED),
        sqlite_where=sa.text(_UNSETTLED),
    )
    op.create_index("ix_payments_created_at", "payments", ["created_at"])
    op.create_index(
        "ix_orders_unpaid",
        "orders",
        ["updated_at", "token"],
        postgresql_where=sa.text(_UNPAID),
        sqlite_where=sa.text(_UNPAID),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_orders_unpaid", table_name="orders")
    op.drop_index("ix_payments_created_at", table_name="payments")
    op.drop_index("ix_payments_unsettled", table_name="payments")
