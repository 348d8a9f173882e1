"""In-memory adapters: the embedded default and the fakes the tests use.

Every port of :mod:`checkout_core.ports` has one here. The unit of work keeps
its records in an :class:`InMemoryStore`, one transaction at a time; the
cache, the lock and the gateway read time from an injected clock.
"""

from __future__ import annotations

from checkout_adapters.memory.breakers import InMemoryBreakerStore
from checkout_adapters.memory.cache import InMemoryCartCache
from checkout_adapters.memory.catalog import InMemoryCatalog
from checkout_adapters.memory.catalog_cache import CachedCatalog, CatalogCache
from checkout_adapters.memory.clock import FixedClock
from checkout_adapters.memory.gateway import FAKE_PROVIDER, FAKE_SIGNATURE_HEADER, FakeGateway
from checkout_adapters.memory.idempotency_cache import InMemoryIdempotencyCache
from checkout_adapters.memory.ids import SequentialIds
from checkout_adapters.memory.limits import InMemoryRateLimiter
from checkout_adapters.memory.lock import InMemoryLock
from checkout_adapters.memory.payments import InMemoryDiscountRepository, InMemoryPaymentRepository
from checkout_adapters.memory.queue import InMemoryQueue, InMemoryRelay
from checkout_adapters.memory.records import (
    InMemoryEnrollmentRepository,
    InMemoryIdempotencyStore,
    InMemoryOutbox,
    InMemoryWebhookInbox,
)
from checkout_adapters.memory.repositories import InMemoryCartRepository, InMemoryOrderRepository
from checkout_adapters.memory.senders import (
    LogAlertSink,
    LogAnalyticsTracker,
    LogNotificationSender,
    RecordingAlertSink,
    RecordingAnalyticsTracker,
    RecordingNotificationSender,
)
from checkout_adapters.memory.store import InMemoryStore
from checkout_adapters.memory.unit_of_work import InMemoryUnitOfWork, InMemoryUnitOfWorkFactory

__all__ = [
    "FAKE_PROVIDER",
    "FAKE_SIGNATURE_HEADER",
    "CachedCatalog",
    "CatalogCache",
    "FakeGateway",
    "FixedClock",
    "InMemoryBreakerStore",
    "InMemoryCartCache",
    "InMemoryCartRepository",
    "InMemoryCatalog",
    "InMemoryDiscountRepository",
    "InMemoryEnrollmentRepository",
    "InMemoryIdempotencyCache",
    "InMemoryIdempotencyStore",
    "InMemoryLock",
    "InMemoryOrderRepository",
    "InMemoryOutbox",
    "InMemoryPaymentRepository",
    "InMemoryQueue",
    "InMemoryRateLimiter",
    "InMemoryRelay",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "InMemoryUnitOfWorkFactory",
    "InMemoryWebhookInbox",
    "LogAlertSink",
    "LogAnalyticsTracker",
    "LogNotificationSender",
    "RecordingAlertSink",
    "RecordingAnalyticsTracker",
    "RecordingNotificationSender",
    "SequentialIds",
]
