"""The unit of work over SQL: one connection, one transaction, every repository and the catalog.

``with factory() as uow: ...; uow.commit()``. The connection is taken from
the engine's pool when the block begins and given back when it ends; the
transaction begins with the first statement (``BEGIN IMMEDIATE`` on SQLite,
see ``engine.py``). Leaving the block without :meth:`SqlUnitOfWork.commit`,
or with an exception, rolls back.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from checkout_adapters.sqlalchemy.catalog import SqlCatalogReader
from checkout_adapters.sqlalchemy.repositories import (
    SqlCartRepository,
    SqlDiscountRepository,
    SqlEnrollmentRepository,
    SqlIdempotencyStore,
    SqlOrderRepository,
    SqlOutbox,
    SqlPaymentRepository,
    SqlWebhookInbox,
)
from checkout_core.ports import (
    CartRepository,
    Catalog,
    DiscountRepository,
    EnrollmentRepository,
    IdempotencyStore,
    OrderRepository,
    Outbox,
    PaymentRepository,
    WebhookInbox,
)

__all__ = ["SqlUnitOfWork", "SqlUnitOfWorkFactory"]


class SqlUnitOfWork:
    """One transaction over every repository, on a connection of ``engine``."""

    # Typed as the ports, as the UnitOfWork protocol declares them.
    catalog: Catalog
    carts: CartRepository
    orders: OrderRepository
    payments: PaymentRepository
    discounts: DiscountRepository
    enrollments: EnrollmentRepository
    idempotency: IdempotencyStore
    inbox: WebhookInbox
    outbox: Outbox

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        # The repositories ask for the connection at each statement, so that
        # using one outside the with block fails plainly.
        self.catalog = SqlCatalogReader(self._active)
        self.carts = SqlCartRepository(self._active)
        self.orders = SqlOrderRepository(self._active)
        self.payments = SqlPaymentRepository(self._active)
        self.discounts = SqlDiscountRepository(self._active)
        self.enrollments = SqlEnrollmentRepository(self._active)
        self.idempotency = SqlIdempotencyStore(self._active)
        self.inbox = SqlWebhookInbox(self._active)
        self.outbox = SqlOutbox(self._active)

    def __enter__(self) -> Self:
        """Take a connection from the pool; the transaction begins with the first statement."""
        if self._connection is not None:
            raise RuntimeError("a unit of work runs one transaction at a time")
        self._connection = self._engine.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Roll back what was not committed and give the connection back."""
        connection = self._active()
        self._connection = None
        try:
            connection.rollback()
        finally:
            connection.close()

    def commit(self) -> None:
        """Make everything written in this transaction durable and visible."""
        self._active().commit()

    def rollback(self) -> None:
        """Forget everything written in this transaction."""
        self._active().rollback()

    def _active(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("the unit of work is used outside its 'with' block")
        return self._connection


class SqlUnitOfWorkFactory:
    """Makes a :class:`SqlUnitOfWork` on ``engine`` for each transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self) -> SqlUnitOfWork:
        """A new, not yet begun, unit of work."""
        return SqlUnitOfWork(self.engine)
