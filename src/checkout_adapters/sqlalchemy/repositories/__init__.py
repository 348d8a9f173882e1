"""The repositories of the SQL unit of work, one module each."""

from __future__ import annotations

from checkout_adapters.sqlalchemy.repositories.carts import SqlCartRepository
from checkout_adapters.sqlalchemy.repositories.discounts import SqlDiscountRepository
from checkout_adapters.sqlalchemy.repositories.enrollments import SqlEnrollmentRepository
from checkout_adapters.sqlalchemy.repositories.idempotency import SqlIdempotencyStore
from checkout_adapters.sqlalchemy.repositories.inbox import SqlWebhookInbox
from checkout_adapters.sqlalchemy.repositories.orders import SqlOrderRepository
from checkout_adapters.sqlalchemy.repositories.outbox import (
    OutboxEntry,
    SqlOutbox,
    SqlOutboxReader,
)
from checkout_adapters.sqlalchemy.repositories.payments import SqlPaymentRepository

__all__ = [
    "OutboxEntry",
    "SqlCartRepository",
    "SqlDiscountRepository",
    "SqlEnrollmentRepository",
    "SqlIdempotencyStore",
    "SqlOrderRepository",
    "SqlOutbox",
    "SqlOutboxReader",
    "SqlPaymentRepository",
    "SqlWebhookInbox",
]
