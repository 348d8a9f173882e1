"""The workers: what happens after an event leaves the outbox, retried until it succeeds.

:class:`EnrollmentWorker` handles ``order.paid`` (the seed's
``EnrollmentWorker.Subscribe('order.paid')``): it enrolls the buyer once per
offering, sends the confirmation and counts the conversion with the cart's
attribution. It also delivers queued notifications (the welcome of a free
order). Every handler is idempotent: a message delivered twice, or handled
again after a crash, enrolls nobody twice, and a message already handled to
the end is skipped (the consumer's inbox records it by event id).

:class:`RetryWorker` drives a consumer group: a handler that fails has its
message retried on the seed's schedule (3 attempts, 5 s then 10 s, 30 s at
most), and then moved to the dead letters with an alert
(:class:`AlertService`). Dead letters can be listed and replayed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from attrs import field, frozen

from checkout_core.domain.events import DomainEvent, NotificationRequested, OrderPaid
from checkout_core.domain.messages import Alert, AlertSeverity
from checkout_core.domain.messaging import DeadLetter, Delivery
from checkout_core.domain.orders import OrderStatus
from checkout_core.domain.retry import RetryPolicy
from checkout_core.domain.webhooks import InboxEntry, InboxStatus
from checkout_core.errors import OrderNotFound
from checkout_core.ports import MessageQueue, UnitOfWork
from checkout_core.services._seam import retried
from checkout_core.services.fulfilment import (
    AnalyticsService,
    EnrollmentService,
    NotificationService,
)
from checkout_core.services.settings import CheckoutPorts

__all__ = ["AlertService", "EnrollmentWorker", "EventInProgress", "HandlerOutcome", "RetryWorker"]

logger = logging.getLogger(__name__)


@frozen
class AlertService:
    """Raises alerts through the host's sink (the seed's ``AlertService.SendAlert``)."""

    ports: CheckoutPorts

    def send_alert(self, severity: AlertSeverity, title: str, detail: str) -> None:
        """Tell a person; if the sink fails too, the alert is logged rather than lost."""
        alert = Alert(severity, title, detail, self.ports.clock.now())
        try:
            self.ports.alerts.send(alert)
        except Exception:
            logger.exception("could not send the alert %r: %s", title, detail)


class EventInProgress(Exception):
    """Another consumer holds a fresh claim on this event: retry the message later."""


@frozen
class HandlerOutcome:
    """What a handler did: ``done``, or ``skipped`` (handled before, or not its event)."""

    event_id: str
    status: str


@frozen
class EnrollmentWorker:
    """Fulfils orders: enrollment, confirmation and conversion, each at most once per event."""

    ports: CheckoutPorts
    enrollments: EnrollmentService
    notifications: NotificationService
    analytics: AnalyticsService
    consumer: str = "enrollment"
    claim_lease: timedelta = timedelta(seconds=30)
    """How long a claim stands before a copy of the event may take it over.

    Keep it no longer than the queue's visibility: a consumer that dies keeps
    its claim, and the message it held comes back after the visibility.
    """

    def handle(self, event: DomainEvent, *, claim_lease: timedelta | None = None) -> HandlerOutcome:
        """Handle one event; raises when a step failed and the event should be retried.

        ``claim_lease`` (the queue's visibility, when a queue delivers the
        event) overrides :attr:`claim_lease`.
        """
        if isinstance(event, OrderPaid):
            return self._order_paid(event, claim_lease or self.claim_lease)
        if isinstance(event, NotificationRequested):
            return self._notify(event)
        return HandlerOutcome(event.event_id, "skipped")

    def handle_batch(
        self, events: Sequence[OrderPaid], *, claim_lease: timedelta | None = None
    ) -> dict[str, HandlerOutcome | Exception]:
        """Handle ``order.paid`` events of distinct orders in one transaction.

        Returns what became of each event, by event id: its outcome, or the
        exception that means it should be retried (a fresh claim elsewhere, a
        failing email). Raises when the transaction itself failed: nothing of
        it was kept, and the caller handles the events one at a time instead.
        """
        lease = claim_lease or self.claim_lease
        outcomes: dict[str, HandlerOutcome | Exception] = {}
        if not events:
            return outcomes
        now = self.ports.clock.now()
        with self.ports.unit_of_work() as uow:
            # The rows are locked in token order: workers with overlapping batches take turns.
            orders = uow.orders.get_many([e.order_token for e in events], for_update=True)
            for event in events:
                if event.order_token not in orders:
                    raise OrderNotFound(event.order_token)
            claimed = self._claim_many(events, uow, now, lease, outcomes)
            claimed_orders = [orders[event.order_token] for event in claimed]
            self.enrollments.enroll_many(claimed_orders, uow)
            uow.orders.complete_paid([order.token for order in claimed_orders], now)
            carts = uow.carts.get_many([order.cart_token for order in claimed_orders])
            uow.commit()
        applied: list[str] = []
        for event in claimed:
            order = orders[event.order_token]
            if order.status is OrderStatus.PAID:
                order = order.complete(now)
            try:
                self.notifications.send_confirmation(order)
            except BaseException as failure:
                self._give_up_claim(event, lease)
                if not isinstance(failure, Exception):
                    raise
                outcomes[event.event_id] = failure
                continue
            cart = carts.get(order.cart_token)
            try:
                self.analytics.track_conversion(order, cart.analytics if cart is not None else {})
            except Exception as failure:  # noqa: BLE001 - retried, like the one-event path
                outcomes[event.event_id] = failure
                continue
            applied.append(event.event_id)
            outcomes[event.event_id] = HandlerOutcome(event.event_id, "done")
        if applied:
            retried(lambda: self._mark_applied(applied), what="recording handled events")
        return outcomes

    def _mark_applied(self, event_ids: list[str]) -> None:
        with self.ports.unit_of_work() as uow:
            uow.inbox.mark_many(self.inbox_source, event_ids, InboxStatus.APPLIED)
            uow.commit()

    def _claim_many(
        self,
        events: Sequence[OrderPaid],
        uow: UnitOfWork,
        now: datetime,
        lease: timedelta,
        outcomes: dict[str, HandlerOutcome | Exception],
    ) -> list[OrderPaid]:
        """Claim each of ``events`` as :meth:`_claim` does; return those claimed.

        Those handled to the end are noted as skipped in ``outcomes``, those
        another consumer holds a fresh claim on as :class:`EventInProgress`.
        """
        entries = uow.inbox.get_many(self.inbox_source, [event.event_id for event in events])
        claimed: list[OrderPaid] = []
        fresh: list[InboxEntry] = []
        for event in events:
            entry = entries.get(event.event_id)
            if entry is None:
                fresh.append(self._entry(event, InboxStatus.CLAIMED, now))
            elif entry.status is not InboxStatus.CLAIMED:
                outcomes[event.event_id] = HandlerOutcome(event.event_id, "skipped")
                continue
            elif now - entry.received_at < lease:
                outcomes[event.event_id] = EventInProgress(
                    f"{event.name} {event.event_id} is being handled elsewhere"
                )
                continue
            else:
                uow.inbox.reclaim(self.inbox_source, event.event_id, now)
            claimed.append(event)
        if fresh and uow.inbox.record_many(fresh) != len(fresh):
            # Claimed meanwhile by a copy of an event: start again, one event at a time.
            raise EventInProgress("an event of the batch was claimed meanwhile")
        return claimed

    def _order_paid(self, event: OrderPaid, lease: timedelta) -> HandlerOutcome:
        now = self.ports.clock.now()
        with self.ports.unit_of_work() as uow:
            # The order's row lock makes copies of one event take turns here.
            order = uow.orders.get(event.order_token, for_update=True)
            if order is None:
                raise OrderNotFound(event.order_token)
            if not self._claim(event, uow, now, lease):
                return HandlerOutcome(event.event_id, "skipped")
            self.enrollments.enroll(order, uow)
            if order.status is OrderStatus.PAID:
                order = order.complete(now)
                uow.orders.update(order)
            cart = uow.carts.get(order.cart_token)
            uow.commit()
        # Enrolled and claimed first, then told: an email that fails is retried
        # without enrolling twice, and a copy of the event handled meanwhile by
        # another consumer waits for this claim instead of mailing the buyer too.
        try:
            self.notifications.send_confirmation(order)
        except BaseException:
            self._give_up_claim(event, lease)
            raise
        self.analytics.track_conversion(order, cart.analytics if cart is not None else {})
        self._record(event)
        return HandlerOutcome(event.event_id, "done")

    def _give_up_claim(self, event: DomainEvent, lease: timedelta) -> None:
        """Let the next attempt, by any consumer, take the event over at once."""
        stale = self.ports.clock.now() - lease

        def reclaim() -> None:
            with self.ports.unit_of_work() as uow:
                uow.inbox.reclaim(self.inbox_source, event.event_id, stale)
                uow.commit()

        retried(reclaim, what=f"giving up the claim on {event.event_id}")

    def _claim(self, event: DomainEvent, uow: UnitOfWork, now: datetime, lease: timedelta) -> bool:
        """Claim ``event`` for this consumer; ``False`` when it was handled to the end.

        Raises :class:`EventInProgress` while another consumer's fresh claim
        stands (the message is retried later); a claim older than
        ``lease`` belonged to a consumer that died and is taken over.
        """
        entry = uow.inbox.get(self.inbox_source, event.event_id)
        if entry is None:
            uow.inbox.record(self._entry(event, InboxStatus.CLAIMED, now))
            return True
        if entry.status is not InboxStatus.CLAIMED:
            return False
        if now - entry.received_at < lease:
            raise EventInProgress(f"{event.name} {event.event_id} is being handled elsewhere")
        uow.inbox.reclaim(self.inbox_source, event.event_id, now)
        return True

    def _notify(self, event: NotificationRequested) -> HandlerOutcome:
        if self._handled(event):
            return HandlerOutcome(event.event_id, "skipped")
        self.notifications.send(event)
        self._record(event)
        return HandlerOutcome(event.event_id, "done")

    def _handled(self, event: DomainEvent) -> bool:
        with self.ports.unit_of_work() as uow:
            return uow.inbox.get(self.inbox_source, event.event_id) is not None

    def _record(self, event: DomainEvent) -> None:
        """Mark the event handled to the end: every later copy is skipped.

        Its effects are out (an email sent) when this runs, so a passing
        fault of the database is tried again here rather than left to make
        the whole event be handled again.
        """

        def record() -> None:
            with self.ports.unit_of_work() as uow:
                if uow.inbox.get(self.inbox_source, event.event_id) is None:
                    entry = self._entry(event, InboxStatus.APPLIED, self.ports.clock.now())
                    uow.inbox.record(entry)
                else:
                    uow.inbox.mark(self.inbox_source, event.event_id, InboxStatus.APPLIED, None)
                uow.commit()

        retried(record, what=f"recording {event.name} {event.event_id} as handled")

    def _entry(self, event: DomainEvent, status: InboxStatus, at: datetime) -> InboxEntry:
        return InboxEntry(
            provider=self.inbox_source,
            event_id=event.event_id,
            type=event.name,
            received_at=at,
            status=status,
            body="",
        )

    @property
    def inbox_source(self) -> str:
        """Where this consumer records the events it handles in the inbox (``consumer:<name>``).

        A name no payment provider has, so a consumer's records and the
        providers' deliveries share the inbox without meeting.
        """
        return f"consumer:{self.consumer}"


@frozen
class RetryWorker:
    """Runs a handler over a consumer group's messages, with retries and dead letters."""

    queue: MessageQueue
    group: str
    consumer: str
    handler: EnrollmentWorker
    alerts: AlertService
    policy: RetryPolicy = field(factory=RetryPolicy)
    visibility: timedelta = timedelta(seconds=30)

    def run_once(self, *, limit: int = 32, wait: timedelta = timedelta(seconds=1)) -> int:
        """Handle the deliveries at hand; return how many were handled (whatever their fate)."""
        deliveries = self.queue.receive(
            self.group, self.consumer, limit=limit, wait=wait, visibility=self.visibility
        )
        batch: list[Delivery] = []
        rest: list[Delivery] = []
        seen: set[str] = set()
        for delivery in deliveries:
            event = delivery.event
            # A second copy of an event, or of an order, waits for the batch: it is then skipped.
            if isinstance(event, OrderPaid) and not {event.event_id, event.order_token} & seen:
                seen.update((event.event_id, event.order_token))
                batch.append(delivery)
            else:
                rest.append(delivery)
        if len(batch) > 1:
            self._handle_batch(batch)
        else:
            rest[:0] = batch
        for delivery in sorted(rest, key=deliveries.index):
            self._handle(delivery)
        return len(deliveries)

    def _handle_batch(self, batch: list[Delivery]) -> None:
        """Handle ``order.paid`` deliveries in one go; one at a time if that fails."""
        events = [delivery.event for delivery in batch if isinstance(delivery.event, OrderPaid)]
        try:
            outcomes = retried(
                lambda: self.handler.handle_batch(events, claim_lease=self.visibility),
                what=f"a batch of {len(events)} {self.group} events",
            )
        except Exception:  # nothing was kept: each event is handled on its own
            logger.warning(
                "%s batch of %d failed, handled one by one", self.group, len(batch), exc_info=True
            )
            for delivery in batch:
                self._handle(delivery)
            return
        done: list[Delivery] = []
        for delivery in batch:
            outcome = outcomes.get(delivery.event.event_id)
            if isinstance(outcome, HandlerOutcome):
                done.append(delivery)
            elif outcome is None:
                self._handle(delivery)
            else:
                self._fail(delivery, outcome)
        if done:
            self.queue.ack_many(self.group, done)

    def _handle(self, delivery: Delivery) -> None:
        event = delivery.event
        try:
            retried(
                lambda: self.handler.handle(event, claim_lease=self.visibility),
                what=f"{self.group} handling {event.name} {event.event_id}",
            )
        except Exception as failure:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
            self._fail(delivery, failure)
            return
        self.queue.ack(self.group, delivery)

    def _fail(self, delivery: Delivery, failure: Exception) -> None:
        """Retry the message on the policy's schedule; dead-letter it, with an alert, at the end."""
        error = f"{type(failure).__name__}: {failure}"
        if self.policy.should_retry(delivery.attempt, retryable=True):
            delay = self.policy.delay_before(delivery.attempt + 1)
            if isinstance(failure, EventInProgress):
                # The claim standing in the way is stale after the visibility: its holder
                # finished by then, or died and the claim is taken over, so the retry
                # waits that long rather than spend its attempts on a claim still fresh.
                delay = max(delay, self.visibility)
            logger.warning(
                "%s failed %s (attempt %d), retried in %s: %s",
                self.group, delivery.event.name, delivery.attempt, delay, error,
            )  # fmt: skip
            self.queue.retry_later(self.group, delivery, delay, error)
            return
        self.queue.dead_letter(self.group, delivery, error)
        self.alerts.send_alert(
            AlertSeverity.CRITICAL,
            f"{delivery.event.name} dead-lettered by {self.group}",
            f"event {delivery.event.event_id} failed {delivery.attempt} times: {error}",
        )

    def dead_letters(self, *, limit: int = 100) -> list[DeadLetter]:
        """The group's dead letters, oldest first."""
        return self.queue.dead_letters(self.group, limit=limit)

    def replay(self, message_ids: list[str] | None = None) -> int:
        """Deliver dead letters again: those named, or all."""
        return self.queue.replay(self.group, message_ids)
