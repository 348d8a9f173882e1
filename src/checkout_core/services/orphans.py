"""The orphan report: counts of records that should not exist, each one aggregate query."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from attrs import frozen

from checkout_core.services.settings import CheckoutPorts

__all__ = ["ORPHAN_WINDOW", "UNSENT_AFTER", "OrphanReport", "count_orphans"]

ORPHAN_WINDOW: Final = timedelta(days=7)
"""How far back records are looked at: a daily report sees each orphan on seven days."""
UNSENT_AFTER: Final = timedelta(hours=1)
"""How long an event may wait in the outbox before it counts as stuck."""


@frozen
class OrphanReport:
    """Records of the last week that should not exist; all zero in a healthy checkout.

    * ``payments_without_order``: payments whose order is gone;
    * ``paid_without_capture``: orders paid for (paid, completed or
      refunded, and not free) none of whose payments was captured;
    * ``completed_without_enrollments``: completed orders that enrolled no one;
    * ``outbox_unsent``: events waiting more than an hour for the relay
      (always 0 where the consumers read the outbox itself);
    * ``carts_ordered_without_order``: carts marked ordered that no order came from.
    """

    payments_without_order: int
    paid_without_capture: int
    completed_without_enrollments: int
    outbox_unsent: int
    carts_ordered_without_order: int

    @property
    def total(self) -> int:
        """Every orphan counted."""
        return (
            self.payments_without_order
            + self.paid_without_capture
            + self.completed_without_enrollments
            + self.outbox_unsent
            + self.carts_ordered_without_order
        )


def count_orphans(ports: CheckoutPorts) -> OrphanReport:
    """Count the orphans of the last :data:`ORPHAN_WINDOW`, in one read-only transaction."""
    now = ports.clock.now()
    since = now - ORPHAN_WINDOW
    with ports.unit_of_work() as uow:
        return OrphanReport(
            payments_without_order=uow.payments.count_without_order(since),
            paid_without_capture=uow.orders.count_paid_without_capture(since),
            completed_without_enrollments=uow.orders.count_completed_without_enrollments(since),
            outbox_unsent=uow.outbox.count_unsent(now - UNSENT_AFTER),
            carts_ordered_without_order=uow.carts.count_converted_without_order(since),
        )
