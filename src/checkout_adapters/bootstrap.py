"""The composition root: adapters chosen and wired into a Checkout.

:func:`embedded` builds the embedded default: records in SQLite (in memory
unless a file URL is given), the cart cache and everything else in memory,
notifications and analytics to the log, and payments through the Razorpay
adapter talking to the gateway sandbox, a local server started with the
checkout, behind retries and a circuit breaker. The enrollment worker reads
the events straight from the outbox table. Nothing to install or start.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from attrs import frozen
from sqlalchemy import Engine

from checkout_adapters.memory import (
    InMemoryCartCache,
    LogAlertSink,
    LogAnalyticsTracker,
    LogNotificationSender,
)
from checkout_adapters.razorpay import RazorpayGateway
from checkout_adapters.resilience import GuardedGateway
from checkout_adapters.sandbox import Sandbox
from checkout_adapters.sqlalchemy import (
    SqlCatalog,
    SqlOutboxQueue,
    SqlOutboxReader,
    SqlUnitOfWorkFactory,
    make_engine,
    upgrade,
)
from checkout_adapters.system import RandomIds, SystemClock
from checkout_core.ports import Clock, IdGenerator, NotificationSender
from checkout_core.services import Checkout, CheckoutPorts, CheckoutSettings, RetryWorker

__all__ = ["Embedded", "embedded"]


@frozen
class Embedded:
    """The embedded checkout and the handles a host or a demo needs around it.

    Close it (or use it as a context manager) to stop the sandbox and the engine.
    """

    checkout: Checkout
    engine: Engine
    catalog: SqlCatalog
    sandbox: Sandbox
    outbox: SqlOutboxReader
    worker: RetryWorker
    """The enrollment worker, reading events straight from the outbox table."""

    def close(self) -> None:
        """Stop the sandbox and release the database."""
        self.sandbox.stop()
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def embedded(
    database_url: str = "sqlite://",
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    settings: CheckoutSettings | None = None,
    notifications: NotificationSender | None = None,
) -> Embedded:
    """The embedded default on ``database_url`` (SQLite in memory unless told), migrated.

    The sandbox's webhooks go nowhere until its ``webhook_target`` is set: to
    the host's webhook URL, or to a callable handing them to
    ``checkout.webhooks.handle``.
    """
    clock = clock or SystemClock()
    engine = make_engine(database_url)
    upgrade(engine)
    sandbox = Sandbox(clock=clock)
    sandbox.start()
    razorpay = RazorpayGateway(
        sandbox.razorpay_key_id,
        sandbox.razorpay_key_secret,
        sandbox.razorpay_webhook_secret,
        base_url=sandbox.base_url,
        clock=clock,
    )
    ports = CheckoutPorts(
        unit_of_work=SqlUnitOfWorkFactory(engine),
        gateway=GuardedGateway(razorpay, clock),
        clock=clock,
        ids=ids or RandomIds(),
        notifications=notifications or LogNotificationSender(),
        analytics=LogAnalyticsTracker(),
        alerts=LogAlertSink(),
        cart_cache=InMemoryCartCache(clock),
    )
    checkout = Checkout.build(ports, settings)
    worker = RetryWorker(
        SqlOutboxQueue(engine, clock=clock),
        "enrollment",
        "embedded",
        checkout.fulfilment,
        checkout.alerts,
    )
    return Embedded(
        checkout=checkout,
        engine=engine,
        catalog=SqlCatalog(engine),
        sandbox=sandbox,
        outbox=SqlOutboxReader(engine),
        worker=worker,
    )
