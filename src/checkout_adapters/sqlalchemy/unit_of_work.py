"""The unit of work over SQL: one connection, one transaction, every repository and the catalog.

``with factory() as uow: ...; uow.commit()``. The connection is taken from
the engine's pool when the block begins and given back when it ends; the
transaction begins with the first statement (``BEGIN IMMEDIATE`` on SQLite,
see ``engine.py``). Leaving the block without :meth:`SqlUnitOfWork.commit`,
or with an exception, rolls back.

A database error that may pass with a second try (a connection lost in the
middle of the transaction, see ``faults.py``) leaves the block as
:class:`~checkout_core.faults.TransientFault`, chained to the database's
error, once the transaction is rolled back and the connection given back:
the service seam then runs the use case again on a new connection.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from checkout_adapters.memory.catalog_cache import CatalogCache
from checkout_adapters.sqlalchemy.catalog import SqlCatalogReader
from checkout_adapters.sqlalchemy.faults import is_transient
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
from checkout_core.faults import TransientFault
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

    def __init__(self, engine: Engine, catalog_cache: CatalogCache | None = None) -> None:
        self._engine = engine
        self._entered = False
        self._connection: Connection | None = None
        # The repositories ask for the connection at each statement, so that
        # using one outside the with block fails plainly.
        reader = SqlCatalogReader(self._active)
        self.catalog = reader if catalog_cache is None else catalog_cache.wrap(reader)
        self.carts = SqlCartRepository(self._active)
        self.orders = SqlOrderRepository(self._active)
        self.payments = SqlPaymentRepository(self._active)
        discounts = SqlDiscountRepository(self._active)
        self.discounts = (
            discounts if catalog_cache is None else catalog_cache.wrap_discounts(discounts)
        )
        self.enrollments = SqlEnrollmentRepository(self._active)
        self.idempotency = SqlIdempotencyStore(self._active)
        self.inbox = SqlWebhookInbox(self._active)
        self.outbox = SqlOutbox(self._active)

    def __enter__(self) -> Self:
        """Begin; a connection is taken from the pool only when the first statement needs one.

        A unit of work answered wholly from caches (a warm estimate) never
        touches the database, not even to check a connection out.
        """
        if self._entered:
            raise RuntimeError("a unit of work runs one transaction at a time")
        self._entered = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Roll back what was not committed and give the connection back.

        Raises:
            TransientFault: the block ended with a database error that may pass.
        """
        connection = self._connection
        self._entered = False
        self._connection = None
        if connection is not None:
            try:
                connection.rollback()
            finally:
                connection.close()
        self._raise_if_transient(exc)

    def commit(self) -> None:
        """Make everything written in this transaction durable and visible.

        Raises:
            TransientFault: the connection was lost as it committed: whether the
                transaction was kept is not known, and the use case runs again.
        """
        self._check_entered()
        if self._connection is not None:
            try:
                self._connection.commit()
            except DBAPIError as error:
                self._raise_if_transient(error)
                raise

    def rollback(self) -> None:
        """Forget everything written in this transaction."""
        self._check_entered()
        if self._connection is not None:
            self._connection.rollback()

    def _check_entered(self) -> None:
        if not self._entered:
            raise RuntimeError("the unit of work is used outside its 'with' block")

    def _active(self) -> Connection:
        self._check_entered()
        if self._connection is None:
            try:
                self._connection = self._engine.connect()
            except DBAPIError as error:
                self._raise_if_transient(error)
                raise
        return self._connection

    def _raise_if_transient(self, error: BaseException | None) -> None:
        if isinstance(error, DBAPIError) and is_transient(error, self._engine.dialect.name):
            # The driver's words, not SQLAlchemy's: those add the statement and its
            # parameters, tokens among them, and this message is logged.
            raise TransientFault(
                f"the database failed in a way that may pass: {error.orig}"
            ) from error


class SqlUnitOfWorkFactory:
    """Makes a :class:`SqlUnitOfWork` on ``engine`` for each transaction.

    With a ``catalog_cache`` every unit of work reads the catalog and the coupons through it.
    """

    def __init__(self, engine: Engine, catalog_cache: CatalogCache | None = None) -> None:
        self.engine = engine
        self.catalog_cache = catalog_cache

    def __call__(self) -> SqlUnitOfWork:
        """A new, not yet begun, unit of work."""
        return SqlUnitOfWork(self.engine, self.catalog_cache)
