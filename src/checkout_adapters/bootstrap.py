"""The composition root: adapters chosen and wired into a Checkout.

:func:`embedded` builds the embedded default: records in SQLite (in memory
unless a file URL is given), the cart cache and everything else in memory,
notifications and analytics to the log, and the fake gateway standing in for
a payment provider. Nothing to install or start.
"""

from __future__ import annotations

from attrs import frozen
from sqlalchemy import Engine

from checkout_adapters.memory import (
    FakeGateway,
    InMemoryCartCache,
    LogAlertSink,
    LogAnalyticsTracker,
    LogNotificationSender,
)
from checkout_adapters.sqlalchemy import (
    SqlCatalog,
    SqlOutboxReader,
    SqlUnitOfWorkFactory,
    make_engine,
    upgrade,
)
from checkout_adapters.system import RandomIds, SystemClock
from checkout_core.ports import Clock, IdGenerator
from checkout_core.services import Checkout, CheckoutPorts, CheckoutSettings

__all__ = ["Embedded", "embedded"]

EMBEDDED_WEBHOOK_SECRET = "whsec_embedded"  # noqa: S105 - the fake gateway's, not a real secret
"""The fake gateway's webhook secret in the embedded default."""


@frozen
class Embedded:
    """The embedded checkout and the handles a host or a demo needs around it."""

    checkout: Checkout
    engine: Engine
    catalog: SqlCatalog
    gateway: FakeGateway
    outbox: SqlOutboxReader


def embedded(
    database_url: str = "sqlite://",
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    settings: CheckoutSettings | None = None,
) -> Embedded:
    """The embedded default on ``database_url`` (SQLite in memory unless told), migrated."""
    clock = clock or SystemClock()
    engine = make_engine(database_url)
    upgrade(engine)
    catalog = SqlCatalog(engine)
    gateway = FakeGateway(EMBEDDED_WEBHOOK_SECRET, clock=clock)
    ports = CheckoutPorts(
        unit_of_work=SqlUnitOfWorkFactory(engine),
        gateway=gateway,
        clock=clock,
        ids=ids or RandomIds(),
        notifications=LogNotificationSender(),
        analytics=LogAnalyticsTracker(),
        alerts=LogAlertSink(),
        cart_cache=InMemoryCartCache(clock),
    )
    return Embedded(
        checkout=Checkout.build(ports, settings),
        engine=engine,
        catalog=catalog,
        gateway=gateway,
        outbox=SqlOutboxReader(engine),
    )
