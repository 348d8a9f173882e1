"""Every table of the checkout, on one ``MetaData`` whose naming convention names constraints.

The database keeps the invariants that concurrent writers could break: one
order per cart, one enrollment per (order, offering), one redemption per
(coupon, order), a coupon never used beyond its limit, amounts that are never
negative. Amounts are ``BIGINT`` minor units. The migration in
``migrations/versions`` creates the same schema statement by statement; a test
compares the two.
"""

from __future__ import annotations

import enum
from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from checkout_adapters.sqlalchemy.types import Json, UtcDateTime
from checkout_core.domain.cart import CartStatus
from checkout_core.domain.catalog import MAX_PERIOD_VALUE, PeriodUnit
from checkout_core.domain.idempotency import IdempotencyState
from checkout_core.domain.money import Rounding
from checkout_core.domain.orders import OrderStatus
from checkout_core.domain.payments import PaymentStatus
from checkout_core.domain.webhooks import InboxStatus

__all__ = [
    "NAMING_CONVENTION",
    "DeliveryStatus",
    "RedemptionStatus",
    "carts",
    "coupon_redemptions",
    "coupons",
    "enrollments",
    "idempotency_keys",
    "metadata",
    "offerings",
    "orders",
    "outbox",
    "outbox_deliveries",
    "payments",
    "sales",
    "webhook_inbox",
]

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names are derived, so migrations and error translation can rely on them."""

metadata: Final = MetaData(naming_convention=NAMING_CONVENTION)
"""The checkout's schema."""


class RedemptionStatus(enum.StrEnum):
    """Whether a coupon redemption still counts against the coupon's limits."""

    ACTIVE = "active"
    RELEASED = "released"


class DeliveryStatus(enum.StrEnum):
    """What became of an outbox event for one consumer group of the SQL message queue."""

    PENDING = "pending"
    """To be delivered (when ``due_at`` is reached), or delivered and not yet acknowledged."""
    DONE = "done"
    """Acknowledged: never delivered to the group again."""
    DEAD = "dead"
    """Given up on: a dead letter, until replayed."""


# SQLite gives autoincrement only to an INTEGER PRIMARY KEY (an alias of its rowid).
_SERIAL: Final = BigInteger().with_variant(Integer(), "sqlite")
_KEY: Final = 255
_CODE: Final = 64
_STATUS: Final = 32


_UNPAID_ORDERS: Final = "status IN ('pending', 'awaiting_payment', 'payment_failed')"
_UNSETTLED_PAYMENTS: Final = "status IN ('created', 'authorized', 'failed')"


def _one_of(column: str, values: type[enum.StrEnum], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


def _not_negative(*columns: str) -> list[CheckConstraint]:
    return [CheckConstraint(f"{column} >= 0", name=f"{column}_not_negative") for column in columns]


offerings: Final = Table(
    "offerings",
    metadata,
    Column("id", String(_KEY), primary_key=True),
    Column("title", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("plans", Json, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
)

sales: Final = Table(
    "sales",
    metadata,
    Column("slug", String(_KEY), primary_key=True),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("rules", Json, nullable=False),
    CheckConstraint("ends_at > starts_at", name="ends_after_start"),
)

coupons: Final = Table(
    "coupons",
    metadata,
    Column("code", String(_CODE), primary_key=True),
    Column("percent_off_ppm", Integer),
    Column("amount_off", BigInteger),
    Column("currency", String(3)),
    Column("max_discount", BigInteger),
    Column("min_subtotal", BigInteger),
    Column("valid_from", UtcDateTime),
    Column("valid_until", UtcDateTime),
    Column("usage_limit", Integer),
    Column("per_user_limit", Integer),
    Column("offering_ids", Json),
    Column("stacks_with_sale", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("rounding", String(_STATUS), nullable=False),
    # The number of active redemptions, kept by redeem and release, so that
    # the limit is one conditional UPDATE and never a count under a lock.
    Column("used", Integer, nullable=False, server_default=text("0")),
    CheckConstraint("(percent_off_ppm IS NULL) <> (amount_off IS NULL)", name="one_kind"),
    CheckConstraint("percent_off_ppm > 0 AND percent_off_ppm <= 1000000", name="percent_off"),
    CheckConstraint("amount_off > 0", name="amount_off_positive"),
    CheckConstraint("max_discount > 0", name="max_discount_positive"),
    CheckConstraint("usage_limit > 0", name="usage_limit_positive"),
    CheckConstraint("per_user_limit > 0", name="per_user_limit_positive"),
    *_not_negative("min_subtotal", "used"),
    CheckConstraint("usage_limit IS NULL OR used <= usage_limit", name="used_within_limit"),
    _one_of("rounding", Rounding, "rounding"),
)

coupon_redemptions: Final = Table(
    "coupon_redemptions",
    metadata,
    Column("coupon_code", String(_CODE), ForeignKey("coupons.code"), primary_key=True),
    Column("order_token", String(_KEY), primary_key=True),
    Column("user_id", String(_KEY)),
    Column("status", String(_STATUS), nullable=False),
    Column("redeemed_at", UtcDateTime, nullable=False),
    Column("released_at", UtcDateTime),
    _one_of("status", RedemptionStatus, "status"),
    Index(None, "coupon_code", "user_id", "status"),
)

carts: Final = Table(
    "carts",
    metadata,
    Column("token", String(_KEY), primary_key=True),
    Column("lines", Json, nullable=False),
    Column("sale_slug", String(_KEY)),
    Column("analytics", Json, nullable=False),
    Column("owner_id", String(_KEY)),
    Column("coupon_code", String(_CODE)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("status", String(_STATUS), nullable=False),
    _one_of("status", CartStatus, "status"),
    Index(None, "status", "expires_at"),
)

orders: Final = Table(
    "orders",
    metadata,
    Column("token", String(_KEY), primary_key=True),
    Column("cart_token", String(_KEY), nullable=False),
    Column("user_id", String(_KEY)),
    Column("status", String(_STATUS), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("pricing", Json, nullable=False),
    Column("coupon_code", String(_CODE)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("refunded_amount", BigInteger, nullable=False, server_default=text("0")),
    Column("review_reason", Text),
    # One order per cart, whatever the code above does: the second is refused here.
    UniqueConstraint("cart_token"),
    _one_of("status", OrderStatus, "status"),
    *_not_negative("total", "refunded_amount"),
    CheckConstraint("refunded_amount <= total", name="refund_within_total"),
    Index(None, "status", "updated_at"),
    Index(None, "user_id"),
    # Expiry takes the oldest unpaid orders a batch at a time, straight from this
    # small index in (updated_at, token) order, without sorting the backlog.
    Index(
        "ix_orders_unpaid",
        "updated_at",
        "token",
        postgresql_where=text(_UNPAID_ORDERS),
        sqlite_where=text(_UNPAID_ORDERS),
    ),
)

payments: Final = Table(
    "payments",
    metadata,
    # A surrogate key in insertion order: of two payments created at one
    # instant, the one stored last is the order's latest.
    Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    Column("id", String(_KEY), nullable=False, unique=True),
    Column("order_token", String(_KEY), nullable=False),
    Column("provider", String(_CODE), nullable=False),
    Column("provider_ref", String(_KEY)),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(_STATUS), nullable=False),
    Column("captured_amount", BigInteger, nullable=False),
    Column("refunded_amount", BigInteger, nullable=False),
    Column("refund_ids", Json, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("failure_code", String(_KEY)),
    Column("failure_reason", Text),
    Column("checkout_url", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("provider", "provider_ref"),
    _one_of("status", PaymentStatus, "status"),
    *_not_negative("amount", "captured_amount", "refunded_amount", "attempts"),
    CheckConstraint("refunded_amount <= captured_amount", name="refund_within_capture"),
    Index(None, "order_token", "created_at"),
    # Reconciliation walks a provider's payments with no money taken yet in
    # (updated_at, id) order; the captured ones, most of the table, are left out.
    Index(
        "ix_payments_unsettled",
        "provider",
        "updated_at",
        "id",
        postgresql_where=text(_UNSETTLED_PAYMENTS),
        sqlite_where=text(_UNSETTLED_PAYMENTS),
    ),
    # The orphan report counts the payments of the last days.
    Index(None, "created_at"),
)

enrollments: Final = Table(
    "enrollments",
    metadata,
    # A surrogate key in insertion order: enrollments made together share one
    # created_at, and are read back in the order they were made.
    Column("seq", _SERIAL, primary_key=True, autoincrement=True),
    Column("id", String(_KEY), nullable=False, unique=True),
    Column("order_token", String(_KEY), nullable=False),
    Column("offering_id", String(_KEY), nullable=False),
    Column("user_id", String(_KEY), nullable=False),
    Column("period_value", Integer, nullable=False),
    Column("period_unit", String(_STATUS), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # One enrollment per (order, offering): a worker that runs twice adds nothing.
    UniqueConstraint("order_token", "offering_id"),
    CheckConstraint(
        f"period_value >= 1 AND period_value <= {MAX_PERIOD_VALUE}", name="period_value"
    ),
    _one_of("period_unit", PeriodUnit, "period_unit"),
    Index(None, "user_id"),
)

idempotency_keys: Final = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(_KEY), primary_key=True),
    Column("fingerprint", String(_CODE), nullable=False),
    Column("state", String(_STATUS), nullable=False),
    Column("status_code", Integer),
    Column("response_body", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("locked_until", UtcDateTime, nullable=False),
    _one_of("state", IdempotencyState, "state"),
    CheckConstraint(
        "state <> 'completed' OR (status_code IS NOT NULL AND response_body IS NOT NULL)",
        name="completed_has_response",
    ),
    Index(None, "expires_at"),
)

webhook_inbox: Final = Table(
    "webhook_inbox",
    metadata,
    Column("provider", String(_CODE), primary_key=True),
    Column("event_id", String(_KEY), primary_key=True),
    Column("type", String(_CODE), nullable=False),
    Column("status", String(_STATUS), nullable=False),
    Column("detail", Text),
    Column("body", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    _one_of("status", InboxStatus, "status"),
    Index(None, "status", "received_at"),
)

outbox: Final = Table(
    "outbox",
    metadata,
    Column("id", _SERIAL, primary_key=True, autoincrement=True),
    Column("event_id", String(_KEY), nullable=False, unique=True),
    Column("name", String(_CODE), nullable=False),
    Column("payload", Json, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("sent_at", UtcDateTime),
    # The order the event is about (every event has one), so that an order's events are
    # found without reading JSON: its order.paid to publish again, its timeline.
    Column("order_token", String(_KEY)),
    # The publisher reads the unsent rows in id order; the sent ones are most of the table.
    Index(
        "ix_outbox_pending",
        "id",
        postgresql_where=text("sent_at IS NULL"),
        sqlite_where=text("sent_at IS NULL"),
    ),
    Index(None, "order_token"),
)

outbox_deliveries: Final = Table(
    "outbox_deliveries",
    metadata,
    # What each consumer group made of each outbox event, for the queue that
    # reads the outbox itself (the embedded default). An event without a row
    # here is new to the group; the row is written when it is first delivered.
    Column("group_name", String(_CODE), primary_key=True),
    Column(
        "outbox_id",
        _SERIAL,
        ForeignKey("outbox.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("attempts", Integer, nullable=False),
    Column("status", String(_STATUS), nullable=False),
    # When the event may be delivered again: the end of the lease of the
    # consumer that holds it, or the time a retry is due.
    Column("due_at", UtcDateTime, nullable=False),
    Column("error", Text),
    Column("consumer", String(_KEY)),
    Column("leased_until", UtcDateTime),
    Column("failed_at", UtcDateTime),
    _one_of("status", DeliveryStatus, "status"),
    *_not_negative("attempts"),
    Index(None, "group_name", "status", "due_at"),
)
