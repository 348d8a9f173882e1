from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta

from attrs import evolve

from checkout_core.domain.events import DomainEvent, OrderPaid
from checkout_core.domain.messaging import DeadLetter, Delivery
from checkout_core.domain.orders import OrderStatus
from checkout_core.domain.webhooks import InboxEntry, InboxStatus
from checkout_core.services import Checkout, RetryWorker
from tests.unit.services.world import World, ok


class ListQueue:
    """A queue of one group, in a list: enough to drive the retry worker step by step."""

    def __init__(self, clock_now: Callable[[], datetime]) -> None:
        self.waiting: list[Delivery] = []
        self.acked: list[str] = []
        self.acks = 0
        self.retried: list[tuple[str, timedelta, str]] = []
        self.dead: list[DeadLetter] = []
        self._now = clock_now

    def publish(self, event: DomainEvent) -> None:
        self.waiting.append(Delivery(f"m{len(self.waiting) + len(self.acked)}", event, 1))

    def receive(
        self, group: str, consumer: str, *, limit: int, wait: timedelta, visibility: timedelta
    ) -> list[Delivery]:
        del group, consumer, wait, visibility
        taken, self.waiting = self.waiting[:limit], self.waiting[limit:]
        return taken

    def ack(self, group: str, delivery: Delivery) -> None:
        self.acked.append(delivery.message_id)

    def ack_many(self, group: str, deliveries: Sequence[Delivery]) -> None:
        self.acks += 1
        self.acked.extend(delivery.message_id for delivery in deliveries)

    def retry_later(self, group: str, delivery: Delivery, delay: timedelta, error: str) -> None:
        self.retried.append((delivery.message_id, delay, error))
        self.waiting.append(evolve(delivery, attempt=delivery.attempt + 1))

    def dead_letter(self, group: str, delivery: Delivery, error: str) -> None:
        self.dead.append(
            DeadLetter(delivery.message_id, delivery.event, delivery.attempt, error, self._now())
        )

    def dead_letters(self, group: str, *, limit: int = 100) -> list[DeadLetter]:
        return self.dead[:limit]

    def replay(self, group: str, message_ids: Collection[str] | None = None) -> int:
        chosen = [d for d in self.dead if message_ids is None or d.message_id in message_ids]
        self.dead = [d for d in self.dead if d not in chosen]
        self.waiting.extend(Delivery(d.message_id, d.event, 1) for d in chosen)
        return len(chosen)


def paid(world: World) -> OrderPaid:
    cart = world.seed_cart()
    receipt = ok(world.checkout.orders.create_from_cart(cart.token, "key-1", "user_a")).receipt
    assert receipt.provider_ref is not None
    ok(world.checkout.payments.mark_paid("fake", receipt.provider_ref, receipt.total))
    (event,) = [e for e in world.store.outbox_events() if isinstance(e, OrderPaid)]
    return event


def paid_orders(world: World, count: int) -> list[OrderPaid]:
    for number in range(count):
        cart = world.seed_cart()
        key = f"key-batch-{number}"
        receipt = ok(world.checkout.orders.create_from_cart(cart.token, key, "user_a")).receipt
        assert receipt.provider_ref is not None
        ok(world.checkout.payments.mark_paid("fake", receipt.provider_ref, receipt.total))
    return [e for e in world.store.outbox_events() if isinstance(e, OrderPaid)]


def worker(world: World, queue: ListQueue, checkout: Checkout | None = None) -> RetryWorker:
    checkout = checkout or world.checkout
    return RetryWorker(queue, "enrollment", "worker-1", checkout.fulfilment, checkout.alerts)


def test_order_paid_enrolls_confirms_and_counts_the_conversion_with_the_carts_attribution(
    world: World,
) -> None:
    event = paid(world)
    queue = ListQueue(world.clock.now)
    queue.publish(event)
    assert worker(world, queue).run_once() == 1
    assert queue.acked == ["m0"]
    order = world.store.orders[event.order_token]
    assert order.status is OrderStatus.COMPLETED
    assert [e.offering_id for e in world.store.enrollments.values()] == ["int_123"]
    (sent,) = world.notifications.sent
    assert sent.template == "confirmation"
    (conversion,) = world.analytics.events
    assert dict(conversion.properties) == {"source": "google", "campaign": "summer_sale"}


def test_a_duplicate_delivery_is_skipped_and_nothing_is_sent_twice(world: World) -> None:
    event = paid(world)
    queue = ListQueue(world.clock.now)
    queue.publish(event)
    queue.publish(event)
    worker(world, queue).run_once()
    assert len(world.store.enrollments) == 1
    assert len(world.notifications.sent) == 1
    assert len(world.analytics.events) == 1


def test_a_failing_email_is_retried_without_enrolling_twice_then_dead_lettered_with_an_alert(
    world: World,
) -> None:
    event = paid(world)
    queue = ListQueue(world.clock.now)
    queue.publish(event)
    world.notifications.fail_next(3)
    retry = worker(world, queue)
    for _ in range(3):
        retry.run_once()
    assert [delay for _, delay, _ in queue.retried] == [timedelta(seconds=5), timedelta(seconds=10)]
    (dead,) = retry.dead_letters()
    assert (dead.attempts, dead.event) == (3, event)
    assert "ConnectionError" in dead.error
    assert len(world.store.enrollments) == 1
    (alert,) = world.alerts.alerts
    assert alert.severity == "critical"
    assert event.event_id in alert.detail
    assert retry.replay() == 1
    retry.run_once()
    assert queue.acked == ["m0"]
    assert len(world.notifications.sent) == 1
    assert len(world.store.enrollments) == 1


def test_a_welcome_queued_with_a_free_order_is_delivered_once(world: World) -> None:
    cart = world.free_cart()
    ok(world.checkout.orders.create_from_cart(cart.token, "key-free", "user_a"))
    queue = ListQueue(world.clock.now)
    for event in world.store.outbox_events():
        queue.publish(event)
        queue.publish(event)
    worker(world, queue).run_once()
    assert [n.template for n in world.notifications.sent] == ["welcome"]


def claim_elsewhere(world: World, event: OrderPaid, age: timedelta) -> None:
    with world.checkout.ports.unit_of_work() as uow:
        uow.inbox.record(
            InboxEntry(
                provider="consumer:enrollment",
                event_id=event.event_id,
                type=event.name,
                received_at=world.clock.now() - age,
                status=InboxStatus.CLAIMED,
                body="",
            )
        )
        uow.commit()


def test_a_copy_of_an_event_another_consumer_is_handling_waits_and_is_then_skipped(
    world: World,
) -> None:
    event = paid(world)
    claim_elsewhere(world, event, timedelta(seconds=1))
    queue = ListQueue(world.clock.now)
    queue.publish(event)
    retry = worker(world, queue)
    retry.run_once()
    ((_, delay, error),) = queue.retried
    assert "EventInProgress" in error
    # Not the schedule's 5 s: a retry before the claim can be stale would be spent for nothing.
    assert delay == retry.visibility
    assert world.notifications.sent == []
    with world.checkout.ports.unit_of_work() as uow:
        uow.inbox.mark("consumer:enrollment", event.event_id, InboxStatus.APPLIED, None)
        uow.commit()
    retry.run_once()
    assert world.notifications.sent == []
    assert queue.acked == ["m0"]


def test_the_claim_of_a_consumer_that_died_is_taken_over(world: World) -> None:
    event = paid(world)
    claim_elsewhere(world, event, timedelta(seconds=31))
    queue = ListQueue(world.clock.now)
    queue.publish(event)
    worker(world, queue).run_once()
    assert [n.template for n in world.notifications.sent] == ["confirmation"]
    assert world.store.inbox["consumer:enrollment", event.event_id].status is InboxStatus.APPLIED


def test_a_batch_of_order_paid_events_is_handled_in_one_go_and_acknowledged_together(
    world: World,
) -> None:
    events = paid_orders(world, 3)
    queue = ListQueue(world.clock.now)
    for event in events:
        queue.publish(event)
    assert worker(world, queue).run_once() == 3
    assert (queue.acked, queue.acks, queue.retried) == (["m0", "m1", "m2"], 1, [])
    tokens = sorted(e.order_token for e in events)
    assert sorted(e.order_token for e in world.store.enrollments.values()) == tokens
    assert sorted(n.order_token for n in world.notifications.sent) == tokens
    assert {n.template for n in world.notifications.sent} == {"confirmation"}
    assert len(world.analytics.events) == 3
    for event in events:
        assert world.store.orders[event.order_token].status is OrderStatus.COMPLETED
        entry = world.store.inbox["consumer:enrollment", event.event_id]
        assert entry.status is InboxStatus.APPLIED


def test_a_failing_email_in_a_batch_retries_only_its_message(world: World) -> None:
    events = paid_orders(world, 3)
    queue = ListQueue(world.clock.now)
    for event in events:
        queue.publish(event)
    world.notifications.fail_next(1)
    retry = worker(world, queue)
    retry.run_once()
    assert queue.acked == ["m1", "m2"]
    ((message_id, delay, error),) = queue.retried
    assert (message_id, delay) == ("m0", timedelta(seconds=5))
    assert "ConnectionError" in error
    assert len(world.notifications.sent) == 2
    retry.run_once()
    assert queue.acked == ["m1", "m2", "m0"]
    assert len(world.notifications.sent) == 3
    assert len(world.store.enrollments) == 3
    assert len(world.analytics.events) == 3


def test_in_a_batch_an_event_claimed_elsewhere_waits_and_an_applied_one_is_skipped(
    world: World,
) -> None:
    events = paid_orders(world, 4)
    claim_elsewhere(world, events[0], timedelta(seconds=1))
    claim_elsewhere(world, events[1], timedelta(seconds=31))
    with world.checkout.ports.unit_of_work() as uow:
        uow.inbox.record(
            InboxEntry(
                provider="consumer:enrollment",
                event_id=events[2].event_id,
                type=events[2].name,
                received_at=world.clock.now(),
                status=InboxStatus.APPLIED,
                body="",
            )
        )
        uow.commit()
    queue = ListQueue(world.clock.now)
    for event in events:
        queue.publish(event)
    worker(world, queue).run_once()
    ((message_id, _, error),) = queue.retried
    assert message_id == "m0"
    assert "EventInProgress" in error
    assert (sorted(queue.acked), queue.acks) == (["m1", "m2", "m3"], 1)
    sent = sorted(n.order_token for n in world.notifications.sent)
    assert sent == sorted([events[1].order_token, events[3].order_token])


def test_a_batch_whose_transaction_fails_is_handled_one_event_at_a_time(world: World) -> None:
    events = paid_orders(world, 2)
    queue = ListQueue(world.clock.now)
    for event in events:
        queue.publish(event)
    queue.publish(evolve(events[0], event_id="evt_unknown", order_token="ord_unknown"))
    worker(world, queue).run_once()
    assert queue.acked == ["m0", "m1"]
    ((message_id, _, error),) = queue.retried
    assert (message_id, "OrderNotFound" in error) == ("m2", True)
    assert len(world.notifications.sent) == 2
    assert len(world.store.enrollments) == 2
