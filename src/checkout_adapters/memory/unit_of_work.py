"""The in-memory unit of work: one transaction over every repository, in one process.

``with uow: ...; uow.commit()``. Entering waits until no other unit of work
of the same store is running, so transactions are serialised and correct
under threads; leaving without a commit undoes every write, the outbox's
included.

The store's lock is re-entrant, so a second unit of work opened by the same
thread inside a first one is let in and sees its uncommitted writes. Code
that needs two transactions runs them one after the other.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from attrs import define, field, frozen

from checkout_adapters.memory.catalog import InMemoryCatalog
from checkout_adapters.memory.payments import InMemoryDiscountRepository, InMemoryPaymentRepository
from checkout_adapters.memory.records import (
    InMemoryEnrollmentRepository,
    InMemoryIdempotencyStore,
    InMemoryOutbox,
    InMemoryWebhookInbox,
)
from checkout_adapters.memory.repositories import InMemoryCartRepository, InMemoryOrderRepository
from checkout_adapters.memory.store import InMemoryStore, Transaction
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

__all__ = ["InMemoryUnitOfWork", "InMemoryUnitOfWorkFactory"]


@define
class InMemoryUnitOfWork:
    """One transaction over the repositories of an :class:`InMemoryStore`.

    The repositories are typed as their ports: the unit of work promises no
    more than :class:`~checkout_core.ports.UnitOfWork` does.
    """

    store: InMemoryStore
    catalog: Catalog = field(factory=lambda: InMemoryCatalog(()))
    _tx: Transaction = field(init=False, repr=False)
    carts: CartRepository = field(init=False, repr=False)
    orders: OrderRepository = field(init=False, repr=False)
    payments: PaymentRepository = field(init=False, repr=False)
    discounts: DiscountRepository = field(init=False, repr=False)
    enrollments: EnrollmentRepository = field(init=False, repr=False)
    idempotency: IdempotencyStore = field(init=False, repr=False)
    inbox: WebhookInbox = field(init=False, repr=False)
    outbox: Outbox = field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        tx = Transaction(self.store)
        self._tx = tx
        self.carts = InMemoryCartRepository(tx)
        self.orders = InMemoryOrderRepository(tx)
        self.payments = InMemoryPaymentRepository(tx)
        self.discounts = InMemoryDiscountRepository(tx)
        self.enrollments = InMemoryEnrollmentRepository(tx)
        self.idempotency = InMemoryIdempotencyStore(tx)
        self.inbox = InMemoryWebhookInbox(tx)
        self.outbox = InMemoryOutbox(tx)

    def __enter__(self) -> Self:
        self._tx.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._tx.end()

    def commit(self) -> None:
        """Keep everything written so far in this transaction."""
        self._tx.commit()

    def rollback(self) -> None:
        """Undo everything written since the transaction began or last committed."""
        self._tx.rollback()


@frozen
class InMemoryUnitOfWorkFactory:
    """Makes a fresh unit of work over ``store`` and ``catalog`` for each transaction.

    The catalog is the host's: an :class:`InMemoryCatalog` of what it sells
    (empty unless given).
    """

    store: InMemoryStore = field(factory=InMemoryStore)
    catalog: Catalog = field(factory=lambda: InMemoryCatalog(()))

    def __call__(self) -> InMemoryUnitOfWork:
        """A new, not yet begun, unit of work."""
        return InMemoryUnitOfWork(self.store, self.catalog)
