"""Payments and coupons of the in-memory unit of work, over one transaction.

Like the other in-memory repositories (:mod:`checkout_adapters.memory.repositories`),
each reads the store's tables and writes through the transaction; a coupon's
limits are plain reads followed by writes, the transaction holding the store's lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from attrs import frozen

from checkout_adapters.memory.store import StoredRedemption, Transaction, page_after
from checkout_core.domain.discounts import Coupon, CouponRedemption, CouponUsage, normalize_code
from checkout_core.domain.orders import OrderStatus
from checkout_core.domain.payments import Payment, PaymentStatus
from checkout_core.errors import (
    CouponExhausted,
    CouponInvalid,
    CouponUserLimitReached,
)

__all__ = [
    "InMemoryDiscountRepository",
    "InMemoryPaymentRepository",
]

_WAITING_ORDER_STATES = frozenset({OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT})
_UNSETTLED_PAYMENT_STATES = frozenset(
    {PaymentStatus.CREATED, PaymentStatus.AUTHORIZED, PaymentStatus.FAILED}
)


def _payments_after(
    payments: Iterable[Payment], after: Payment | None, limit: int
) -> list[Payment]:
    """The first ``limit`` of ``payments`` in ``(updated_at, id)`` order, after ``after``."""
    return page_after(payments, lambda payment: (payment.updated_at, payment.id), after, limit)


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
