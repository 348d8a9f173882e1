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
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from attrs import evolve, frozen

from checkout_adapters.memory.store import StoredRedemption, Transaction
from checkout_core.domain.cart import Cart, CartStatus
from checkout_core.domain.discounts import Coupon, CouponRedemption, CouponUsage, normalize_code
from checkout_core.domain.enrollments import Enrollment
from checkout_core.domain.events import DomainEvent
from checkout_core.domain.idempotency import IdempotencyRecord, IdempotencyState
from checkout_core.domain.orders import Order, OrderStatus
from checkout_core.domain.payments import Payment, PaymentStatus
from checkout_core.domain.webhooks import InboxEntry, InboxStatus
from checkout_core.errors import (
    CartNotActive,
    CouponExhausted,
    CouponInvalid,
    CouponUserLimitReached,
)

__all__ = [
    "InMemoryCartRepository",
    "InMemoryDiscountRepository",
    "InMemoryEnrollmentRepository",
    "InMemoryIdempotencyStore",
    "InMemoryOrderRepository",
    "InMemoryOutbox",
    "InMemoryPaymentRepository",
    "InMemoryWebhookInbox",
]

_SWEPT_CART_STATES = frozenset({CartStatus.EXPIRED, CartStatus.CONVERTED})
_ABANDONED_CART_STATES = frozenset({CartStatus.ACTIVE, CartStatus.EXPIRED})
_UNPAID_ORDER_STATES = frozenset(
    {OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT, OrderStatus.PAYMENT_FAILED}
)
_PAID_ORDER_STATES = frozenset({
    OrderStatus.PAID, OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED,
})  # fmt: skip
_WAITING_ORDER_STATES = frozenset({OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT})
_UNSETTLED_PAYMENT_STATES = frozenset(
    {PaymentStatus.CREATED, PaymentStatus.AUTHORIZED, PaymentStatus.FAILED}
)


def _payments_after(
    payments: Iterable[Payment], after: Payment | None, limit: int
) -> list[Payment]:
    """The first ``limit`` of ``payments`` in ``(updated_at, id)`` order, after ``after``."""
    ordered = sorted(payments, key=lambda payment: (payment.updated_at, payment.id))
    if after is not None:
        cursor = (after.updated_at, after.id)
        ordered = [payment for payment in ordered if (payment.updated_at, payment.id) > cursor]
    return ordered[: max(limit, 0)]


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
        ordered = sorted(
            (
                order
                for order in self._tx.store.orders.values()
                if order.status in _UNPAID_ORDER_STATES and order.updated_at < updated_before
            ),
            key=lambda order: (order.updated_at, order.token),
        )
        if after is not None:
            cursor = (after.updated_at, after.token)
            ordered = [order for order in ordered if (order.updated_at, order.token) > cursor]
        return ordered[: max(limit, 0)]

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


@frozen
class InMemoryPaymentRepository:
    """Payments by id, by order and by the provider's reference."""

    _tx: Transaction

    def add(self, payment: Payment) -> None:
        """Store a new payment; an id already stored raises :class:`ValueError`."""
        store = self._tx.store
        if payment.id in store.payments:
            raise ValueError(f"payment {payment.id} is already stored")
        self._check_ref_free(payment)
        self._tx.put(store.payments, payment.id, payment)
        siblings = store.payment_ids_by_order.get(payment.order_token, ())
        self._tx.put(store.payment_ids_by_order, payment.order_token, (*siblings, payment.id))
        self._index_ref(payment)

    def get(self, payment_id: str, *, for_update: bool = False) -> Payment | None:
        """The payment with ``payment_id``."""
        del for_update
        return self._tx.store.payments.get(payment_id)

    def latest_for_order(self, order_token: str) -> Payment | None:
        """The order's payment created last; of two created at once, the one stored last."""
        store = self._tx.store
        ids = store.payment_ids_by_order.get(order_token, ())
        if not ids:
            return None
        # Of two payments created at the same instant, the one stored later wins.
        payments = [store.payments[payment_id] for payment_id in ids]
        latest = max(range(len(payments)), key=lambda index: (payments[index].created_at, index))
        return payments[latest]

    def get_by_provider_ref(
        self, provider: str, provider_ref: str, *, for_update: bool = False
    ) -> Payment | None:
        """The payment ``provider`` knows as ``provider_ref``."""
        del for_update
        store = self._tx.store
        payment_id = store.payment_ids_by_ref.get((provider, provider_ref))
        return None if payment_id is None else store.payments[payment_id]

    def update(self, payment: Payment) -> None:
        """Store the new state of a stored payment; an unknown one raises :class:`ValueError`."""
        store = self._tx.store
        stored = store.payments.get(payment.id)
        if stored is None:
            raise ValueError(f"payment {payment.id} is not stored")
        if (stored.order_token, stored.provider) != (payment.order_token, payment.provider):
            raise ValueError(f"payment {payment.id} cannot change its order or provider")
        if stored.provider_ref != payment.provider_ref:
            self._check_ref_free(payment)
            if stored.provider_ref is not None:
                self._tx.delete(store.payment_ids_by_ref, (stored.provider, stored.provider_ref))
            self._index_ref(payment)
        self._tx.put(store.payments, payment.id, payment)

    def record_session(self, payment: Payment) -> Payment:
        """Store ``payment``'s session unless the stored payment has one; return the stored one."""
        stored = self._tx.store.payments.get(payment.id)
        if stored is None:
            raise ValueError(f"payment {payment.id} is not stored")
        if stored.provider_ref is not None:
            return stored
        self.update(payment)
        return payment

    def unsettled(
        self,
        provider: str,
        *,
        changed_from: datetime,
        changed_before: datetime,
        after: Payment | None,
        limit: int,
    ) -> list[Payment]:
        """Payments with a session and no money taken, changed in the window, after ``after``."""
        candidates = (
            payment
            for payment in self._tx.store.payments.values()
            if payment.provider == provider
            and payment.status in _UNSETTLED_PAYMENT_STATES
            and payment.provider_ref is not None
            and changed_from <= payment.updated_at < changed_before
        )
        return _payments_after(candidates, after, limit)

    def sessionless(
        self,
        provider: str,
        *,
        changed_from: datetime,
        changed_before: datetime,
        after: Payment | None,
        limit: int,
    ) -> list[Payment]:
        """New payments without a session whose order waits, changed in the window."""
        store = self._tx.store

        def waiting(order_token: str) -> bool:
            order = store.orders.get(order_token)
            return order is not None and order.status in _WAITING_ORDER_STATES

        candidates = (
            payment
            for payment in store.payments.values()
            if payment.provider == provider
            and payment.status is PaymentStatus.CREATED
            and payment.provider_ref is None
            and changed_from <= payment.updated_at < changed_before
            and waiting(payment.order_token)
        )
        return _payments_after(candidates, after, limit)

    def count_without_order(self, since: datetime) -> int:
        """Payments created since ``since`` whose order is not stored."""
        store = self._tx.store
        return sum(
            1
            for payment in store.payments.values()
            if payment.created_at >= since and payment.order_token not in store.orders
        )

    def _check_ref_free(self, payment: Payment) -> None:
        if payment.provider_ref is None:
            return
        holder = self._tx.store.payment_ids_by_ref.get((payment.provider, payment.provider_ref))
        if holder is not None and holder != payment.id:
            raise ValueError(
                f"{payment.provider} reference {payment.provider_ref} belongs to payment {holder}"
            )

    def _index_ref(self, payment: Payment) -> None:
        if payment.provider_ref is not None:
            key = (payment.provider, payment.provider_ref)
            self._tx.put(self._tx.store.payment_ids_by_ref, key, payment.id)


@frozen
class InMemoryDiscountRepository:
    """Coupons by normalised code, and their redemptions by (code, order)."""

    _tx: Transaction

    def add_coupon(self, coupon: Coupon) -> None:
        """Store a new coupon; a code already stored raises :class:`ValueError`."""
        coupons = self._tx.store.coupons
        if coupon.code in coupons:
            raise ValueError(f"coupon {coupon.code} is already stored")
        self._tx.put(coupons, coupon.code, coupon)

    def coupon(self, code: str, *, user_id: str | None) -> tuple[Coupon, CouponUsage] | None:
        """The coupon with ``code`` (in any case) and its active redemptions."""
        store = self._tx.store
        try:
            normalized = normalize_code(code)
        except CouponInvalid:
            return None
        coupon = store.coupons.get(normalized)
        if coupon is None:
            return None
        by_user = 0 if user_id is None else store.coupon_uses_by_user.get((normalized, user_id), 0)
        return coupon, CouponUsage(total=store.coupon_uses.get(normalized, 0), by_user=by_user)

    def redeem(self, redemption: CouponRedemption) -> None:
        """Record an order's use of a coupon, within its total and per-user limits.

        Raises:
            CouponInvalid: there is no such coupon.
            CouponExhausted: the total limit is reached.
            CouponUserLimitReached: the buyer's limit is reached.
        """
        store = self._tx.store
        code = normalize_code(redemption.coupon_code)
        coupon = store.coupons.get(code)
        if coupon is None:
            raise CouponInvalid
        key = (code, redemption.order_token)
        stored = store.redemptions.get(key)
        if stored is not None and stored.active:
            return
        total = store.coupon_uses.get(code, 0)
        if coupon.usage_limit is not None and total >= coupon.usage_limit:
            raise CouponExhausted
        user_id = redemption.user_id
        by_user = 0 if user_id is None else store.coupon_uses_by_user.get((code, user_id), 0)
        if coupon.per_user_limit is not None and by_user >= coupon.per_user_limit:
            raise CouponUserLimitReached
        self._tx.put(store.redemptions, key, StoredRedemption(redemption))
        self._tx.put(store.coupon_uses, code, total + 1)
        if user_id is not None:
            self._tx.put(store.coupon_uses_by_user, (code, user_id), by_user + 1)

    def release(self, coupon_code: str, order_token: str, now: datetime) -> bool:
        """Release the order's active redemption of the coupon; ``False`` if there is none."""
        store = self._tx.store
        try:
            code = normalize_code(coupon_code)
        except CouponInvalid:
            return False
        key = (code, order_token)
        stored = store.redemptions.get(key)
        if stored is None or not stored.active:
            return False
        self._tx.put(store.redemptions, key, StoredRedemption(stored.redemption, released_at=now))
        self._tx.put(store.coupon_uses, code, store.coupon_uses[code] - 1)
        user_id = stored.redemption.user_id
        if user_id is not None:
            user_key = (code, user_id)
            self._tx.put(
                store.coupon_uses_by_user, user_key, store.coupon_uses_by_user[user_key] - 1
            )
        return True


@frozen
class InMemoryEnrollmentRepository:
    """Enrollments, one per (order, offering)."""

    _tx: Transaction

    def add_missing(self, enrollments: Sequence[Enrollment]) -> list[Enrollment]:
        """Store the enrollments whose (order, offering) is new; return them in the given order."""
        store = self._tx.store
        added: list[Enrollment] = []
        for enrollment in enrollments:
            key = enrollment.key
            if key in store.enrollments:
                continue
            self._tx.put(store.enrollments, key, enrollment)
            siblings = store.enrollment_keys_by_order.get(enrollment.order_token, ())
            self._tx.put(store.enrollment_keys_by_order, enrollment.order_token, (*siblings, key))
            added.append(enrollment)
        return added

    def for_order(self, order_token: str) -> list[Enrollment]:
        """The order's enrollments, in the order they were stored."""
        store = self._tx.store
        keys = store.enrollment_keys_by_order.get(order_token, ())
        return [store.enrollments[key] for key in keys]


@frozen
class InMemoryIdempotencyStore:
    """Idempotency records by key; a claim is exclusive because the store is held."""

    _tx: Transaction

    def get(self, key: str) -> IdempotencyRecord | None:
        """The record of ``key``, if any."""
        return self._tx.store.idempotency.get(key)

    def claim(self, record: IdempotencyRecord, *, replacing: IdempotencyRecord | None) -> bool:
        """Store the in-progress ``record`` if the key is free or still holds ``replacing``."""
        if record.state is not IdempotencyState.IN_PROGRESS:
            raise ValueError(f"a claim on key {record.key!r} is an in-progress record")
        if replacing is not None and replacing.key != record.key:
            raise ValueError(f"a claim on key {record.key!r} cannot replace key {replacing.key!r}")
        records = self._tx.store.idempotency
        if records.get(record.key) != replacing:
            return False
        self._tx.put(records, record.key, record)
        return True

    def complete(self, record: IdempotencyRecord) -> None:
        """Store the completed ``record``, replacing its claim."""
        if record.state is not IdempotencyState.COMPLETED:
            raise ValueError(f"the record of key {record.key!r} is not completed")
        self._tx.put(self._tx.store.idempotency, record.key, record)

    def release(self, key: str, fingerprint: str) -> None:
        """Drop the in-progress claim on ``key`` made with ``fingerprint``, if it is there."""
        records = self._tx.store.idempotency
        stored = records.get(key)
        if (
            stored is not None
            and stored.state is IdempotencyState.IN_PROGRESS
            and stored.fingerprint == fingerprint
        ):
            self._tx.delete(records, key)


@frozen
class InMemoryWebhookInbox:
    """Webhook deliveries, once each by (provider, event id)."""

    _tx: Transaction

    def record(self, entry: InboxEntry) -> bool:
        """Record a delivery; ``False`` when it was recorded before."""
        key = (entry.provider, entry.event_id)
        if key in self._tx.store.inbox:
            return False
        self._tx.put(self._tx.store.inbox, key, entry)
        return True

    def mark(self, provider: str, event_id: str, status: InboxStatus, detail: str | None) -> None:
        """Say what became of a recorded delivery; an unknown one raises :class:`ValueError`."""
        key = (provider, event_id)
        entry = self._tx.store.inbox.get(key)
        if entry is None:
            raise ValueError(f"{provider} event {event_id} is not recorded")
        self._tx.put(self._tx.store.inbox, key, evolve(entry, status=status, detail=detail))

    def get(self, provider: str, event_id: str) -> InboxEntry | None:
        """The recorded delivery, if any."""
        return self._tx.store.inbox.get((provider, event_id))

    def get_many(self, provider: str, event_ids: Collection[str]) -> dict[str, InboxEntry]:
        """The recorded deliveries of ``provider`` among ``event_ids``, by event id."""
        inbox = self._tx.store.inbox
        found = ((event_id, inbox.get((provider, event_id))) for event_id in event_ids)
        return {event_id: entry for event_id, entry in found if entry is not None}

    def record_many(self, entries: Sequence[InboxEntry]) -> int:
        """Record deliveries, skipping those recorded before; return how many were new."""
        return sum(self.record(entry) for entry in entries)

    def mark_many(self, provider: str, event_ids: Collection[str], status: InboxStatus) -> int:
        """Give the recorded deliveries among ``event_ids`` ``status``; return how many."""
        inbox = self._tx.store.inbox
        marked = 0
        for event_id in set(event_ids):
            key = (provider, event_id)
            entry = inbox.get(key)
            if entry is not None:
                self._tx.put(inbox, key, evolve(entry, status=status, detail=None))
                marked += 1
        return marked

    def reclaim(self, provider: str, event_id: str, at: datetime) -> None:
        """Claim a recorded delivery again, since ``at``; an unknown one raises ValueError."""
        key = (provider, event_id)
        entry = self._tx.store.inbox.get(key)
        if entry is None:
            raise ValueError(f"{provider} event {event_id} is not recorded")
        claimed = evolve(entry, status=InboxStatus.CLAIMED, received_at=at)
        self._tx.put(self._tx.store.inbox, key, claimed)


@frozen
class InMemoryOutbox:
    """Events queued with the transaction that made them."""

    _tx: Transaction

    def append(self, event: DomainEvent) -> None:
        """Queue ``event``; a rollback takes it out again."""
        store = self._tx.store
        self._tx.put(store.outbox, store.next_outbox_position(), event)

    def count_unsent(self, occurred_before: datetime) -> int:
        """0: the in-memory queue reads this outbox itself, so nothing waits for a relay."""
        del occurred_before
        return 0
