"""Enrollments: what a buyer got once an order is paid or, when free, completed.

There is one enrollment per (order, offering); :attr:`Enrollment.key` names
it, so the enrollment worker, which may see the same ``order.paid`` event
twice, can let a unique constraint on the key turn the second run into a no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Final

from attrs import Attribute, field, frozen

from checkout_core.domain.catalog import Period
from checkout_core.domain.orders import OrderStatus
from checkout_core.domain.validators import aware
from checkout_core.errors import InvalidRequest

if TYPE_CHECKING:
    from collections.abc import Iterable

    from checkout_core.domain.orders import Order

__all__ = ["ENROLLABLE_STATES", "Enrollment", "enrollments_for"]

ENROLLABLE_STATES: Final = frozenset({OrderStatus.PAID, OrderStatus.COMPLETED})
"""The statuses of an order whose buyer may be enrolled."""


def _enrollment_id(_: object, attribute: Attribute[str], value: str) -> None:
    if not value.startswith("enr_"):
        raise InvalidRequest(f"an enrollment's {attribute.name} starts with 'enr_', not {value!r}")


@frozen
class Enrollment:
    """A buyer's place in an offering, for a period, bought by an order."""

    id: str = field(validator=_enrollment_id)
    user_id: str
    offering_id: str
    period: Period
    order_token: str
    created_at: datetime = field(validator=aware)

    @property
    def key(self) -> tuple[str, str]:
        """What makes the enrollment unique: its order and its offering."""
        return (self.order_token, self.offering_id)


def enrollments_for(order: Order, ids: Iterable[str], now: datetime) -> tuple[Enrollment, ...]:
    """One enrollment per distinct offering of ``order``'s pricing, under the fresh ``ids``.

    The order must be paid or completed and belong to a user. ``ids`` gives
    at least one id per distinct offering; ids left over are not used.
    """
    if order.status not in ENROLLABLE_STATES:
        raise InvalidRequest(f"order {order.token} is {order.status}; it is not paid or completed")
    user_id = order.user_id
    if user_id is None:
        raise InvalidRequest(f"order {order.token} has no user to enroll")
    fresh = iter(ids)
    enrollments: list[Enrollment] = []
    seen: set[str] = set()
    for line in order.pricing.lines:
        # Carts refuse a repeated offering; skipping it here is a second guard.
        if line.offering_id in seen:
            continue
        seen.add(line.offering_id)
        enrollment_id = next(fresh, None)
        if enrollment_id is None:
            raise InvalidRequest(f"order {order.token} needs more enrollment ids")
        enrollments.append(
            Enrollment(
                id=enrollment_id,
                user_id=user_id,
                offering_id=line.offering_id,
                period=line.period,
                order_token=order.token,
                created_at=now,
            )
        )
    if len({enrollment.id for enrollment in enrollments}) != len(enrollments):
        raise InvalidRequest(f"order {order.token}: enrollment ids must be distinct")
    return tuple(enrollments)
