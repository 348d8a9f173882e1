"""The order of each outbox event in a column of its own, indexed: ``outbox.order_token``.

Every event is about an order, and says which in its JSON payload. A column
lets an order's events be found by an index without reading any JSON: the
``order.paid`` of a paid order that never completed, to publish it again
(the ``orders.redeliver`` job), and later the timeline of an order. The
adapters fill it as they append; this migration fills it for the rows
written before, from their payload, in one statement (on PostgreSQL that
rewrites every row of the outbox once, inside the migration's transaction),
and then builds the index, which is quicker than keeping it up during the
backfill.

Revision ID: 0003
Revises: 0002
Create Date: 2026-04-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL: Final = {
    "postgresql": (
        "UPDATE outbox SET order_token = payload ->> 'order_token' WHERE order_token IS NULL"
    ),
    "sqlite": (
        "UPDATE outbox SET order_token = json_extract(payload, '$.order_token')"
        " WHERE order_token IS NULL"
    ),
}
"""Each database's way of reading the order's token out of the JSON payload."""


def upgrade() -> None:
    """Add the column, fill it from each row's payload, then index it."""
    op.add_column("outbox", sa.Column("order_token", sa.String(255)))
    op.execute(_BACKFILL[op.get_context().dialect.name])
    op.create_index("ix_outbox_order_token", "outbox", ["order_token"])


def downgrade() -> None:
    """Drop the index and the column."""
    op.drop_index("ix_outbox_order_token", table_name="outbox")
    # Not in batch mode: rebuilding the table on SQLite would drop the old one, and with it,
    # through ON DELETE CASCADE, every row of outbox_deliveries.
    op.drop_column("outbox", "order_token")
