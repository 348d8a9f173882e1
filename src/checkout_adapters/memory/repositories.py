"""The repositories of the in-memory unit of work, one per port, over one transaction.

Each reads the tables of an :class:`~checkout_adapters.memory.store.InMemoryStore`
and writes through its :class:`~checkout_adapters.memory.store.Transaction`,
so a write is undone if the unit of work does not commit. The transaction
holds the store's lock, so the checks the ports ask of "the database" (one
order per cart, a coupon's limits, one claim per idempotency key) are plain
reads followed by writes, with nobody else in between.

What a database would refuse with an integrity error (adding a key that
exists, updating one that does not) raises :class:`ValueError` here: it is a
programming error, not a business outcome.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Collection
from datetime import datetime

from attrs import frozen

from checkout_adapters.memory.store import Transaction, page_after
from checkout_core.domain.cart import Cart, CartStatus
from checkout_core.domain.orders import Order, OrderStatus
from checkout_core.errors import (
    CartNotActive,
)

__all__ = [
    "InMemoryCartRepository",
    "InMemoryOrderRepository",
]

_SWEPT_CART_STATES = frozenset({CartStatus.EXPIRED, CartStatus.CONVERTED})
_ABANDONED_CART_STATES = frozenset({CartStatus.ACTIVE, CartStatus.EXPIRED})
_UNPAID_ORDER_STATES = frozenset(
    {OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT, OrderStatus.PAYMENT_FAILED}
)
_PAID_ORDER_STATES = frozenset({
    OrderStatus.PAID, OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED,
})  # fmt: skip


def _by_update(order: Order) -> tuple[datetime, str]:
    """The key orders are walked by, in batches: ``(updated_at, token)``."""
    return order.updated_at, order.token


@frozen
class InMemoryCartRepository:
    """Carts by token."""

    _tx: Transaction

    def add(self, cart: Cart) -> None:
        """Store a new cart; a token already stored raises :class:`ValueError`."""
        carts = self._tx.store.carts
        if cart.token in carts:
            raise ValueError(f"cart {cart.token[:8]}... is already stored")
        self._tx.put(carts, cart.token, cart)

    def get(self, token: str, *, for_update: bool = False) -> Cart | None:
        """The cart with ``token``; every read holds the store, so ``for_update`` adds nothing."""
        del for_update
        return self._tx.store.carts.get(token)

    def get_many(self, tokens: Collection[str]) -> dict[str, Cart]:
        """The stored carts among ``tokens``, by token."""
        carts = self._tx.store.carts
        return {token: carts[token] for token in tokens if token in carts}

    def update(self, cart: Cart) -> None:
        """Store the new state of a stored cart; an unknown one raises :class:`ValueError`."""
        carts = self._tx.store.carts
        if cart.token not in carts:
            raise ValueError(f"cart {cart.token[:8]}... is not stored")
        self._tx.put(carts, cart.token, cart)

    def expire_stale(self, now: datetime, limit: int) -> int:
        """Mark up to ``limit`` active carts whose expiry is at or before ``now`` as expired."""
        carts = self._tx.store.carts
        stale = list(
            itertools.islice(
                (
                    cart
                    for cart in carts.values()
                    if cart.status is CartStatus.ACTIVE and cart.expires_at <= now
                ),
                max(limit, 0),
            )
        )
        for cart in stale:
            self._tx.put(carts, cart.token, cart.expire())
        return len(stale)

    def delete_expired_before(self, cutoff: datetime, limit: int) -> int:
        """Delete up to ``limit`` expired or converted carts whose expiry is before ``cutoff``."""
        carts = self._tx.store.carts
        # The tokens are collected first: the table must not change while it is walked.
        tokens = list(
            itertools.islice(
                (
                    token
                    for token, cart in carts.items()
                    if cart.status in _SWEPT_CART_STATES and cart.expires_at < cutoff
                ),
                max(limit, 0),
            )
        )
        for token in tokens:
            self._tx.delete(carts, token)
        return len(tokens)

    def count_abandoned(self, since: datetime, until: datetime) -> dict[str | None, int]:
        """Active or expired carts whose expiry fell in ``[since, until)``, by sale slug."""
        return dict(
            Counter(
                cart.sale_slug
                for cart in self._tx.store.carts.values()
                if cart.status in _ABANDONED_CART_STATES and since <= cart.expires_at < until
            )
        )

    def count_converted_without_order(self, since: datetime) -> int:
        """Converted carts expiring at or after ``since`` that no order was made from."""
        store = self._tx.store
        return sum(
            1
            for token, cart in store.carts.items()
            if cart.status is CartStatus.CONVERTED
            and cart.expires_at >= since
            and token not in store.order_tokens_by_cart
        )


@frozen
class InMemoryOrderRepository:
    """Orders by token, at most one per cart."""

    _tx: Transaction

    def add(self, order: Order) -> None:
        """Store a new order; a second order for its cart raises :class:`CartNotActive`."""
        store = self._tx.store
        if order.token in store.orders:
            raise ValueError(f"order {order.token} is already stored")
        if order.cart_token in store.order_tokens_by_cart:
            raise CartNotActive(f"cart {order.cart_token[:8]}... already has an order")
        self._tx.put(store.orders, order.token, order)
        self._tx.put(store.order_tokens_by_cart, order.cart_token, order.token)

    def get(self, token: str, *, for_update: bool = False) -> Order | None:
        """The order with ``token``; every read holds the store, so ``for_update`` adds nothing."""
        del for_update
        return self._tx.store.orders.get(token)

    def get_many(self, tokens: Collection[str], *, for_update: bool = False) -> dict[str, Order]:
        """The stored orders among ``tokens``, by token; ``for_update`` adds nothing here."""
        del for_update
        orders = self._tx.store.orders
        return {token: orders[token] for token in sorted(set(tokens)) if token in orders}

    def complete_paid(self, tokens: Collection[str], now: datetime) -> int:
        """Complete the paid orders among ``tokens``, updated at ``now``; return how many."""
        orders = self._tx.store.orders
        completed = 0
        for token in set(tokens):
            order = orders.get(token)
            if order is not None and order.status is OrderStatus.PAID:
                self._tx.put(orders, token, order.complete(now))
                completed += 1
        return completed

    def get_by_cart(self, cart_token: str) -> Order | None:
        """The order made from the cart ``cart_token``, if any."""
        store = self._tx.store
        token = store.order_tokens_by_cart.get(cart_token)
        return None if token is None else store.orders[token]

    def update(self, order: Order) -> None:
        """Store the new state of a stored order; an unknown one raises :class:`ValueError`."""
        orders = self._tx.store.orders
        stored = orders.get(order.token)
        if stored is None:
            raise ValueError(f"order {order.token} is not stored")
        if stored.cart_token != order.cart_token:
            raise ValueError(f"order {order.token} cannot move to another cart")
        self._tx.put(orders, order.token, order)

    def lock_stale_unpaid(
        self, updated_before: datetime, *, after: Order | None, limit: int
    ) -> list[Order]:
        """Unpaid orders not updated since ``updated_before``, in ``(updated_at, token)`` order.

        The transaction holds the whole store, so there is nothing to skip.
        """
        unpaid = (
            order
            for order in self._tx.store.orders.values()
            if order.status in _UNPAID_ORDER_STATES and order.updated_at < updated_before
        )
        return page_after(unpaid, _by_update, after, limit)

    def stalled_paid(
        self,
        updated_from: datetime,
        updated_before: datetime,
        *,
        after: Order | None,
        limit: int,
    ) -> list[Order]:
        """Paid orders last updated in ``[updated_from, updated_before)``, oldest first."""
        paid = (
            order
            for order in self._tx.store.orders.values()
            if order.status is OrderStatus.PAID
            and updated_from <= order.updated_at < updated_before
        )
        return page_after(paid, _by_update, after, limit)

    def count_paid_without_capture(self, since: datetime) -> int:
        """Orders paid for, updated since ``since``, none of whose payments was captured."""
        store = self._tx.store

        def captured(order_token: str) -> bool:
            ids = store.payment_ids_by_order.get(order_token, ())
            return any(store.payments[payment_id].is_captured for payment_id in ids)

        return sum(
            1
            for order in store.orders.values()
            if order.status in _PAID_ORDER_STATES
            and order.requires_payment
            and order.updated_at >= since
            and not captured(order.token)
        )

    def count_completed_without_enrollments(self, since: datetime) -> int:
        """Completed orders updated since ``since`` without an enrollment."""
        store = self._tx.store
        return sum(
            1
            for order in store.orders.values()
            if order.status is OrderStatus.COMPLETED
            and order.updated_at >= since
            and not store.enrollment_keys_by_order.get(order.token)
        )
