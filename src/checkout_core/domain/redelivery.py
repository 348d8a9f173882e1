"""When an event the broker may have lost is published again: later and later each time.

The outbox relay marks an event sent once the broker took it. A broker that
then loses it (Redis restarted without persistence, a failover to a replica
that lagged behind) leaves the consumer nothing to handle and the outbox
nothing to send: a paid order would wait for its enrollment for ever. The
database is the record, so the orders still paid and not completed a while
after their payment are found there, and their ``order.paid`` is marked
unsent again for the relay to publish once more: the same event, with the
same id, so a consumer that did get it skips the copy.

:class:`RedeliveryPolicy` says when. A copy goes out no sooner than
``stalled_after`` after the last relay, and no sooner than the event had
waited when it was last sent: the wait doubles with every copy that goes
unanswered (10 minutes, then 20, 40, ... with the default), so an order
that never completes is published again about ten times in the week it is
looked after, and a worker that is merely behind is not flooded with
copies of the events it has yet to reach.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from attrs import Attribute, field, frozen

from checkout_core.domain.validators import aware_state, require_aware

__all__ = ["LOOKBACK", "STALLED_AFTER", "RedeliveryPolicy", "RelayedEvent"]

STALLED_AFTER: Final = timedelta(minutes=10)
"""How long a paid order may go without completing before its event is published again."""
LOOKBACK: Final = timedelta(days=7)
"""How far back paid orders are looked after; one older than that is left to a person."""


@frozen
class RelayedEvent:
    """An event of the outbox that a relay published: which, for which order, and when.

    ``occurred_at`` is when the event happened (its order was paid);
    ``sent_at`` is when a relay last handed it to the broker.
    """

    event_id: str
    order_token: str
    occurred_at: datetime = field(validator=aware_state)
    sent_at: datetime = field(validator=aware_state)

    @property
    def waited(self) -> timedelta:
        """How long the event had waited since it happened when it was last sent."""
        return self.sent_at - self.occurred_at


def _positive(_instance: object, attribute: Attribute[timedelta], value: timedelta) -> None:
    if value <= timedelta(0):
        raise ValueError(f"{attribute.name} is a positive time, not {value}")


def _beyond_stalled_after(
    instance: RedeliveryPolicy, attribute: Attribute[timedelta], value: timedelta
) -> None:
    if value <= instance.stalled_after:
        raise ValueError(
            f"{attribute.name} ({value}) must be longer than stalled_after "
            f"({instance.stalled_after}): no order would be looked at"
        )


@frozen
class RedeliveryPolicy:
    """Which paid orders are looked at, and when an event of theirs is published again.

    Orders are looked at when their last update (the payment) is older than
    ``stalled_after`` and newer than ``lookback``. Their event is due again
    ``max(stalled_after, waited)`` after it was last sent, where ``waited``
    is how long it had waited when it was sent (:attr:`RelayedEvent.waited`).
    """

    stalled_after: timedelta = field(default=STALLED_AFTER, validator=_positive)
    lookback: timedelta = field(default=LOOKBACK, validator=_beyond_stalled_after)

    def stalled_window(self, now: datetime) -> tuple[datetime, datetime]:
        """The window of last updates of the orders to look at ``now``.

        That is ``[now - lookback, now - stalled_after)``.
        """
        require_aware(now, "now")
        return now - self.lookback, now - self.stalled_after

    def due_at(self, event: RelayedEvent) -> datetime:
        """When ``event`` may be published again, if its order is still not completed then."""
        return event.sent_at + max(self.stalled_after, event.waited)

    def is_due(self, event: RelayedEvent, now: datetime) -> bool:
        """Whether ``event`` is to be published again ``now``."""
        require_aware(now, "now")
        return now >= self.due_at(event)
