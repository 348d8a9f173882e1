"""RedeliveryService: paid orders complete even when the broker loses their event.

With a broker between the outbox and the enrollment worker (Redis Streams),
the relay marks ``order.paid`` sent once the broker took it. A broker that
loses it afterwards (a restart without persistence, a failover to a lagging
replica) leaves a paid order that nothing will complete. The database is
the record: :meth:`RedeliveryService.redeliver_stalled` finds the orders
still paid a while after their payment and marks their ``order.paid``
unsent again, so the relay publishes the same event once more, before any
newer one. The enrollment worker's inbox keeps it once: a copy of an event
already handled is skipped, and a copy of one being handled now waits.

When each event goes out again is the call of
:class:`~checkout_core.domain.redelivery.RedeliveryPolicy`: later and later,
so a worker that is only behind is not flooded with copies.
Where the consumers read the outbox itself (the embedded queue) nothing is
relayed and nothing can be lost: the run only counts the stalled orders.

Orders go in batches in ``(updated_at, token)`` order, each batch read and
marked in a short transaction of its own, so memory stays bounded whatever
the tables hold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from attrs import frozen

from checkout_core.domain.events import OrderPaid
from checkout_core.domain.orders import Order
from checkout_core.domain.redelivery import (
    LOOKBACK,
    STALLED_AFTER,
    RedeliveryPolicy,
    RelayedEvent,
)
from checkout_core.services._seam import checked
from checkout_core.services.settings import CheckoutPorts

__all__ = ["Redelivery", "RedeliveryService"]


@frozen
class Redelivery:
    """What a run of :meth:`RedeliveryService.redeliver_stalled` did."""

    stalled: int
    """Paid orders found not completed after the delay (republished or not)."""
    republished: int
    """``order.paid`` events marked unsent again, for the relay to publish once more."""


def _one_per_order(relayed: Sequence[RelayedEvent]) -> list[RelayedEvent]:
    """The first of ``relayed`` (oldest first) of each order.

    An order has one ``order.paid``; should it have more, only its first goes
    out again, so that its buyer is not emailed once per event.
    """
    first: dict[str, RelayedEvent] = {}
    for event in relayed:
        first.setdefault(event.order_token, event)
    return list(first.values())


@frozen
class RedeliveryService:
    """Publishes again the ``order.paid`` of paid orders whose completion never came."""

    ports: CheckoutPorts

    @checked
    def redeliver_stalled(
        self,
        *,
        stalled_after: timedelta = STALLED_AFTER,
        lookback: timedelta = LOOKBACK,
        batch_size: int = 200,
        on_progress: Callable[[int], None] | None = None,
    ) -> Redelivery:
        """Mark unsent again the ``order.paid`` of orders paid over ``stalled_after`` ago.

        The orders looked at are those in status paid last updated within
        ``lookback`` and more than ``stalled_after`` ago. Of those, each whose
        ``order.paid`` was relayed, and last relayed at least
        ``max(stalled_after, how long it had waited then)`` ago, has it
        marked unsent, for the relay to publish again. ``on_progress`` is
        told how many orders each batch looked at.

        Raises:
            ValueError: ``batch_size`` is below one, ``stalled_after`` is not
                positive, or ``lookback`` is not longer than it.
        """
        if batch_size < 1:
            raise ValueError(f"a batch holds at least one order, not {batch_size}")
        policy = RedeliveryPolicy(stalled_after=stalled_after, lookback=lookback)
        now = self.ports.clock.now()
        updated_from, updated_before = policy.stalled_window(now)
        stalled = republished = 0
        after: Order | None = None
        while True:
            with self.ports.unit_of_work() as uow:
                orders = uow.orders.stalled_paid(
                    updated_from, updated_before, after=after, limit=batch_size
                )
                relayed = uow.outbox.relayed(OrderPaid.name, [order.token for order in orders])
                due = [event for event in _one_per_order(relayed) if policy.is_due(event, now)]
                republished += uow.outbox.resend(due)
                uow.commit()
            stalled += len(orders)
            if on_progress is not None:
                on_progress(len(orders))
            if len(orders) < batch_size:
                return Redelivery(stalled=stalled, republished=republished)
            after = orders[-1]
