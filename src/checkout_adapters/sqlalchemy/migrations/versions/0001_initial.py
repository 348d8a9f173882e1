"""The initial schema: catalog, coupons, carts, orders, payments, enrollments, idempotency, outbox.

The outbox comes with ``outbox_deliveries``, what each consumer group of the
SQL message queue made of each event.

Every table is written out here rather than created from ``tables.py``: a
migration is a fixed record of one step, and must not change when the
metadata does. A test checks that the migrated schema equals the metadata.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)
_JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KEY = sa.String(255)
_CODE = sa.String(64)
_STATUS = sa.String(32)
_CURRENCY = sa.String(3)

_CART_STATUSES = "'active', 'converted', 'expired'"
_ORDER_STATUSES = (
    "'pending', 'awaiting_payment', 'paid', 'completed', 'payment_failed', "
    "'expired', 'cancelled', 'refunded', 'partially_refunded'"
)
_PAYMENT_STATUSES = (
    "'created', 'authorized', 'captured', 'failed', 'refunded', 'partially_refunded'"
)
_ROUNDINGS = "'half_up', 'half_even', 'down', 'up'"
_PERIOD_UNITS = "'day', 'week', 'month', 'year'"


def _not_negative(*columns: str) -> list[sa.CheckConstraint]:
    return [
        sa.CheckConstraint(f"{column} >= 0", name=f"ck_{table}_{column}_not_negative")
        for table, column in (name.split(".") for name in columns)
    ]


def upgrade() -> None:
    """Create every table, index and constraint of the first release."""
    op.create_table(
        "offerings",
        sa.Column("id", _KEY, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("currency", _CURRENCY, nullable=False),
        sa.Column("plans", _JSON, nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_offerings"),
    )
    op.create_table(
        "sales",
        sa.Column("slug", _KEY, nullable=False),
        sa.Column("starts_at", _TIME, nullable=False),
        sa.Column("ends_at", _TIME, nullable=False),
        sa.Column("rules", _JSON, nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name="ck_sales_ends_after_start"),
        sa.PrimaryKeyConstraint("slug", name="pk_sales"),
    )
    op.create_table(
        "coupons",
        sa.Column("code", _CODE, nullable=False),
        sa.Column("percent_off_ppm", sa.Integer()),
        sa.Column("amount_off", sa.BigInteger()),
        sa.Column("currency", _CURRENCY),
        sa.Column("max_discount", sa.BigInteger()),
        sa.Column("min_subtotal", sa.BigInteger()),
        sa.Column("valid_from", _TIME),
        sa.Column("valid_until", _TIME),
        sa.Column("usage_limit", sa.Integer()),
        sa.Column("per_user_limit", sa.Integer()),
        sa.Column("offering_ids", _JSON),
        sa.Column("stacks_with_sale", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("rounding", _STATUS, nullable=False),
        sa.Column("used", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "(percent_off_ppm IS NULL) <> (amount_off IS NULL)", name="ck_coupons_one_kind"
        ),
        sa.CheckConstraint(
            "percent_off_ppm > 0 AND percent_off_ppm <= 1000000", name="ck_coupons_percent_off"
        ),
        sa.CheckConstraint("amount_off > 0", name="ck_coupons_amount_off_positive"),
        sa.CheckConstraint("max_discount > 0", name="ck_coupons_max_discount_positive"),
        sa.CheckConstraint("usage_limit > 0", name="ck_coupons_usage_limit_positive"),
        sa.CheckConstraint("per_user_limit > 0", name="ck_coupons_per_user_limit_positive"),
        *_not_negative("coupons.min_subtotal", "coupons.used"),
        sa.CheckConstraint(
            "usage_limit IS NULL OR used <= usage_limit", name="ck_coupons_used_within_limit"
        ),
        sa.CheckConstraint(f"rounding IN ({_ROUNDINGS})", name="ck_coupons_rounding"),
        sa.PrimaryKeyConstraint("code", name="pk_coupons"),
    )
    op.create_table(
        "coupon_redemptions",
        sa.Column("coupon_code", _CODE, nullable=False),
        sa.Column("order_token", _KEY, nullable=False),
        sa.Column("user_id", _KEY),
        sa.Column("status", _STATUS, nullable=False),
        sa.Column("redeemed_at", _TIME, nullable=False),
        sa.Column("released_at", _TIME),
        sa.CheckConstraint("status IN ('active', 'released')", name="ck_coupon_redemptions_status"),
        sa.ForeignKeyConstraint(
            ["coupon_code"],
            ["coupons.code"],
            name="fk_coupon_redemptions_coupon_code_coupons",
        ),
        sa.PrimaryKeyConstraint("coupon_code", "order_token", name="pk_coupon_redemptions"),
    )
    op.create_index(
        "ix_coupon_redemptions_coupon_code_user_id_status",
        "coupon_redemptions",
        ["coupon_code", "user_id", "status"],
    )
    op.create_table(
        "carts",
        sa.Column("token", _KEY, nullable=False),
        sa.Column("lines", _JSON, nullable=False),
        sa.Column("sale_slug", _KEY),
        sa.Column("analytics", _JSON, nullable=False),
        sa.Column("owner_id", _KEY),
        sa.Column("coupon_code", _CODE),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        sa.CheckConstraint(f"status IN ({_CART_STATUSES})", name="ck_carts_status"),
        sa.PrimaryKeyConstraint("token", name="pk_carts"),
    )
    op.create_index("ix_carts_status_expires_at", "carts", ["status", "expires_at"])
    op.create_table(
        "orders",
        sa.Column("token", _KEY, nullable=False),
        sa.Column("cart_token", _KEY, nullable=False),
        sa.Column("user_id", _KEY),
        sa.Column("status", _STATUS, nullable=False),
        sa.Column("currency", _CURRENCY, nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("pricing", _JSON, nullable=False),
        sa.Column("coupon_code", _CODE),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("refunded_amount", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("review_reason", sa.Text()),
        sa.UniqueConstraint("cart_token", name="uq_orders_cart_token"),
        sa.CheckConstraint(f"status IN ({_ORDER_STATUSES})", name="ck_orders_status"),
        *_not_negative("orders.total", "orders.refunded_amount"),
        sa.CheckConstraint("refunded_amount <= total", name="ck_orders_refund_within_total"),
        sa.PrimaryKeyConstraint("token", name="pk_orders"),
    )
    op.create_index("ix_orders_status_updated_at", "orders", ["status", "updated_at"])
    op.create_index("ix_orders_user_id", "orders", ["user_id"])
    op.create_table(
        "payments",
        sa.Column("seq", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("id", _KEY, nullable=False),
        sa.Column("order_token", _KEY, nullable=False),
        sa.Column("provider", _CODE, nullable=False),
        sa.Column("provider_ref", _KEY),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", _CURRENCY, nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        sa.Column("captured_amount", sa.BigInteger(), nullable=False),
        sa.Column("refunded_amount", sa.BigInteger(), nullable=False),
        sa.Column("refund_ids", _JSON, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failure_code", _KEY),
        sa.Column("failure_reason", sa.Text()),
        sa.Column("checkout_url", sa.Text()),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.UniqueConstraint("provider", "provider_ref", name="uq_payments_provider_provider_ref"),
        sa.CheckConstraint(f"status IN ({_PAYMENT_STATUSES})", name="ck_payments_status"),
        *_not_negative(
            "payments.amount",
            "payments.captured_amount",
            "payments.refunded_amount",
            "payments.attempts",
        ),
        sa.CheckConstraint(
            "refunded_amount <= captured_amount", name="ck_payments_refund_within_capture"
        ),
        sa.UniqueConstraint("id", name="uq_payments_id"),
        sa.PrimaryKeyConstraint("seq", name="pk_payments"),
    )
    op.create_index("ix_payments_order_token_created_at", "payments", ["order_token", "created_at"])
    op.create_table(
        "enrollments",
        sa.Column("seq", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("id", _KEY, nullable=False),
        sa.Column("order_token", _KEY, nullable=False),
        sa.Column("offering_id", _KEY, nullable=False),
        sa.Column("user_id", _KEY, nullable=False),
        sa.Column("period_value", sa.Integer(), nullable=False),
        sa.Column("period_unit", _STATUS, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.UniqueConstraint("id", name="uq_enrollments_id"),
        sa.UniqueConstraint(
            "order_token", "offering_id", name="uq_enrollments_order_token_offering_id"
        ),
        sa.CheckConstraint(
            "period_value >= 1 AND period_value <= 1000", name="ck_enrollments_period_value"
        ),
        sa.CheckConstraint(f"period_unit IN ({_PERIOD_UNITS})", name="ck_enrollments_period_unit"),
        sa.PrimaryKeyConstraint("seq", name="pk_enrollments"),
    )
    op.create_index("ix_enrollments_user_id", "enrollments", ["user_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("key", _KEY, nullable=False),
        sa.Column("fingerprint", _CODE, nullable=False),
        sa.Column("state", _STATUS, nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("response_body", sa.Text()),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("locked_until", _TIME, nullable=False),
        sa.CheckConstraint(
            "state IN ('in_progress', 'completed')", name="ck_idempotency_keys_state"
        ),
        sa.CheckConstraint(
            "state <> 'completed' OR (status_code IS NOT NULL AND response_body IS NOT NULL)",
            name="ck_idempotency_keys_completed_has_response",
        ),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])
    op.create_table(
        "webhook_inbox",
        sa.Column("provider", _CODE, nullable=False),
        sa.Column("event_id", _KEY, nullable=False),
        sa.Column("type", _CODE, nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.CheckConstraint(
            "status IN ('applied', 'ignored', 'unmatched', 'flagged', 'claimed')",
            name="ck_webhook_inbox_status",
        ),
        sa.PrimaryKeyConstraint("provider", "event_id", name="pk_webhook_inbox"),
    )
    op.create_index(
        "ix_webhook_inbox_status_received_at", "webhook_inbox", ["status", "received_at"]
    )
    op.create_table(
        "outbox",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("event_id", _KEY, nullable=False),
        sa.Column("name", _CODE, nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("occurred_at", _TIME, nullable=False),
        sa.Column("created_at", _TIME, server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.Column("sent_at", _TIME),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["id"],
        postgresql_where=sa.text("sent_at IS NULL"),
        sqlite_where=sa.text("sent_at IS NULL"),
    )
    op.create_table(
        "outbox_deliveries",
        sa.Column("group_name", _CODE, nullable=False),
        sa.Column("outbox_id", _SERIAL, autoincrement=False, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", _STATUS, nullable=False),
        sa.Column("due_at", _TIME, nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("consumer", _KEY),
        sa.Column("leased_until", _TIME),
        sa.Column("failed_at", _TIME),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'dead')", name="ck_outbox_deliveries_status"
        ),
        *_not_negative("outbox_deliveries.attempts"),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
            name="fk_outbox_deliveries_outbox_id_outbox",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_name", "outbox_id", name="pk_outbox_deliveries"),
    )
    op.create_index(
        "ix_outbox_deliveries_group_name_status_due_at",
        "outbox_deliveries",
        ["group_name", "status", "due_at"],
    )


def downgrade() -> None:
    """Drop every table of the first release, dependents first."""
    for table in (
        "outbox_deliveries",
        "outbox",
        "webhook_inbox",
        "idempotency_keys",
        "enrollments",
        "payments",
        "orders",
        "carts",
        "coupon_redemptions",
        "coupons",
        "sales",
        "offerings",
    ):
        op.drop_table(table)
