"""RedeliveryService: paid orders complete even when the broker loses their event.

With a broker between the outbox and the enrollment worker (Redis Streams),
the relay marks ``order.paid`` sent once the broker took it. A broker that
loses it afterwards (a restart without persistence, a failover to a lagging
replica) leaves a paid order that nothing will complete. The database is
the record: :meth:`RedeliveryService.redeliver_stalled` finds the orders
still paid a while after their payment, and the ``order.paid`` events the
enrollment worker claimed and never finished (it completed the order, then
died before the confirmation, and the broker lost the message it held),
and marks their ``order.paid`` unsent again, so the relay publishes the
same event once more, before any newer one. The enrollment worker's inbox
keeps it once: a copy of an event already handled is skipped, a copy of
one being handled now waits, and one whose claim went stale is taken
over and finished (the order is not completed twice, the confirmation
goes out).

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
from datetime import datetime, timedelta

from attrs import frozen

from checkout_core.domain.events import OrderPaid
from checkout_core.domain.orders import Order
from checkout_core.domain.redelivery import (
    LOOKBACK,
    STALLED_AFTER,
    RedeliveryPolicy,
    RelayedEvent,
)
from checkout_core.domain.webhooks import InboxEntry
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
    unfinished: int = 0
    """``order.paid`` events a consumer claimed and never finished (republished or not)."""


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
    """Publishes again the ``order.paid`` of paid orders whose fulfilment never finished.

    ``consumers`` are the inbox sources of the consumers whose unfinished
    claims count (the enrollment worker's, ``consumer:enrollment``).
    """

    ports: CheckoutPorts
    consumers: tuple[str, ...] = ()

    @checked
    def redeliver_stalled(
        self,
        *,
        stalled_after: timedelta = STALLED_AFTER,
        lookback: timedelta = LOOKBACK,
        batch_size: int = 200,
        on_progress: Callable[[int], None] | None = None,
    ) -> Redelivery:
        """Mark unsent again the ``order.paid`` of orders whose fulfilment stalled.

        Two kinds are looked at, within ``lookback`` and more than
        ``stalled_after`` ago: orders still paid (no consumer completed them),
        and ``order.paid`` events a consumer claimed and never finished (it
        completed the order and died before confirming it, and the broker
        lost the message it held). Of those, each ``order.paid`` that was
        relayed, and last relayed at least ``max(stalled_after, how long it
        had waited then)`` ago, is marked unsent, for the relay to publish
        again. ``on_progress`` is told how many each batch looked at.

        Raises:
            ValueError: ``batch_size`` is below one, ``stalled_after`` is not
                positive, or ``lookback`` is not longer than it.
        """
        if batch_size < 1:
            raise ValueError(f"a batch holds at least one order, not {batch_size}")
        policy = RedeliveryPolicy(stalled_after=stalled_after, lookback=lookback)
        now = self.ports.clock.now()
        stalled, republished = self._paid_orders(policy, now, batch_size, on_progress)
        unfinished = 0
        for consumer in self.consumers:
            claims, again = self._unfinished_claims(consumer, policy, now, batch_size, on_progress)
            unfinished += claims
            republished += again
        return Redelivery(stalled=stalled, republished=republished, unfinished=unfinished)

    def _paid_orders(
        self,
        policy: RedeliveryPolicy,
        now: datetime,
        batch_size: int,
        on_progress: Callable[[int], None] | None,
    ) -> tuple[int, int]:
        """Orders still paid: how many, and how many of their events were marked unsent."""
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
                return stalled, republished
            after = orders[-1]

    def _unfinished_claims(
        self,
        consumer: str,
        policy: RedeliveryPolicy,
        now: datetime,
        batch_size: int,
        on_progress: Callable[[int], None] | None,
    ) -> tuple[int, int]:
        """Claims ``consumer`` never finished: how many, and how many events were marked unsent."""
        claimed_from, claimed_before = policy.stalled_window(now)
        unfinished = republished = 0
        after: InboxEntry | None = None
        while True:
            with self.ports.unit_of_work() as uow:
                claims = uow.inbox.stale_claims(
                    consumer,
                    OrderPaid.name,
                    claimed_from,
                    claimed_before,
                    after=after,
                    limit=batch_size,
                )
                relayed = uow.outbox.relayed_events([claim.event_id for claim in claims])
                due = [event for event in relayed if policy.is_due(event, now)]
                republished += uow.outbox.resend(due)
                uow.commit()
            unfinished += len(claims)
            if on_progress is not None and claims:
                on_progress(len(claims))
            if len(claims) < batch_size:
                return unfinished, republished
            after = claims[-1]
