"""WebhookHandler: a provider's delivery verified, recorded once, and applied once.

The seed's ``VerifySignature`` and ``ProcessPaymentSuccess``. A delivery is
verified on its raw body, recorded in the inbox by ``(provider, event_id)``
and applied to its payment and order, all in one transaction: a repeat finds
the record and changes nothing. Every verified delivery is acknowledged,
including one for a payment the checkout does not know (kept for
reconciliation): a refusal would only make the provider retry it for a day.
A report whose amount or currency differs from the payment's marks nothing
paid, flags the order for review and raises an alert.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from attrs import frozen

from checkout_core.domain.gateway import WebhookEvent, WebhookSignatureInvalid
from checkout_core.domain.messages import Alert, AlertSeverity
from checkout_core.domain.payment_events import PaymentEventKind
from checkout_core.domain.payments import Payment
from checkout_core.domain.webhooks import InboxEntry, InboxStatus
from checkout_core.errors import CurrencyMismatch, PaymentError, WebhookRejected
from checkout_core.ports import UnitOfWork
from checkout_core.services._seam import checked
from checkout_core.services.payments import PaymentService
from checkout_core.services.settings import CheckoutPorts

__all__ = ["WebhookHandler", "WebhookOutcome"]

logger = logging.getLogger(__name__)


@frozen
class WebhookOutcome:
    """What a verified delivery did: its status in the inbox, and whether it was a repeat."""

    provider: str
    event_id: str
    type: str
    status: InboxStatus
    duplicate: bool = False
    detail: str | None = None
    payment: PaymentEventKind | None = None
    """What the delivery did to its payment, when it was applied (captured, failed...)."""


@frozen
class WebhookHandler:
    """Verifies, records and applies the payment provider's webhooks."""

    ports: CheckoutPorts
    payments: PaymentService

    @checked
    def handle(self, headers: Mapping[str, str], body: bytes) -> WebhookOutcome:
        """Handle one delivery: its headers and its raw body, exactly as received.

        A delivery that does not verify is a ``Failure(WebhookRejected)``;
        every other outcome is a ``Success`` the HTTP layer acknowledges.
        """
        try:
            event = self.ports.gateway.parse_webhook(headers, body)
        except WebhookSignatureInvalid as invalid:
            raise WebhookRejected(str(invalid)) from invalid
        entry = InboxEntry(
            provider=event.provider,
            event_id=event.event_id,
            type=event.type,
            received_at=self.ports.clock.now(),
            status=InboxStatus.APPLIED,
            body=body.decode("utf-8", errors="replace"),
        )
        with self.ports.unit_of_work() as uow:
            if not uow.inbox.record(entry):
                return WebhookOutcome(
                    event.provider, event.event_id, event.type, InboxStatus.IGNORED, duplicate=True
                )
            outcome = self._apply(event, uow)
            if outcome.status is not InboxStatus.APPLIED:
                uow.inbox.mark(event.provider, event.event_id, outcome.status, outcome.detail)
            uow.commit()
        if outcome.status is InboxStatus.FLAGGED:
            self._alert(outcome)
        return outcome

    def _apply(self, event: WebhookEvent, uow: UnitOfWork) -> WebhookOutcome:
        def outcome(status: InboxStatus, detail: str | None = None) -> WebhookOutcome:
            return WebhookOutcome(event.provider, event.event_id, event.type, status, detail=detail)

        if event.payment_event is None:
            return outcome(InboxStatus.IGNORED, "an event the checkout does not act on")
        payment = self._payment_of(event, uow)
        if payment is None:
            return outcome(InboxStatus.UNMATCHED, "no payment answers to this event")
        try:
            change = self.payments.apply_in(uow, payment, event.payment_event)
        except (PaymentError, CurrencyMismatch) as mismatch:
            self._flag(payment, str(mismatch), uow)
            return outcome(InboxStatus.FLAGGED, str(mismatch))
        if not change.applied:
            return outcome(
                InboxStatus.IGNORED, f"{change.outcome}: the payment is {change.payment.status}"
            )
        return WebhookOutcome(
            event.provider,
            event.event_id,
            event.type,
            InboxStatus.APPLIED,
            payment=event.payment_event.kind,
        )

    def _payment_of(self, event: WebhookEvent, uow: UnitOfWork) -> Payment | None:
        payments = uow.payments
        if event.provider_ref is not None:
            found = payments.get_by_provider_ref(
                event.provider, event.provider_ref, for_update=True
            )
            if found is not None:
                return found
        if event.payment_id is not None:
            found = payments.get(event.payment_id, for_update=True)
            if found is not None and found.provider == event.provider:
                return found
        return None

    def _flag(self, payment: Payment, reason: str, uow: UnitOfWork) -> None:
        order = uow.orders.get(payment.order_token, for_update=True)
        if order is not None:
            uow.orders.update(order.flag_for_review(reason, self.ports.clock.now()))

    def _alert(self, outcome: WebhookOutcome) -> None:
        """Tell a person; an alert that cannot be sent is logged, never lost silently."""
        alert = Alert(
            severity=AlertSeverity.CRITICAL,
            title=f"{outcome.provider} {outcome.type} does not match its payment",
            detail=f"event {outcome.event_id}: {outcome.detail}",
            occurred_at=self.ports.clock.now(),
        )
        try:
            self.ports.alerts.send(alert)
        except Exception:
            logger.exception("could not send the alert: %s", alert.title)
