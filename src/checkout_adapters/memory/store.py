"""The records the in-memory unit of work guards, and the transactions over them.

One :class:`InMemoryStore` holds every table as a plain ``dict`` and one
re-entrant lock. A :class:`Transaction` holds that lock from the moment a unit
of work begins until it ends, so transactions run one at a time and each sees
only what the ones before it committed: serialisable by construction.

Writes go straight into the tables and an undo log remembers what each
replaced. Rolling back replays the log backwards; committing forgets it. The
stored values are immutable attrs objects, so remembering the previous value
of one key is enough: no table is ever copied.
"""

from __future__ import annotations

import enum
import itertools
import threading
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime
from typing import Any, Final, TypeVar

from attrs import define, field, frozen

from checkout_core.domain.cart import Cart
from checkout_core.domain.discounts import Coupon, CouponRedemption
from checkout_core.domain.enrollments import Enrollment
from checkout_core.domain.events import DomainEvent
from checkout_core.domain.idempotency import IdempotencyRecord
from checkout_core.domain.orders import Order
from checkout_core.domain.payments import Payment
from checkout_core.domain.webhooks import InboxEntry

__all__ = ["InMemoryStore", "StoredRedemption", "Transaction", "page_after"]

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")
_R = TypeVar("_R")


def page_after(
    records: Iterable[_R], key: Callable[[_R], tuple[Any, ...]], after: _R | None, limit: int
) -> list[_R]:
    """The first ``limit`` of ``records`` in ``key`` order, after ``after`` when it is given.

    ``after`` is the last record of the previous page: the keyset pagination
    the SQL repositories do with ``WHERE (a, b) > (:a, :b) ORDER BY a, b``.
    """
    ordered = sorted(records, key=key)
    if after is not None:
        cursor = key(after)
        ordered = [record for record in ordered if key(record) > cursor]
    return ordered[: max(limit, 0)]


class _Missing(enum.Enum):
    MISSING = enum.auto()


_MISSING: Final = _Missing.MISSING


@frozen
class StoredRedemption:
    """A coupon redemption as stored: active until ``released_at`` is set."""

    redemption: CouponRedemption
    released_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the redemption still counts against the coupon's limits."""
        return self.released_at is None


def _outbox_positions() -> itertools.count[int]:
    return itertools.count(1)


# The tables can be large and the lock says nothing useful: the repr names the object only.
@define(repr=False)
class InMemoryStore:
    """Every record of the checkout, in memory: the embedded default's database.

    Share one store between the unit-of-work factory and whatever reads the
    outbox. The tables are public for the adapters of this package; anything
    else reads them through a unit of work or :meth:`outbox_events`.
    """

    carts: dict[str, Cart] = field(factory=dict, init=False)
    orders: dict[str, Order] = field(factory=dict, init=False)
    order_tokens_by_cart: dict[str, str] = field(factory=dict, init=False)
    payments: dict[str, Payment] = field(factory=dict, init=False)
    payment_ids_by_order: dict[str, tuple[str, ...]] = field(factory=dict, init=False)
    payment_ids_by_ref: dict[tuple[str, str], str] = field(factory=dict, init=False)
    coupons: dict[str, Coupon] = field(factory=dict, init=False)
    redemptions: dict[tuple[str, str], StoredRedemption] = field(factory=dict, init=False)
    """Redemptions by (coupon code, order token), released ones included."""
    coupon_uses: dict[str, int] = field(factory=dict, init=False)
    """Active redemptions by coupon code, kept so that a limit check reads one number."""
    coupon_uses_by_user: dict[tuple[str, str], int] = field(factory=dict, init=False)
    """Active redemptions by (coupon code, user id)."""
    enrollments: dict[tuple[str, str], Enrollment] = field(factory=dict, init=False)
    enrollment_keys_by_order: dict[str, tuple[tuple[str, str], ...]] = field(
        factory=dict, init=False
    )
    idempotency: dict[str, IdempotencyRecord] = field(factory=dict, init=False)
    inbox: dict[tuple[str, str], InboxEntry] = field(factory=dict, init=False)
    """Webhook deliveries by (provider, event id)."""
    outbox: dict[int, DomainEvent] = field(factory=dict, init=False)
    """Committed events by their position; a rolled-back position is never reused."""
    outbox_sent: dict[int, datetime] = field(factory=dict, init=False)
    """When a relay last published each event, by position; unsent events have no entry."""
    lock: threading.RLock = field(factory=threading.RLock, init=False)
    """Held by a transaction from its beginning to its end."""
    _outbox_positions: itertools.count[int] = field(factory=_outbox_positions, init=False)

    def next_outbox_position(self) -> int:
        """A position after every event appended so far."""
        return next(self._outbox_positions)

    def outbox_events(self) -> list[DomainEvent]:
        """The events committed to the outbox, oldest first.

        Taking the lock waits for a running transaction to end, so what it
        appended is seen only once committed (and never if rolled back).
        """
        with self.lock:
            return list(self.outbox.values())


class Transaction:
    """One unit of work's hold on the store: open from :meth:`begin` to :meth:`end`.

    Repositories read through :attr:`store` and write through :meth:`put` and
    :meth:`delete`, which keep the undo log. Using a transaction that is not
    open is a programming error and raises :class:`RuntimeError`.
    """

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._undo: list[tuple[dict[Any, Any], Hashable, object]] = []
        self._open = False

    @property
    def store(self) -> InMemoryStore:
        """The store, to read from; only while the transaction is open."""
        self._check_open()
        return self._store

    def begin(self) -> None:
        """Wait for the store to be free, then hold it."""
        if self._open:
            raise RuntimeError("a unit of work runs one transaction at a time")
        self._store.lock.acquire()
        self._open = True

    def end(self) -> None:
        """Roll back what was not committed and let the next transaction in."""
        if not self._open:
            return
        try:
            self.rollback()
        finally:
            self._open = False
            self._store.lock.release()

    def put(self, table: dict[_K, _V], key: _K, value: _V) -> None:
        """Set ``table[key]``, remembering what it held."""
        self._check_open()
        self._undo.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def delete(self, table: dict[_K, _V], key: _K) -> None:
        """Remove ``key`` from ``table`` if it is there, remembering what it held."""
        self._check_open()
        previous = table.pop(key, _MISSING)
        if previous is not _MISSING:
            self._undo.append((table, key, previous))

    def commit(self) -> None:
        """Keep every write so far: forget how to undo them."""
        self._check_open()
        self._undo.clear()

    def rollback(self) -> None:
        """Undo every write since the last commit, newest first."""
        self._check_open()
        for table, key, previous in reversed(self._undo):
            if previous is _MISSING:
                del table[key]
            else:
                table[key] = previous
        self._undo.clear()

    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError("the unit of work is used outside its 'with' block")
