"""The contract of ``ports.MessageQueue``: in order, at least once, retried, dead letters, replays.

An adapter's test module subclasses :class:`MessageQueueContract` and
provides the fixture ``queue(clock: FixedClock) -> MessageQueue``: an empty
queue that reads the time from ``clock``, which the tests move. When events
reach the adapter some other way than ``queue.publish`` (committed to the
outbox the queue reads), the subclass also overrides ``publish``.

Retries are timed by the clock. How the visibility of a delivery runs out
depends on the adapter: by the clock too (the default of
:meth:`MessageQueueContract.let_visibility_pass`), or by real time, for
which a subclass sets a small ``visibility`` and overrides the method to
sleep.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import ClassVar, TypeAlias

import pytest

from checkout_adapters.memory import FixedClock
from checkout_core.domain.events import DomainEvent, NotificationRequested, OrderPaid
from checkout_core.domain.messaging import DeadLetter, Delivery
from checkout_core.domain.payment_events import PaymentEvent
from checkout_core.ports import MessageQueue
from tests.contract.unit_of_work import NOW, make_order, make_payment

__all__ = ["MessageQueueContract", "Publish", "make_event"]

Publish: TypeAlias = Callable[[DomainEvent], None]
"""Puts an event where the queue delivers it from."""

GROUP = "enrollment"
OTHER_GROUP = "mailer"
_LONG = timedelta(minutes=5)
_NO_WAIT = timedelta(0)
_SECOND = timedelta(seconds=1)


def make_event(number: int) -> NotificationRequested:
    """A small event with the id ``evt_<number>``."""
    return NotificationRequested(f"evt_{number}", NOW, f"ord_{number}", "usr_1", "welcome")


def _paid_event() -> OrderPaid:
    paid = make_order().await_payment(NOW).mark_paid(NOW)
    captured = make_payment().apply(PaymentEvent.captured(19_796_68, NOW)).payment
    return OrderPaid.of("evt_paid", paid, captured, NOW)


def _receive(
    queue: MessageQueue,
    group: str = GROUP,
    consumer: str = "worker-1",
    *,
    limit: int = 10,
    visibility: timedelta = _LONG,
) -> list[Delivery]:
    return queue.receive(group, consumer, limit=limit, wait=_NO_WAIT, visibility=visibility)


def _ids(deliveries: Sequence[Delivery]) -> list[str]:
    return [delivery.event.event_id for delivery in deliveries]


def _attempts(deliveries: Sequence[Delivery]) -> list[int]:
    return [delivery.attempt for delivery in deliveries]


def _letter_ids(letters: Sequence[DeadLetter]) -> list[str]:
    return [letter.event.event_id for letter in letters]


class MessageQueueContract:
    """What every ``MessageQueue`` adapter does.

    Subclasses provide the fixture ``queue(clock: FixedClock) -> MessageQueue``
    and, if events do not reach the queue by its ``publish``, ``publish``.
    """

    visibility: ClassVar[timedelta] = timedelta(seconds=30)
    """How long a delivery stays with its consumer in the tests about redelivery."""

    @pytest.fixture
    def clock(self) -> FixedClock:
        """The time the queue reads; tests move it."""
        return FixedClock(NOW)

    @pytest.fixture
    def queue(self, clock: FixedClock) -> MessageQueue:
        """An empty queue reading ``clock``; every subclass provides it."""
        raise NotImplementedError

    @pytest.fixture
    def publish(self, queue: MessageQueue) -> Publish:
        """Puts an event on the queue: ``queue.publish`` unless a subclass says otherwise."""
        return queue.publish

    def let_visibility_pass(self, clock: FixedClock) -> None:
        """Wait until a delivery made with :attr:`visibility` may be made again."""
        clock.advance(self.visibility + _SECOND)

    # Delivering.

    def test_published_events_are_received_in_order_as_first_attempts(
        self, queue: MessageQueue, publish: Publish
    ) -> None:
        for number in (1, 2, 3):
            publish(make_event(number))

        deliveries = _receive(queue)

        assert [delivery.event for delivery in deliveries] == [make_event(n) for n in (1, 2, 3)]
        assert _attempts(deliveries) == [1, 1, 1]
        assert len({delivery.message_id for delivery in deliveries}) == 3

    def test_an_event_comes_back_equal_to_the_one_published(
        self, queue: MessageQueue, publish: Publish
    ) -> None:
        event = _paid_event()
        publish(event)

        (delivery,) = _receive(queue)

        assert delivery.event == event

    def test_an_empty_queue_gives_nothing(self, queue: MessageQueue) -> None:
        assert _receive(queue) == []

    def test_a_receive_gives_at_most_its_limit_and_the_rest_comes_next(
        self, queue: MessageQueue, publish: Publish
    ) -> None:
        for number in (1, 2, 3):
            publish(make_event(number))

        first = _receive(queue, limit=2)
        second = _receive(queue, limit=2)

        assert _ids(first) == ["evt_1", "evt_2"]
        assert _ids(second) == ["evt_3"]
        assert _receive(queue) == []

    @pytest.mark.parametrize(
        ("limit", "visibility"), [(0, _LONG), (1, timedelta(0)), (1, -_SECOND)]
    )
    def test_a_receive_refuses_a_limit_below_one_or_a_visibility_that_is_not_positive(
        self, queue: MessageQueue, limit: int, visibility: timedelta
    ) -> None:
        with pytest.raises(ValueError, match=r"positive|at least one"):
            queue.receive(GROUP, "worker-1", limit=limit, wait=_NO_WAIT, visibility=visibility)

    def test_a_receive_waits_for_an_event_published_meanwhile(
        self, queue: MessageQueue, publish: Publish
    ) -> None:
        timer = threading.Timer(0.05, publish, [make_event(1)])
        started = time.monotonic()
        timer.start()
        try:
            deliveries = queue.receive(
                GROUP, "worker-1", limit=10, wait=timedelta(seconds=3), visibility=_LONG
            )
        finally:
            timer.join()

        assert _ids(deliveries) == ["evt_1"]
        assert time.monotonic() - started < 2

    def test_a_receive_on_an_empty_queue_returns_nothing_once_its_wait_is_over(
        self, queue: MessageQueue
    ) -> None:
        started = time.monotonic()

        deliveries = queue.receive(
            GROUP, "worker-1", limit=10, wait=timedelta(milliseconds=50), visibility=_LONG
        )

        assert deliveries == []
        assert time.monotonic() - started < 1

    # Acknowledging, and redelivering what was not acknowledged.

    def test_an_acknowledged_message_is_never_delivered_again(
        self, queue: MessageQueue, publish: Publish, clock: FixedClock
    ) -> None:
        publish(make_event(1))
        (delivery,) = _receive(queue, visibility=self.visibility)

        queue.ack(GROUP, delivery)
        self.let_visibility_pass(clock)

        assert _receive(queue, consumer="worker-2", visibility=self.visibility) == []

    def test_messages_acknowledged_together_are_never_delivered_again(
        self, queue: MessageQueue, publish: Publish, clock: FixedClock
    ) -> None:
        for number in (1, 2, 3, 4):
            publish(make_event(number))
        first, second, third, fourth = _receive(queue, visibility=self.visibility)
        queue.retry_later(GROUP, fourth, timedelta(0), "ConnectionError: smtp down")
        (copy,) = _receive(queue, visibility=self.visibility)

        queue.ack_many(GROUP, [first, third, copy])
        queue.ack_many(GROUP, [])
        self.let_visibility_pass(clock)

        again = _receive(queue, consumer="worker-2", visibility=self.visibility)
        assert _ids(again) == ["evt_2"]
        assert again[0].message_id == second.message_id

    def test_a_message_held_by_a_consumer_is_not_given_to_another(
        self, queue: MessageQueue, publish: Publish
    ) -> None:
        publish(make_event(1))
        publish(make_event(2))

        first = _receive(queue, consumer="worker-1", limit=1)
        second = _receive(queue, consumer="worker-2")

        assert _ids(first) == ["evt_1"]
        assert _ids(second) == ["evt_2"]

    def test_a_message_not_acknowledged_in_time_goes_to_another_consumer_as_attempt_2(
        self, queue: MessageQueue, publish: Publish, clock: FixedClock
    ) -> None:
        publish(make_event(1))
        (first,) = _receive(queue, consumer="worker-1", visibility=self.visibility)
        assert _receive(queue, consumer="worker-2", visibility=self.visibility) == []

        self.let_visibility_pass(clock)
        (again,) = _receive(queue, consumer="worker-2", visibility=self.visibility)

        assert again.event == first.event
        assert again.message_id == first.message_id
        assert (first.attempt, again.attempt) == (1, 2)
        queue.ack(GROUP, again)
        self.let_visibility_pass(clock)
        assert _receive(queue, consumer="worker-3", visibility=self.visibility) == []

    # Retrying later.

    def test_a_retried_message_comes_back_after_its_delay_one_attempt_later(
        self, queue: MessageQueue, publish: Publish, clock: FixedClock
    ) -> None:
        publish(make_event(1))
        (first,) = _receive(queue)

        queue.retry_later(GROUP, first, timedelta(seconds=5), "ConnectionError: smtp down")
        assert _receive(queue) == []
        clock.advance(timedelta(seconds=4))
        assert _receive(queue) == []
        clock.advance(_SECOND)
        (second,) = _receive(queue, consumer="worker-2")
        queue.retry_later(GROUP, second, timedelta(seconds=10), "ConnectionError: smtp down")
        clock.advance(timedelta(seconds=10))
        (third,) = _receive(queue)

        assert [second.event, third.event] == [first.event, first.event]
        assert _attempts([first, second, third]) == [1, 2, 3]
        queue.ack(GROUP, third)
        clock.advance(timedelta(hours=1))
        assert _receive(queue) == []

    def test_messages_due_again_come_before_new_ones(
        self, queue: MessageQueue, publish: Publish, clock: FixedClock
    ) -> None:
        publish(make_event(1))
        publish(make_event(2))
        (first,) = _receive(queue, limit=1)
        queue.retry_later(GROUP, first, timedelta(seconds=5), "boom")
        clock.advance(timedelta(seconds=5))
        publish(make_event(3))

        deliveries = _receive(queue)

        assert _ids(deliveries) == ["evt_1", "evt_2", "evt_3"]
        assert _attempts(deliveries) == [2, 1, 1]

    # Dead letters.

    def test_a_dead_letter_is_kept_with_its_error_and_attempts_and_not_delivered(
        self, queue: MessageQueue, publish: Publish, clock: FixedClock
    ) -> None:
        publish(make_event(1))
        (first,) = _receive(queue, visibility=self.visibility)
        queue.retry_later(GROUP, first, timedelta(seconds=5), "ValueError: first")
        clock.advance(timedelta(seconds=5))
        (second,) = _receive(queue, visibility=self.visibility)

        queue.dead_letter(GROUP, second, "ValueError: for good")

        (letter,) = queue.dead_letters(GROUP)
        assert letter.event == make_event(1)
        assert (letter.attempts, letter.error) == (2, "ValueError: for good")
        assert letter.failed_at == clock.now()
        self.let_visibility_pass(clock)
        clock.advance(timedelta(days=1))
        assert _receive(queue, consumer="worker-2", visibility=self.visibility) == []

    def test_dead_letters_are_listed_oldest_first_up_to_the_limit(
        self, queue: MessageQueue, publish: Publish, clock: FixedClock
    ) -> None:
        for number in (1, 2, 3):
            publish(make_event(number))
        deliveries = _receive(queue)
        for delivery in (deliveries[1], deliveries[0], deliveries[2]):
            queue.dead_letter(GROUP, delivery, f"failed {delivery.event.event_id}")
            clock.advance(_SECOND)

        assert _letter_ids(queue.dead_letters(GROUP)) == ["evt_2", "evt_1", "evt_3"]
        assert _letter_ids(queue.dead_letters(GROUP, limit=2)) == ["evt_2", "evt_1"]
        assert queue.dead_letters(OTHER_GROUP) == []

    # Replaying dead letters.

    def _dead_letters_of_one_group(self, queue: MessageQueue, publish: Publish) -> None:
        publish(make_event(1))
        publish(make_event(2))
        for delivery in _receive(queue, GROUP):
            queue.dead_letter(GROUP, delivery, "boom")
        for delivery in _receive(queue, OTHER_GROUP):
            queue.ack(OTHER_GROUP, delivery)

    def test_replaying_one_dead_letter_delivers_it_again_to_that_group_only(
        self, queue: MessageQueue, publish: Publish
    ) -> None:
        self._dead_letters_of_one_group(queue, publish)
        first, _ = queue.dead_letters(GROUP)

        replayed = queue.replay(GROUP, [first.message_id])

        assert replayed == 1
        deliveries = _receive(queue, GROUP)
        assert _ids(deliveries) == ["evt_1"]
        assert _attempts(deliveries) == [1]
        assert _receive(queue, OTHER_GROUP) == []
        assert _letter_ids(queue.dead_letters(GROUP)) == ["evt_2"]

    def test_replaying_every_dead_letter_delivers_them_again_in_order(
        self, queue: MessageQueue, publish: Publish
    ) -> None:
        self._dead_letters_of_one_group(queue, publish)

        replayed = queue.replay(GROUP)

        assert replayed == 2
        deliveries = _receive(queue, GROUP)
        assert _ids(deliveries) == ["evt_1", "evt_2"]
        assert _attempts(deliveries) == [1, 1]
        assert queue.dead_letters(GROUP) == []
        assert _receive(queue, OTHER_GROUP) == []
        assert queue.replay(GROUP) == 0

    def test_a_replayed_message_is_acknowledged_like_any_other(
        self, queue: MessageQueue, publish: Publish, clock: FixedClock
    ) -> None:
        self._dead_letters_of_one_group(queue, publish)
        queue.replay(GROUP)

        for delivery in _receive(queue, GROUP, visibility=self.visibility):
            queue.ack(GROUP, delivery)
        self.let_visibility_pass(clock)

        assert _receive(queue, GROUP, visibility=self.visibility) == []
        assert queue.dead_letters(GROUP) == []

    def test_replaying_what_is_not_a_dead_letter_of_the_group_replays_nothing(
        self, queue: MessageQueue, publish: Publish
    ) -> None:
        self._dead_letters_of_one_group(queue, publish)
        letter, _ = queue.dead_letters(GROUP)

        assert queue.replay(GROUP, []) == 0
        assert queue.replay(GROUP, ["not-an-id", "999999", "1-1"]) == 0
        assert queue.replay(OTHER_GROUP, [letter.message_id]) == 0
        assert queue.replay(OTHER_GROUP) == 0
        assert len(queue.dead_letters(GROUP)) == 2

    # Groups.

    def test_each_group_gets_every_message(self, queue: MessageQueue, publish: Publish) -> None:
        publish(make_event(1))
        publish(make_event(2))

        for delivery in _receive(queue, GROUP):
            queue.ack(GROUP, delivery)
        other = _receive(queue, OTHER_GROUP)

        assert _ids(other) == ["evt_1", "evt_2"]
        assert _attempts(other) == [1, 1]
        assert _receive(queue, GROUP) == []

    def test_a_retry_in_one_group_is_not_seen_by_another(
        self, queue: MessageQueue, publish: Publish, clock: FixedClock
    ) -> None:
        publish(make_event(1))
        (delivery,) = _receive(queue, GROUP)
        for other in _receive(queue, OTHER_GROUP):
            queue.ack(OTHER_GROUP, other)

        queue.retry_later(GROUP, delivery, timedelta(seconds=5), "boom")
        clock.advance(timedelta(seconds=5))

        assert _receive(queue, OTHER_GROUP) == []
        assert _attempts(_receive(queue, GROUP)) == [2]
