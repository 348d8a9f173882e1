from __future__ import annotations

from datetime import timedelta

import pytest
from attrs import define, evolve, field

from checkout_adapters.memory import InMemoryRelay
from checkout_core.domain.events import OrderPaid
from checkout_core.domain.messages import Notification
from checkout_core.domain.orders import OrderStatus
from checkout_core.domain.webhooks import InboxStatus
from checkout_core.services import Checkout, Redelivery
from tests.unit.services.test_workers import ListQueue, paid, paid_orders, worker
from tests.unit.services.world import World, ok

MINUTE = timedelta(minutes=1)


@define
class Broker:
    """A queue that may lose what it holds, as Redis restarted without persistence does."""

    world: World
    queue: ListQueue = field(init=False)
    relay: InMemoryRelay = field(init=False)

    def __attrs_post_init__(self) -> None:
        self.queue = ListQueue(self.world.clock.now)
        self.relay = InMemoryRelay(self.world.store, self.queue, clock=self.world.clock)

    def published(self) -> list[str]:
        return [delivery.event.event_id for delivery in self.queue.waiting]

    def lose_everything(self) -> None:
        self.queue.waiting.clear()

    def work(self) -> None:
        """Relay what the outbox holds unsent, then let the worker handle what the queue holds."""
        self.relay.relay_once()
        worker(self.world, self.queue).run_once(limit=100)


def redeliver(world: World, **options: object) -> Redelivery:
    return ok(world.checkout.redelivery.redeliver_stalled(**options))  # type: ignore[arg-type]


def confirmations(world: World) -> list[str]:
    return [n.order_token for n in world.notifications.sent if n.template == "confirmation"]


def test_a_paid_order_whose_event_the_broker_lost_is_published_again_and_completed_once(
    world: World,
) -> None:
    broker = Broker(world)
    event = paid(world)
    broker.relay.relay_once()
    broker.lose_everything()
    broker.work()
    assert world.store.orders[event.order_token].status is OrderStatus.PAID

    world.clock.advance(9 * MINUTE)
    assert redeliver(world) == Redelivery(stalled=0, republished=0)
    world.clock.advance(2 * MINUTE)
    assert redeliver(world) == Redelivery(stalled=1, republished=1)
    assert broker.relay.relay_once() == 1
    assert broker.published() == [event.event_id]
    broker.work()

    assert world.store.orders[event.order_token].status is OrderStatus.COMPLETED
    assert len(world.store.enrollment_keys_by_order[event.order_token]) == 1
    assert confirmations(world) == [event.order_token]
    world.clock.advance(timedelta(hours=1))
    assert redeliver(world) == Redelivery(stalled=0, republished=0)


def test_an_order_whose_event_is_still_queued_is_handled_once_from_both_copies(
    world: World,
) -> None:
    # The worker was down, not the broker: the original waits in the queue beside the copy.
    broker = Broker(world)
    event = paid(world)
    broker.relay.relay_once()
    world.clock.advance(11 * MINUTE)

    assert redeliver(world).republished == 1
    broker.relay.relay_once()
    assert broker.published() == [event.event_id, event.event_id]
    broker.work()

    assert world.store.orders[event.order_token].status is OrderStatus.COMPLETED
    assert len(world.store.enrollment_keys_by_order[event.order_token]) == 1
    assert confirmations(world) == [event.order_token]
    assert broker.queue.waiting == []
    assert len(broker.queue.acked) == 2


def test_an_order_never_completed_is_published_again_later_and_later(world: World) -> None:
    broker = Broker(world)
    event = paid(world)
    broker.relay.relay_once()
    copies: list[timedelta] = []

    for _ in range(24 * 12):  # a day of runs, five minutes apart
        world.clock.advance(5 * MINUTE)
        if redeliver(world).republished:
            copies.append(world.clock.now() - event.occurred_at)
        broker.relay.relay_once()

    hour = timedelta(hours=1)
    assert copies == [15 * MINUTE, 30 * MINUTE, hour, 2 * hour, 4 * hour, 8 * hour, 16 * hour]
    assert broker.published() == [event.event_id] * 8


class WorkerDied(BaseException):
    """The worker's process ends here, as a SIGKILL would end it."""


@define
class DiesBeforeConfirming:
    """A sender whose process dies the first time it is asked to send a confirmation."""

    sent: list[str] = field(factory=list)
    died: bool = False

    def send(self, notification: Notification) -> None:
        if not self.died:
            self.died = True
            raise WorkerDied
        self.sent.append(notification.order_token)


def test_an_order_completed_and_never_confirmed_is_published_again_and_confirmed_once(
    world: World,
) -> None:
    # The worker completes the order, dies before the confirmation, and the broker then
    # loses the message it held: nothing but the inbox's claim is left of it.
    broker = Broker(world)
    event = paid(world)
    sender = DiesBeforeConfirming()
    checkout = Checkout.build(
        evolve(world.checkout.ports, notifications=sender), world.checkout.settings
    )
    broker.relay.relay_once()
    with pytest.raises(WorkerDied):
        worker(world, broker.queue, checkout).run_once(limit=100)
    broker.lose_everything()
    assert world.store.orders[event.order_token].status is OrderStatus.COMPLETED

    world.clock.advance(11 * MINUTE)
    found = ok(checkout.redelivery.redeliver_stalled())
    assert found == Redelivery(stalled=0, republished=1, unfinished=1)
    broker.relay.relay_once()
    worker(world, broker.queue, checkout).run_once(limit=100)

    assert sender.sent == [event.order_token]
    assert len(world.store.enrollment_keys_by_order[event.order_token]) == 1
    assert world.store.inbox["consumer:enrollment", event.event_id].status is InboxStatus.APPLIED
    world.clock.advance(timedelta(hours=1))
    assert ok(checkout.redelivery.redeliver_stalled()) == Redelivery(stalled=0, republished=0)


def test_an_event_relayed_late_waits_as_long_again_before_a_copy(world: World) -> None:
    broker = Broker(world)
    paid(world)
    world.clock.advance(timedelta(hours=1))  # the relay was down for an hour
    broker.relay.relay_once()

    world.clock.advance(50 * MINUTE)
    assert redeliver(world) == Redelivery(stalled=1, republished=0)
    world.clock.advance(10 * MINUTE)
    assert redeliver(world) == Redelivery(stalled=1, republished=1)


def test_the_delay_before_a_copy_is_the_callers(world: World) -> None:
    broker = Broker(world)
    paid(world)
    broker.relay.relay_once()
    world.clock.advance(2 * MINUTE)

    assert redeliver(world) == Redelivery(stalled=0, republished=0)
    assert redeliver(world, stalled_after=MINUTE) == Redelivery(stalled=1, republished=1)


def test_with_the_outbox_as_the_queue_stalled_orders_are_counted_and_nothing_is_republished(
    world: World,
) -> None:
    # No relay: the in-memory queue reads the outbox itself, and nothing in it is ever lost.
    paid(world)
    events = world.store.outbox_events()
    world.clock.advance(11 * MINUTE)

    assert redeliver(world) == Redelivery(stalled=1, republished=0)
    assert world.store.outbox_events() == events


def test_orders_paid_over_a_week_ago_are_left_alone(world: World) -> None:
    broker = Broker(world)
    paid(world)
    broker.relay.relay_once()
    world.clock.advance(timedelta(days=7, minutes=1))

    assert redeliver(world) == Redelivery(stalled=0, republished=0)
    assert redeliver(world, lookback=timedelta(days=8)) == Redelivery(stalled=1, republished=1)


def test_stalled_orders_are_walked_in_batches_each_told_to_the_progress_hook(
    world: World,
) -> None:
    broker = Broker(world)
    events = paid_orders(world, 5)
    broker.relay.relay_once()
    broker.lose_everything()
    world.clock.advance(11 * MINUTE)
    progress: list[int] = []

    found = redeliver(world, batch_size=2, on_progress=progress.append)

    assert found == Redelivery(stalled=5, republished=5)
    assert progress == [2, 2, 1]
    broker.relay.relay_once()
    assert sorted(broker.published()) == sorted(event.event_id for event in events)


def test_only_the_first_order_paid_of_an_order_is_published_again(world: World) -> None:
    broker = Broker(world)
    event = paid(world)
    twin = OrderPaid(
        "evt_twin",
        event.occurred_at,
        event.order_token,
        event.user_id,
        event.amount,
        event.currency,
        event.provider,
        event.payment_id,
        event.offerings,
    )
    with world.checkout.ports.unit_of_work() as uow:
        uow.outbox.append(twin)
        uow.commit()
    broker.relay.relay_once()
    broker.lose_everything()
    world.clock.advance(11 * MINUTE)

    assert redeliver(world) == Redelivery(stalled=1, republished=1)
    broker.relay.relay_once()
    assert broker.published() == [event.event_id]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batch_size": 0}, "at least one order"),
        ({"stalled_after": timedelta(0)}, "positive"),
        ({"lookback": MINUTE}, "longer than stalled_after"),
    ],
)
def test_a_run_refuses_options_that_make_no_sense(
    world: World, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        redeliver(world, **options)
