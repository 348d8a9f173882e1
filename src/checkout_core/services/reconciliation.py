"""ReconciliationService: what the providers know and the checkout missed, and what should not be.

The seed's scheduled ``RetryFailed``/``VerifyStatus`` and ``SyncPaymentStatus``.
A webhook can be lost; the provider still knows. :meth:`reconcile_payments`
asks it about every payment still waiting for money and applies what it says
exactly as the webhook would have (:meth:`PaymentService.apply_in`): a
capture marks the order paid and queues ``order.paid`` in the same
transaction. The provider is asked outside any transaction; then the
payment is locked and the news applied to it as it stands, so a webhook or
another reconciler that got there first makes this one a no-op.
:meth:`retry_payment_sessions` opens the sessions a gateway fault left
unopened, and :meth:`orphans` counts the records that should not exist.

Work goes in batches in a fixed order (``(updated_at, id)``), each read in a
short transaction of its own, so memory stays bounded whatever the tables
hold. A gateway fault on one payment is counted and the run goes on; while
the gateway's circuit breaker is open, the run stops.
"""

from __future__ import annotations

import enum
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final

from attrs import frozen

from checkout_core.domain.gateway import GatewayError, ProviderPaymentState, ProviderStatus
from checkout_core.domain.messages import Alert, AlertSeverity
from checkout_core.domain.payment_events import PaymentEvent
from checkout_core.domain.payments import Payment
from checkout_core.errors import CurrencyMismatch, PaymentError
from checkout_core.ports import UnitOfWork
from checkout_core.services._seam import checked
from checkout_core.services.orphans import OrphanReport, count_orphans
from checkout_core.services.payments import PaymentService
from checkout_core.services.settings import CheckoutPorts

__all__ = ["OrphanReport", "PaymentReconciliation", "ReconciliationService"]

logger = logging.getLogger(__name__)

LOOKBACK: Final = timedelta(hours=24)
"""How far back payments are looked at: a capture or a session that late is still found.

Older ones are not asked about again; their sessions have expired at the
providers (a Stripe Checkout Session lives 24 hours at most).
"""
SETTLING: Final = timedelta(minutes=1)
"""How long a new payment is left to the request opening its session."""

Progress = Callable[[int], None] | None


class _Verdict(enum.Enum):
    CAPTURED = "captured"
    FAILED = "failed"
    UNCHANGED = "unchanged"
    ERROR = "error"


@frozen
class PaymentReconciliation:
    """What a run of :meth:`ReconciliationService.reconcile_payments` did.

    ``checked`` payments were looked at: ``captured`` and ``failed`` were
    applied, ``unchanged`` needed nothing, ``errors`` could not be settled
    (the provider did not answer, or its answer did not match the payment).
    ``interrupted`` says the run stopped early because the gateway's
    circuit breaker was open.
    """

    checked: int
    captured: int
    failed: int
    unchanged: int
    errors: int
    interrupted: bool = False


def _event_of(status: ProviderStatus, now: datetime) -> PaymentEvent | None:
    """The news in ``status`` that a webhook would have brought; ``None`` when there is none.

    A session still open, authorized or expired is left as it stands: money
    is taken only by a capture, and an order whose session expired unpaid
    expires in its own time.
    """
    match status.state:
        case ProviderPaymentState.CAPTURED:
            return PaymentEvent.captured(status.amount_captured, now)
        case ProviderPaymentState.FAILED:
            return PaymentEvent.failed(now, status.failure_code, status.failure_reason)
        case _:
            return None


@frozen
class ReconciliationService:
    """Settles payments with their providers, retries sessions, and counts orphans."""

    ports: CheckoutPorts
    payments: PaymentService

    @checked
    def reconcile_payments(
        self,
        *,
        stuck_after: timedelta = timedelta(minutes=15),
        batch_size: int = 200,
        on_progress: Progress = None,
    ) -> PaymentReconciliation:
        """Ask the provider about every payment waiting for money for longer than ``stuck_after``.

        That is payments with a session, not captured (created, authorized
        or failed: a capture after a failure is found too), last changed
        within the last 24 hours. ``on_progress`` is told how many payments
        each batch checked.
        """
        now = self.ports.clock.now()
        tally: Counter[_Verdict] = Counter()
        interrupted = self._walk(
            lambda uow, after: uow.payments.unsettled(
                self.ports.gateway.provider,
                changed_from=now - LOOKBACK,
                changed_before=now - stuck_after,
                after=after,
                limit=batch_size,
            ),
            lambda payment: tally.update([self._reconcile(payment)]),
            batch_size,
            on_progress,
        )
        return PaymentReconciliation(
            checked=tally.total(),
            captured=tally[_Verdict.CAPTURED],
            failed=tally[_Verdict.FAILED],
            unchanged=tally[_Verdict.UNCHANGED],
            errors=tally[_Verdict.ERROR],
            interrupted=interrupted,
        )

    @checked
    def retry_payment_sessions(self, *, batch_size: int = 200, on_progress: Progress = None) -> int:
        """Open the sessions that a gateway fault kept from being opened; return how many.

        Those of new payments whose order still waits for payment, created
        within the last 24 hours and at least a minute ago (a request may be
        opening one right now). The provider is asked with the payment's own
        idempotency key, so a session it did open before is the one
        returned, and a session another request recorded first stands.
        ``on_progress`` is told how many payments each batch looked at.
        """
        now = self.ports.clock.now()
        opened: list[Payment] = []
        self._walk(
            lambda uow, after: uow.payments.sessionless(
                self.ports.gateway.provider,
                changed_from=now - LOOKBACK,
                changed_before=now - SETTLING,
                after=after,
                limit=batch_size,
            ),
            lambda payment: self._open_session(payment, opened),
            batch_size,
            on_progress,
        )
        return len(opened)

    @checked
    def orphans(self) -> OrphanReport:
        """Count the records of the last week that should not exist (see :class:`OrphanReport`)."""
        return count_orphans(self.ports)

    def _walk(
        self,
        batch: Callable[[UnitOfWork, Payment | None], Sequence[Payment]],
        handle: Callable[[Payment], object],
        batch_size: int,
        on_progress: Progress,
    ) -> bool:
        """Read batches in short transactions and ``handle`` each payment outside them.

        Returns whether the run stopped early because the breaker was open.
        """
        if batch_size < 1:
            raise ValueError(f"a batch holds at least one payment, not {batch_size}")
        after: Payment | None = None
        while True:
            with self.ports.unit_of_work() as uow:
                payments = batch(uow, after)
            for done, payment in enumerate(payments):
                if not self.ports.gateway.available():
                    logger.warning("%s is not answering: stopping", self.ports.gateway.provider)
                    if on_progress is not None:
                        on_progress(done)
                    return True
                handle(payment)
            if on_progress is not None:
                on_progress(len(payments))
            if len(payments) < batch_size:
                return False
            after = payments[-1]

    def _reconcile(self, payment: Payment) -> _Verdict:
        try:
            # unsettled() gives only payments with a reference.
            status = self.ports.gateway.fetch_status(payment.provider_ref or "")
        except GatewayError as fault:
            logger.warning("could not ask about payment %s: %s", payment.id, fault)
            return _Verdict.ERROR
        event = _event_of(status, self.ports.clock.now())
        return _Verdict.UNCHANGED if event is None else self._apply(payment, event)

    def _apply(self, payment: Payment, event: PaymentEvent) -> _Verdict:
        with self.ports.unit_of_work() as uow:
            # Read again under the lock: a webhook may have settled it since the batch was read.
            locked = uow.payments.get(payment.id, for_update=True)
            if locked is None:
                return _Verdict.UNCHANGED
            try:
                change = self.payments.apply_in(uow, locked, event)
            except (PaymentError, CurrencyMismatch) as mismatch:
                self._flag(uow, locked, str(mismatch))
                uow.commit()
                self._alert(locked, str(mismatch))
                return _Verdict.ERROR
            if not change.applied:
                return _Verdict.UNCHANGED
            uow.commit()
        return _Verdict.CAPTURED if change.payment.is_captured else _Verdict.FAILED

    def _open_session(self, payment: Payment, opened: list[Payment]) -> None:
        with self.ports.unit_of_work() as uow:
            order = uow.orders.get(payment.order_token)
            if order is None:  # pragma: no cover - sessionless() gives only payments of orders
                return
            offerings = uow.catalog.offerings([line.offering_id for line in order.pricing.lines])
        titles = {offering_id: offering.title for offering_id, offering in offerings.items()}
        try:
            session = self.payments.open_session(order, payment, titles)
        except GatewayError as fault:
            logger.warning("payment session for order %s failed again: %s", order.token, fault)
            return
        attached = payment.attach_session(
            session.provider_ref, self.ports.clock.now(), session.checkout_url
        )
        with self.ports.unit_of_work() as uow:
            opened.append(uow.payments.record_session(attached))
            uow.commit()

    def _flag(self, uow: UnitOfWork, payment: Payment, reason: str) -> None:
        """Flag the order for a person, as a webhook that does not match its payment does."""
        order = uow.orders.get(payment.order_token, for_update=True)
        if order is not None:
            uow.orders.update(order.flag_for_review(reason, self.ports.clock.now()))

    def _alert(self, payment: Payment, reason: str) -> None:
        """Tell a person; an alert that cannot be sent is logged, never lost silently."""
        alert = Alert(
            severity=AlertSeverity.CRITICAL,
            title=f"{payment.provider} reports a payment that does not match {payment.id}",
            detail=reason,
            occurred_at=self.ports.clock.now(),
        )
        try:
            self.ports.alerts.send(alert)
        except Exception:
            logger.exception("could not send the alert: %s", alert.title)
