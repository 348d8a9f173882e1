"""Coupons and their redemptions, with the limits kept by the database.

``coupons.used`` counts the active redemptions of a coupon. A redemption
takes a use with one conditional ``UPDATE`` (``used < usage_limit``), which
also locks the coupon's row: concurrent redeemers of one coupon queue there,
so the per-user count that follows, a statement of its own, sees every
redemption committed before it (READ COMMITTED on PostgreSQL; SQLite's
IMMEDIATE transactions run one at a time anyway). A ``CHECK`` keeps
``used <= usage_limit`` should any code ever forget.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.sql.dml import ReturningInsert

from checkout_adapters.sqlalchemy.dialects import insert_on_conflict
from checkout_adapters.sqlalchemy.serialization import dump_strings, load_strings
from checkout_adapters.sqlalchemy.tables import RedemptionStatus, coupon_redemptions, coupons
from checkout_core.domain.discounts import Coupon, CouponRedemption, CouponUsage, normalize_code
from checkout_core.domain.money import Currency, Rate, Rounding
from checkout_core.errors import CouponExhausted, CouponInvalid, CouponUserLimitReached

__all__ = ["SqlDiscountRepository", "coupon_values"]

_c = coupons.c
_r = coupon_redemptions.c
_ACTIVE: Final = RedemptionStatus.ACTIVE.value
_RELEASED: Final = RedemptionStatus.RELEASED.value

_INSERT_COUPON: Final = insert(coupons)
_USED_BY_USER: Final = (
    select(func.count())
    .where(
        _r.coupon_code == _c.code,
        _r.user_id == bindparam("b_user_id"),
        _r.status == _ACTIVE,
    )
    .correlate(coupons)
    .scalar_subquery()
)
_COUPON: Final = select(coupons).where(_c.code == bindparam("b_code"))
_COUPON_FOR_USER: Final = select(coupons, _USED_BY_USER.label("by_user")).where(
    _c.code == bindparam("b_code")
)
_REDEMPTION_OF_ORDER: Final = (
    select(_r.status)
    .where(_r.coupon_code == _c.code, _r.order_token == bindparam("b_order_token"))
    .correlate(coupons)
    .scalar_subquery()
)
# Read only when no use could be taken: was there no coupon, or no use left?
_WHY_NOT_TAKEN: Final = select(_REDEMPTION_OF_ORDER.label("redemption")).where(
    _c.code == bindparam("b_code")
)
_TAKE_USE: Final = (
    update(coupons)
    .where(
        _c.code == bindparam("b_code"),
        or_(_c.usage_limit.is_(None), _c.used < _c.usage_limit),
    )
    .values(used=_c.used + 1)
    .returning(_c.per_user_limit)
)
_GIVE_USE_BACK: Final = (
    update(coupons).where(_c.code == bindparam("b_code")).values(used=_c.used - 1)
)
_COUNT_BY_USER: Final = select(func.count()).where(
    _r.coupon_code == bindparam("b_code"),
    _r.user_id == bindparam("b_user_id"),
    _r.status == _ACTIVE,
    _r.order_token != bindparam("b_order_token"),
)
_RELEASE: Final = (
    update(coupon_redemptions)
    .where(
        _r.coupon_code == bindparam("b_code"),
        _r.order_token == bindparam("b_order_token"),
        _r.status == _ACTIVE,
    )
    .values(status=_RELEASED, released_at=bindparam("b_now"))
)


@cache
def _record_redemption(dialect: str) -> ReturningInsert[Any]:
    # Inserts the redemption, or re-activates a released one; an active one is left alone.
    statement = insert_on_conflict(dialect, coupon_redemptions).values(
        coupon_code=bindparam("b_code"),
        order_token=bindparam("b_order_token"),
        user_id=bindparam("b_user_id"),
        status=_ACTIVE,
        redeemed_at=bindparam("b_now"),
    )
    return statement.on_conflict_do_update(
        index_elements=[_r.coupon_code, _r.order_token],
        set_={
            "user_id": statement.excluded.user_id,
            "status": _ACTIVE,
            "redeemed_at": statement.excluded.redeemed_at,
            "released_at": None,
        },
        where=_r.status == _RELEASED,
    ).returning(_r.order_token)


def coupon_values(coupon: Coupon) -> dict[str, Any]:
    """The row of ``coupon`` in the ``coupons`` table, unused: what inserting it writes."""
    return {
        "code": coupon.code,
        "percent_off_ppm": None if coupon.percent_off is None else coupon.percent_off.ppm,
        "amount_off": coupon.amount_off,
        "currency": None if coupon.currency is None else coupon.currency.code,
        "max_discount": coupon.max_discount,
        "min_subtotal": coupon.min_subtotal,
        "valid_from": coupon.valid_from,
        "valid_until": coupon.valid_until,
        "usage_limit": coupon.usage_limit,
        "per_user_limit": coupon.per_user_limit,
        "offering_ids": None if coupon.offering_ids is None else dump_strings(coupon.offering_ids),
        "stacks_with_sale": coupon.stacks_with_sale,
        "active": coupon.active,
        "rounding": coupon.rounding.value,
    }


def _coupon(row: Row[Any]) -> Coupon:
    return Coupon(
        code=row.code,
        percent_off=None if row.percent_off_ppm is None else Rate(row.percent_off_ppm),
        amount_off=row.amount_off,
        currency=None if row.currency is None else Currency.of(row.currency),
        max_discount=row.max_discount,
        min_subtotal=row.min_subtotal,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        usage_limit=row.usage_limit,
        per_user_limit=row.per_user_limit,
        offering_ids=None if row.offering_ids is None else load_strings(row.offering_ids),
        stacks_with_sale=row.stacks_with_sale,
        active=row.active,
        rounding=Rounding(row.rounding),
    )


def _normalized(code: str) -> str | None:
    try:
        return normalize_code(code)
    except CouponInvalid:
        return None


class SqlDiscountRepository:
    """Coupons and redemptions, in the transaction of the ``connection()`` at hand."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection

    def add_coupon(self, coupon: Coupon) -> None:
        """Store a new coupon, unused."""
        self._connection().execute(_INSERT_COUPON, coupon_values(coupon))

    def coupon(self, code: str, *, user_id: str | None) -> tuple[Coupon, CouponUsage] | None:
        """The coupon with ``code`` and its use, in all and by ``user_id``, in one statement."""
        normalized = _normalized(code)
        if normalized is None:
            return None
        if user_id is None:
            row = self._connection().execute(_COUPON, {"b_code": normalized}).one_or_none()
            by_user = 0
        else:
            parameters = {"b_code": normalized, "b_user_id": user_id}
            row = self._connection().execute(_COUPON_FOR_USER, parameters).one_or_none()
            by_user = 0 if row is None else row.by_user
        if row is None:
            return None
        return _coupon(row), CouponUsage(total=row.used, by_user=by_user)

    def redeem(self, redemption: CouponRedemption) -> None:
        """Record one use of a coupon by an order, within the coupon's limits.

        A repeat for an order whose redemption is active changes nothing.
        Raising leaves the transaction to the caller, who rolls it back.

        Raises:
            CouponInvalid: there is no such coupon.
            CouponExhausted: the total limit is reached.
            CouponUserLimitReached: the buyer's limit is reached.
        """
        code = normalize_code(redemption.coupon_code)
        order = {"b_code": code, "b_order_token": redemption.order_token}
        connection = self._connection()
        # The use is taken first: the UPDATE locks the coupon's row, so every
        # check after it sees all redemptions committed before this one.
        taken = connection.execute(_TAKE_USE, {"b_code": code}).one_or_none()
        if taken is None:
            why = connection.execute(_WHY_NOT_TAKEN, order).one_or_none()
            if why is None:
                raise CouponInvalid
            if why.redemption == _ACTIVE:
                return
            raise CouponExhausted
        user_id = redemption.user_id
        if taken.per_user_limit is not None and user_id is not None:
            counted = {**order, "b_user_id": user_id}
            used_by_user = connection.execute(_COUNT_BY_USER, counted).scalar_one()
            if used_by_user >= taken.per_user_limit:
                raise CouponUserLimitReached
        recorded = connection.execute(
            _record_redemption(connection.dialect.name),
            {**order, "b_user_id": user_id, "b_now": redemption.redeemed_at},
        )
        if recorded.first() is None:
            # This order's redemption is already active: the use it holds stands, not this one.
            connection.execute(_GIVE_USE_BACK, {"b_code": code})

    def release(self, coupon_code: str, order_token: str, now: datetime) -> bool:
        """Give back the use an order made of a coupon; ``False`` if there was none to give."""
        code = _normalized(coupon_code)
        if code is None:
            return False
        parameters = {"b_code": code, "b_order_token": order_token, "b_now": now}
        if self._connection().execute(_RELEASE, parameters).rowcount != 1:
            return False
        self._connection().execute(_GIVE_USE_BACK, {"b_code": code})
        return True
