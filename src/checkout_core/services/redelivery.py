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
from typing import TypeVar

from attrs import define, frozen

from checkout_core.domain.events import OrderPaid
from checkout_core.domain.orders import Order
from checkout_core.domain.redelivery import (
    LOOKBACK,
    STALLED_AFTER,
    RedeliveryPolicy,
    RelayedEvent,
)
from checkout_core.domain.webhooks import InboxEntry
from checkout_core.ports import UnitOfWork
from checkout_core.services._seam import checked
from checkout_core.services.settings import CheckoutPorts

__all__ = ["Redelivery", "RedeliveryService"]

T = TypeVar("T")


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
        window_from, window_before = policy.stalled_window(now)
        walk = _Walk(self.ports, policy, now, batch_size, on_progress)

        def stalled_orders(uow: UnitOfWork, after: Order | None) -> list[Order]:
            return uow.orders.stalled_paid(
                window_from, window_before, after=after, limit=batch_size
            )

        def their_events(uow: UnitOfWork, orders: Sequence[Order]) -> list[RelayedEvent]:
            relayed = uow.outbox.relayed(OrderPaid.name, [order.token for order in orders])
            return _one_per_order(relayed)

        def claimed_events(uow: UnitOfWork, entries: Sequence[InboxEntry]) -> list[RelayedEvent]:
            return uow.outbox.relayed_events([entry.event_id for entry in entries])

        stalled = walk(stalled_orders, their_events)
        unfinished = 0
        for consumer in self.consumers:

            def claims(
                uow: UnitOfWork, after: InboxEntry | None, consumer: str = consumer
            ) -> list[InboxEntry]:
                return uow.inbox.stale_claims(
                    consumer,
                    OrderPaid.name,
                    window_from,
                    window_before,
                    after=after,
                    limit=batch_size,
                )

            unfinished += walk(claims, claimed_events)
        return Redelivery(stalled=stalled, republished=walk.republished, unfinished=unfinished)


@define
class _Walk:
    """Walks stalled records in batches, marking their events unsent when the policy says."""

    ports: CheckoutPorts
    policy: RedeliveryPolicy
    now: datetime
    batch_size: int
    on_progress: Callable[[int], None] | None
    republished: int = 0

    def __call__(
        self,
        batch: Callable[[UnitOfWork, T | None], list[T]],
        events: Callable[[UnitOfWork, Sequence[T]], list[RelayedEvent]],
    ) -> int:
        """Read each ``batch`` after the last, resend its due ``events``; how many were read.

        Each batch is read and marked in a short transaction of its own.
        """
        found = 0
        after: T | None = None
        while True:
            with self.ports.unit_of_work() as uow:
                records = batch(uow, after)
                due = [
                    event for event in events(uow, records) if self.policy.is_due(event, self.now)
                ]
                self.republished += uow.outbox.resend(due)
                uow.commit()
            found += len(records)
            if self.on_progress is not None and records:
                self.on_progress(len(records))
            if len(records) < self.batch_size:
                return found
            after = records[-1]
