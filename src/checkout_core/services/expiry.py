"""Ending unpaid orders: one at a time (expire, cancel) or the stale ones in batches.

Both ways end an order the same way, in the caller's transaction: the order
moves to its final status, its coupon redemption is given back and
``order.expired`` or ``order.cancelled`` is queued in the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from attrs import frozen

from checkout_core.domain.events import OrderCancelled, OrderExpired
from checkout_core.domain.orders import Order, OrderStatus
from checkout_core.ports import UnitOfWork
from checkout_core.services.settings import CheckoutPorts

__all__ = ["OrderExpiry", "end_order", "expire_stale_orders"]


@frozen
class OrderExpiry:
    """What a run of :meth:`~checkout_core.services.OrderService.expire_stale` did."""

    expired: int
    """Orders moved to ``expired``."""
    coupons_released: int
    """Coupon redemptions given back by those orders."""


def end_order(
    ports: CheckoutPorts, uow: UnitOfWork, order: Order, status: OrderStatus, now: datetime
) -> tuple[Order, bool]:
    """Move ``order`` (locked by the caller) to ``status`` in ``uow``; the caller commits.

    Returns the ended order and whether a coupon redemption was given back.
    """
    ended = order.transition_to(status, now)
    released = ended.coupon_code is not None and uow.discounts.release(
        ended.coupon_code, ended.token, now
    )
    uow.orders.update(ended)
    event_id = ports.ids.id("evt")
    if status is OrderStatus.EXPIRED:
        uow.outbox.append(OrderExpired.of(event_id, ended, now))
    else:
        uow.outbox.append(OrderCancelled.of(event_id, ended, now))
    return ended, released


def expire_stale_orders(
    ports: CheckoutPorts,
    updated_before: datetime,
    *,
    batch_size: int,
    on_progress: Callable[[int], None] | None,
) -> OrderExpiry:
    """Expire the unpaid orders not updated since ``updated_before``, a batch per transaction.

    Each batch locks its orders (skipping those another transaction holds)
    and reads each order's payment under that lock: an order whose payment
    was captured is left alone, as the capture that is being applied to it
    must win. The next batch starts after the last order of this one, so an
    order left alone is not taken again and the run ends.
    """
    if batch_size < 1:
        raise ValueError(f"a batch holds at least one order, not {batch_size}")
    expired = released = 0
    after: Order | None = None
    while True:
        now = ports.clock.now()
        done = 0
        with ports.unit_of_work() as uow:
            batch = uow.orders.lock_stale_unpaid(updated_before, after=after, limit=batch_size)
            for order in batch:
                payment = uow.payments.latest_for_order(order.token)
                if payment is not None and payment.is_captured:
                    continue
                _, gave_back = end_order(ports, uow, order, OrderStatus.EXPIRED, now)
                done += 1
                released += gave_back
            uow.commit()
        expired += done
        if on_progress is not None:
            on_progress(done)
        if len(batch) < batch_size:
            return OrderExpiry(expired=expired, coupons_released=released)
        after = batch[-1]
