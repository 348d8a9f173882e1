"""Messages between the checkout's parts: events on a queue, their deliveries, dead letters."""

from __future__ import annotations

from datetime import datetime

from attrs import frozen

from checkout_core.domain.events import DomainEvent

__all__ = ["DeadLetter", "Delivery"]


@frozen
class Delivery:
    """One delivery of an event to a consumer.

    ``message_id`` is the queue's id for the message (what acknowledging it
    needs); ``attempt`` counts deliveries of this message, 1 on the first.
    """

    message_id: str
    event: DomainEvent
    attempt: int


@frozen
class DeadLetter:
    """A message that failed every attempt, kept with its last error until replayed."""

    message_id: str
    event: DomainEvent
    attempts: int
    error: str
    failed_at: datetime
