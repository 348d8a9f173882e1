"""Carts in the ``carts`` table, one statement per method."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from functools import cache
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Delete,
    Row,
    Select,
    Update,
    any_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)

from checkout_adapters.sqlalchemy.serialization import dump_lines, load_lines
from checkout_adapters.sqlalchemy.tables import carts, orders
from checkout_core.domain.cart import Cart, CartStatus

__all__ = ["SqlCartRepository"]

_c = carts.c
_INSERT: Final = insert(carts)
_GET: Final = select(carts).where(_c.token == bindparam("key"))
_GET_FOR_UPDATE: Final = _GET.with_for_update()
_GET_MANY: Final = select(carts).where(_c.token.in_(bindparam("keys", expanding=True)))
_UPDATE: Final = update(carts).where(_c.token == bindparam("key"))
_STALE: Final = (
    select(_c.token)
    .where(_c.status == CartStatus.ACTIVE.value, _c.expires_at <= bindparam("now"))
    .order_by(_c.expires_at)
    .limit(bindparam("limit"))
    # Two cleaners never wait on each other: each takes rows the other has not.
    # SQLite renders no FOR UPDATE; its IMMEDIATE transactions run one at a time.
    .with_for_update(skip_locked=True)
)
_FINISHED: Final = (
    select(_c.token)
    .where(
        _c.status.in_([CartStatus.EXPIRED.value, CartStatus.CONVERTED.value]),
        _c.expires_at < bindparam("cutoff"),
    )
    # No ORDER BY: every cart found is past retention, whichever goes first. Over two
    # statuses the index on (status, expires_at) is not in expires_at order, so
    # PostgreSQL sorted every finished cart for each batch (0.3 s a batch at 1 M carts).
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)

# An active cart past its expiry is as abandoned as one the cleanup marked expired.
_ABANDONED: Final = (
    select(_c.sale_slug, func.count().label("carts"))
    .where(
        _c.status.in_([CartStatus.ACTIVE.value, CartStatus.EXPIRED.value]),
        _c.expires_at >= bindparam("since"),
        _c.expires_at < bindparam("until"),
    )
    .group_by(_c.sale_slug)
)
_CONVERTED_WITHOUT_ORDER: Final = (
    select(func.count())
    .select_from(carts)
    .where(
        _c.status == CartStatus.CONVERTED.value,
        _c.expires_at >= bindparam("since"),
        ~exists().where(orders.c.cart_token == _c.token),
    )
)


def _in_batch(dialect: str, batch: Select[tuple[str]]) -> ColumnElement[bool]:
    if dialect == "postgresql":
        # "= ANY(ARRAY(subquery))" runs the subquery once. PostgreSQL may run an
        # "IN (subquery ... LIMIT)" again for each row it updates, which would
        # take a fresh batch each time and ignore the limit.
        return _c.token == any_(func.array(batch.scalar_subquery()))
    return _c.token.in_(batch.scalar_subquery())


@cache
def _expire(dialect: str) -> Update:
    return (
        update(carts)
        .where(_in_batch(dialect, _STALE), _c.status == CartStatus.ACTIVE.value)
        .values(status=CartStatus.EXPIRED.value)
    )


@cache
def _delete_finished(dialect: str) -> Delete:
    return delete(carts).where(_in_batch(dialect, _FINISHED))


def _values(cart: Cart) -> dict[str, Any]:
    return {
        "lines": dump_lines(cart.lines),
        "sale_slug": cart.sale_slug,
        "analytics": [list(pair) for pair in cart.analytics_data],
        "owner_id": cart.owner_id,
        "coupon_code": cart.coupon_code,
        "created_at": cart.created_at,
        "expires_at": cart.expires_at,
        "status": cart.status.value,
    }


def _cart(row: Row[Any]) -> Cart:
    return Cart(
        token=row.token,
        lines=load_lines(row.lines),
        created_at=row.created_at,
        expires_at=row.expires_at,
        sale_slug=row.sale_slug,
        analytics_data=tuple((key, value) for key, value in row.analytics),
        owner_id=row.owner_id,
        coupon_code=row.coupon_code,
        status=CartStatus(row.status),
    )


class SqlCartRepository:
    """Carts, by token, in the transaction of the ``connection()`` at hand."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection

    def add(self, cart: Cart) -> None:
        """Store a new cart."""
        self._connection().execute(_INSERT, {"token": cart.token, **_values(cart)})

    def get(self, token: str, *, for_update: bool = False) -> Cart | None:
        """The cart with ``token``; ``for_update`` locks its row until the transaction ends."""
        statement = _GET_FOR_UPDATE if for_update else _GET
        row = self._connection().execute(statement, {"key": token}).one_or_none()
        return None if row is None else _cart(row)

    def get_many(self, tokens: Collection[str]) -> dict[str, Cart]:
        """The stored carts among ``tokens``, by token, in one statement."""
        keys = sorted(set(tokens))
        if not keys:
            return {}
        rows = self._connection().execute(_GET_MANY, {"keys": keys})
        return {row.token: _cart(row) for row in rows}

    def update(self, cart: Cart) -> None:
        """Store the new state of a stored cart; an unknown one raises :class:`ValueError`."""
        result = self._connection().execute(_UPDATE, {"key": cart.token, **_values(cart)})
        if result.rowcount != 1:
            raise ValueError(f"cart {cart.token[:8]}... is not stored")

    def expire_stale(self, now: datetime, limit: int) -> int:
        """Mark up to ``limit`` active carts past their expiry as expired; return how many."""
        if limit <= 0:
            return 0
        statement = _expire(self._connection().dialect.name)
        result = self._connection().execute(statement, {"now": now, "limit": limit})
        return result.rowcount

    def delete_expired_before(self, cutoff: datetime, limit: int) -> int:
        """Delete up to ``limit`` expired or converted carts that expired before ``cutoff``."""
        if limit <= 0:
            return 0
        statement = _delete_finished(self._connection().dialect.name)
        result = self._connection().execute(statement, {"cutoff": cutoff, "limit": limit})
        return result.rowcount

    def count_abandoned(self, since: datetime, until: datetime) -> dict[str | None, int]:
        """Active or expired carts whose expiry fell in ``[since, until)``, by sale slug."""
        rows = self._connection().execute(_ABANDONED, {"since": since, "until": until})
        return {row.sale_slug: row.carts for row in rows}

    def count_converted_without_order(self, since: datetime) -> int:
        """Converted carts expiring at or after ``since`` that no order was made from."""
        result = self._connection().execute(_CONVERTED_WITHOUT_ORDER, {"since": since})
        return int(result.scalar_one())
