"""Orders in the ``orders`` table, one statement per method.

The order keeps the estimate it was placed at as JSON; its total and currency
are copied into columns as well, for reports and checks that read no JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Row,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from checkout_adapters.sqlalchemy.dialects import violates
from checkout_adapters.sqlalchemy.serialization import dump_pricing, load_pricing
from checkout_adapters.sqlalchemy.tables import enrollments, orders, payments
from checkout_core.domain.orders import Order, OrderStatus
from checkout_core.domain.payments import CAPTURED_STATES
from checkout_core.errors import CartNotActive

__all__ = ["SqlOrderRepository"]

_c = orders.c
_INSERT: Final = insert(orders)
_GET: Final = select(orders).where(_c.token == bindparam("key"))
_GET_FOR_UPDATE: Final = _GET.with_for_update()
_GET_MANY: Final = (
    select(orders).where(_c.token.in_(bindparam("keys", expanding=True))).order_by(_c.token)
)
_GET_MANY_FOR_UPDATE: Final = _GET_MANY.with_for_update()
_COMPLETE_PAID: Final = (
    update(orders)
    .where(
        _c.token.in_(bindparam("keys", expanding=True)),
        _c.status == OrderStatus.PAID.value,
    )
    .values(status=OrderStatus.COMPLETED.value, updated_at=bindparam("now"))
)
_GET_BY_CART: Final = select(orders).where(_c.cart_token == bindparam("cart_token"))
_UPDATE: Final = update(orders).where(
    _c.token == bindparam("key"), _c.cart_token == bindparam("key_cart_token")
)
_S = OrderStatus
_STALE: Final = (
    select(orders)
    .where(
        _c.status.in_([_S.PENDING.value, _S.AWAITING_PAYMENT.value, _S.PAYMENT_FAILED.value]),
        _c.updated_at < bindparam("before"),
    )
    .order_by(_c.updated_at, _c.token)
    .limit(bindparam("limit"))
    # Two runners never wait on each other: each takes the orders the other has
    # not locked. SQLite renders no FOR UPDATE; its transactions run one at a time.
    .with_for_update(skip_locked=True)
)
_STALE_AFTER: Final = _STALE.where(
    _c.updated_at >= bindparam("after_at"),
    or_(_c.updated_at > bindparam("after_at"), _c.token > bindparam("after_token")),
)
# Read through the index on (status, updated_at); nothing is locked, nothing is written.
_STALLED_PAID: Final = (
    select(orders)
    .where(
        _c.status == _S.PAID.value,
        _c.updated_at >= bindparam("updated_from"),
        _c.updated_at < bindparam("updated_before"),
    )
    .order_by(_c.updated_at, _c.token)
    .limit(bindparam("limit"))
)
_STALLED_PAID_AFTER: Final = _STALLED_PAID.where(
    _c.updated_at >= bindparam("after_at"),
    or_(_c.updated_at > bindparam("after_at"), _c.token > bindparam("after_token")),
)
_PAID_WITHOUT_CAPTURE: Final = (
    select(func.count())
    .select_from(orders)
    .where(
        _c.status.in_([
            _S.PAID.value, _S.COMPLETED.value, _S.PARTIALLY_REFUNDED.value, _S.REFUNDED.value,
        ]),
        _c.total > 0,
        _c.updated_at >= bindparam("since"),
        ~exists().where(
            and_(
                payments.c.order_token == _c.token,
                payments.c.status.in_([status.value for status in CAPTURED_STATES]),
            )
        ),
    )
)  # fmt: skip
_COMPLETED_WITHOUT_ENROLLMENTS: Final = (
    select(func.count())
    .select_from(orders)
    .where(
        _c.status == _S.COMPLETED.value,
        _c.updated_at >= bindparam("since"),
        ~exists().where(enrollments.c.order_token == _c.token),
    )
)


def _values(order: Order) -> dict[str, Any]:
    return {
        "user_id": order.user_id,
        "status": order.status.value,
        "currency": order.currency.code,
        "total": order.total,
        "pricing": dump_pricing(order.pricing),
        "coupon_code": order.coupon_code,
        "updated_at": order.updated_at,
        "refunded_amount": order.refunded_amount,
        "review_reason": order.review_reason,
    }


def _order(row: Row[Any]) -> Order:
    return Order(
        token=row.token,
        cart_token=row.cart_token,
        user_id=row.user_id,
        status=OrderStatus(row.status),
        pricing=load_pricing(row.pricing),
        coupon_code=row.coupon_code,
        created_at=row.created_at,
        updated_at=row.updated_at,
        refunded_amount=row.refunded_amount,
        review_reason=row.review_reason,
    )


class SqlOrderRepository:
    """Orders, by token and by cart, in the transaction of the ``connection()`` at hand."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection

    def add(self, order: Order) -> None:
        """Store a new order.

        Raises:
            CartNotActive: the cart already has an order. On PostgreSQL the
                transaction is then aborted: the caller rolls it back.
        """
        row = {
            "token": order.token,
            "cart_token": order.cart_token,
            "created_at": order.created_at,
            **_values(order),
        }
        try:
            self._connection().execute(_INSERT, row)
        except IntegrityError as error:
            if violates(error, "uq_orders_cart_token", "orders.cart_token"):
                raise CartNotActive(
                    f"cart {order.cart_token[:8]}... already has an order"
                ) from error
            raise

    def get(self, token: str, *, for_update: bool = False) -> Order | None:
        """The order with ``token``; ``for_update`` locks its row until the transaction ends."""
        statement = _GET_FOR_UPDATE if for_update else _GET
        row = self._connection().execute(statement, {"key": token}).one_or_none()
        return None if row is None else _order(row)

    def get_many(self, tokens: Collection[str], *, for_update: bool = False) -> dict[str, Order]:
        """The stored orders among ``tokens``, by token, in one statement.

        ``for_update`` locks their rows in token order, until the transaction ends.
        """
        keys = sorted(set(tokens))
        if not keys:
            return {}
        statement = _GET_MANY_FOR_UPDATE if for_update else _GET_MANY
        rows = self._connection().execute(statement, {"keys": keys})
        return {row.token: _order(row) for row in rows}

    def complete_paid(self, tokens: Collection[str], now: datetime) -> int:
        """Complete the paid orders among ``tokens``, updated at ``now``; return how many."""
        keys = sorted(set(tokens))
        if not keys:
            return 0
        return self._connection().execute(_COMPLETE_PAID, {"keys": keys, "now": now}).rowcount

    def get_by_cart(self, cart_token: str) -> Order | None:
        """The order made from the cart ``cart_token``, if there is one."""
        row = self._connection().execute(_GET_BY_CART, {"cart_token": cart_token}).one_or_none()
        return None if row is None else _order(row)

    def update(self, order: Order) -> None:
        """Store the new state of a stored order; an unknown one raises :class:`ValueError`.

        An order never moves to another cart: that too is refused as unknown.
        """
        parameters = {"key": order.token, "key_cart_token": order.cart_token, **_values(order)}
        if self._connection().execute(_UPDATE, parameters).rowcount != 1:
            raise ValueError(f"order {order.token} of cart {order.cart_token[:8]}... is not stored")

    def lock_stale_unpaid(
        self, updated_before: datetime, *, after: Order | None, limit: int
    ) -> list[Order]:
        """Lock unpaid orders not updated since ``updated_before``, skipping locked ones."""
        if limit <= 0:
            return []
        parameters: dict[str, Any] = {"before": updated_before, "limit": limit}
        if after is not None:
            parameters |= {"after_at": after.updated_at, "after_token": after.token}
        statement = _STALE if after is None else _STALE_AFTER
        return [_order(row) for row in self._connection().execute(statement, parameters)]

    def stalled_paid(
        self,
        updated_from: datetime,
        updated_before: datetime,
        *,
        after: Order | None,
        limit: int,
    ) -> list[Order]:
        """Paid orders last updated in ``[updated_from, updated_before)``, oldest first."""
        if limit <= 0:
            return []
        parameters: dict[str, Any] = {
            "updated_from": updated_from,
            "updated_before": updated_before,
            "limit": limit,
        }
        if after is not None:
            parameters |= {"after_at": after.updated_at, "after_token": after.token}
        statement = _STALLED_PAID if after is None else _STALLED_PAID_AFTER
        return [_order(row) for row in self._connection().execute(statement, parameters)]

    def count_paid_without_capture(self, since: datetime) -> int:
        """Orders paid for, updated since ``since``, none of whose payments was captured."""
        result = self._connection().execute(_PAID_WITHOUT_CAPTURE, {"since": since})
        return int(result.scalar_one())

    def count_completed_without_enrollments(self, since: datetime) -> int:
        """Completed orders updated since ``since`` without an enrollment."""
        result = self._connection().execute(_COMPLETED_WITHOUT_ENROLLMENTS, {"since": since})
        return int(result.scalar_one())
