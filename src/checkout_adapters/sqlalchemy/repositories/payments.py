"""Payments in the ``payments`` table, one statement per method."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from checkout_adapters.sqlalchemy.serialization import dump_strings, load_strings
from checkout_adapters.sqlalchemy.tables import orders, payments
from checkout_core.domain.money import Currency
from checkout_core.domain.orders import OrderStatus
from checkout_core.domain.payments import Payment, PaymentStatus

__all__ = ["SqlPaymentRepository"]

_c = payments.c
_INSERT: Final = insert(payments)
_GET: Final = select(payments).where(_c.id == bindparam("key"))
_GET_FOR_UPDATE: Final = _GET.with_for_update()
_LATEST: Final = (
    select(payments)
    .where(_c.order_token == bindparam("order_token"))
    # Of two payments created at the same instant, the one stored last wins.
    .order_by(_c.created_at.desc(), _c.seq.desc())
    .limit(1)
)
_BY_REF: Final = select(payments).where(
    _c.provider == bindparam("provider"), _c.provider_ref == bindparam("provider_ref")
)
_BY_REF_FOR_UPDATE: Final = _BY_REF.with_for_update()
_RECORD_SESSION: Final = (
    update(payments)
    .where(_c.id == bindparam("key"), _c.provider_ref.is_(None))
    .values(
        provider_ref=bindparam("b_provider_ref"),
        checkout_url=bindparam("b_checkout_url"),
        updated_at=bindparam("b_updated_at"),
    )
)
_UPDATE: Final = update(payments).where(
    _c.id == bindparam("key"),
    _c.order_token == bindparam("key_order_token"),
    _c.provider == bindparam("key_provider"),
)

# The condition of the partial index ix_payments_unsettled, written as it is there.
_NO_MONEY_TAKEN: Final = _c.status.in_([
    PaymentStatus.CREATED.value, PaymentStatus.AUTHORIZED.value, PaymentStatus.FAILED.value,
])  # fmt: skip
_IN_WINDOW: Final = and_(
    _c.updated_at >= bindparam("changed_from"), _c.updated_at < bindparam("changed_before")
)
# After the last payment of the previous batch in (updated_at, id) order. The
# first term alone bounds the index scan; the second breaks ties on id.
_AFTER: Final = and_(
    _c.updated_at >= bindparam("after_at"),
    or_(_c.updated_at > bindparam("after_at"), _c.id > bindparam("after_id")),
)


def _walk(conditions: ColumnElement[bool]) -> tuple[Select[Any], Select[Any]]:
    """A batch of the payments meeting ``conditions``: the first, and one after a cursor."""
    first = (
        select(payments).where(conditions).order_by(_c.updated_at, _c.id).limit(bindparam("limit"))
    )
    return first, first.where(_AFTER)


_UNSETTLED: Final = _walk(
    and_(
        _c.provider == bindparam("provider"),
        _NO_MONEY_TAKEN,
        _c.provider_ref.is_not(None),
        _IN_WINDOW,
    )
)
_SESSIONLESS: Final = _walk(
    and_(
        _c.provider == bindparam("provider"),
        _NO_MONEY_TAKEN,
        _c.status == PaymentStatus.CREATED.value,
        _c.provider_ref.is_(None),
        _IN_WINDOW,
        exists().where(
            orders.c.token == _c.order_token,
            orders.c.status.in_([OrderStatus.PENDING.value, OrderStatus.AWAITING_PAYMENT.value]),
        ),
    )
)
_WITHOUT_ORDER: Final = (
    select(func.count())
    .select_from(payments)
    .where(_c.created_at >= bindparam("since"), ~exists().where(orders.c.token == _c.order_token))
)


def _values(payment: Payment) -> dict[str, Any]:
    return {
        "provider_ref": payment.provider_ref,
        "amount": payment.amount,
        "currency": payment.currency.code,
        "status": payment.status.value,
        "captured_amount": payment.captured_amount,
        "refunded_amount": payment.refunded_amount,
        "refund_ids": dump_strings(payment.refund_ids),
        "attempts": payment.attempts,
        "failure_code": payment.failure_code,
        "failure_reason": payment.failure_reason,
        "checkout_url": payment.checkout_url,
        "created_at": payment.created_at,
        "updated_at": payment.updated_at,
    }


def _payment(row: Row[Any]) -> Payment:
    return Payment(
        id=row.id,
        order_token=row.order_token,
        provider=row.provider,
        amount=row.amount,
        currency=Currency.of(row.currency),
        status=PaymentStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        provider_ref=row.provider_ref,
        captured_amount=row.captured_amount,
        refunded_amount=row.refunded_amount,
        refund_ids=load_strings(row.refund_ids),
        attempts=row.attempts,
        failure_code=row.failure_code,
        failure_reason=row.failure_reason,
        checkout_url=row.checkout_url,
    )


class SqlPaymentRepository:
    """Payments by id, by order and by provider reference, in ``connection()``'s transaction."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection

    def add(self, payment: Payment) -> None:
        """Store a new payment."""
        row = {
            "id": payment.id,
            "order_token": payment.order_token,
            "provider": payment.provider,
            **_values(payment),
        }
        self._connection().execute(_INSERT, row)

    def get(self, payment_id: str, *, for_update: bool = False) -> Payment | None:
        """The payment with ``payment_id``; ``for_update`` locks it until the transaction ends."""
        statement = _GET_FOR_UPDATE if for_update else _GET
        row = self._connection().execute(statement, {"key": payment_id}).one_or_none()
        return None if row is None else _payment(row)

    def latest_for_order(self, order_token: str) -> Payment | None:
        """The order's payment created last."""
        row = self._connection().execute(_LATEST, {"order_token": order_token}).one_or_none()
        return None if row is None else _payment(row)

    def get_by_provider_ref(
        self, provider: str, provider_ref: str, *, for_update: bool = False
    ) -> Payment | None:
        """The payment a provider knows as ``provider_ref``."""
        statement = _BY_REF_FOR_UPDATE if for_update else _BY_REF
        parameters = {"provider": provider, "provider_ref": provider_ref}
        row = self._connection().execute(statement, parameters).one_or_none()
        return None if row is None else _payment(row)

    def update(self, payment: Payment) -> None:
        """Store the new state of a stored payment; an unknown one raises :class:`ValueError`.

        A payment never changes its order or its provider: that too is refused as unknown.
        """
        parameters = {
            "key": payment.id,
            "key_order_token": payment.order_token,
            "key_provider": payment.provider,
            **_values(payment),
        }
        if self._connection().execute(_UPDATE, parameters).rowcount != 1:
            raise ValueError(f"payment {payment.id} of order {payment.order_token} is not stored")

    def record_session(self, payment: Payment) -> Payment:
        """Store ``payment``'s session unless the stored payment has one; return the stored one.

        One conditional ``UPDATE``; the stored payment is read only when it
        already had a session (another request recorded it first).
        """
        parameters = {
            "key": payment.id,
            "b_provider_ref": payment.provider_ref,
            "b_checkout_url": payment.checkout_url,
            "b_updated_at": payment.updated_at,
        }
        if self._connection().execute(_RECORD_SESSION, parameters).rowcount == 1:
            return payment
        stored = self.get(payment.id)
        if stored is None:
            raise ValueError(f"payment {payment.id} is not stored")
        return stored

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
        return self._walk(
            _UNSETTLED,
            provider,
            changed_from=changed_from,
            changed_before=changed_before,
            after=after,
            limit=limit,
        )

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
        return self._walk(
            _SESSIONLESS,
            provider,
            changed_from=changed_from,
            changed_before=changed_before,
            after=after,
            limit=limit,
        )

    def count_without_order(self, since: datetime) -> int:
        """Payments created since ``since`` whose order is not stored."""
        return int(self._connection().execute(_WITHOUT_ORDER, {"since": since}).scalar_one())

    def _walk(  # noqa: PLR0913 - the window and the cursor of one batch
        self,
        statements: tuple[Select[Any], Select[Any]],
        provider: str,
        *,
        changed_from: datetime,
        changed_before: datetime,
        after: Payment | None,
        limit: int,
    ) -> list[Payment]:
        if limit <= 0:
            return []
        parameters: dict[str, Any] = {
            "provider": provider,
            "changed_from": changed_from,
            "changed_before": changed_before,
            "limit": limit,
        }
        first, following = statements
        if after is not None:
            parameters |= {"after_at": after.updated_at, "after_id": after.id}
        statement = first if after is None else following
        return [_payment(row) for row in self._connection().execute(statement, parameters)]
