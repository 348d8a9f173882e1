"""PaymentService: payment sessions at the gateway, and what providers say of payments."""

from __future__ import annotations

from collections.abc import Mapping

from attrs import frozen

from checkout_core.domain.events import OrderPaid, OrderRefunded, PaymentFailed
from checkout_core.domain.gateway import PaymentSession, PaymentSessionRequest, SessionLine
from checkout_core.domain.orders import Order, OrderStatus
from checkout_core.domain.payment_events import PaymentEvent, PaymentEventKind
from checkout_core.domain.payments import Payment, PaymentChange
from checkout_core.errors import OrderNotFound, PaymentNotFound
from checkout_core.ports import Outbox, UnitOfWork
from checkout_core.services._seam import checked
from checkout_core.services.settings import CheckoutPorts

__all__ = ["PaymentService"]

# A failure reported while the order waits for money moves it to payment_failed;
# once money was taken, a late failure changes nothing.
_FAILABLE = frozenset({OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT})


@frozen
class PaymentService:
    """Opens payment sessions and applies what providers report, exactly once each."""

    ports: CheckoutPorts

    def open_session(
        self, order: Order, payment: Payment, titles: Mapping[str, str]
    ) -> PaymentSession:
        """Ask the gateway for a session paying ``payment`` (the seed's ``CreatePaymentSession``).

        Called outside any database transaction. The idempotency key is the
        payment's, so a retried call never opens a second session at a
        provider that honours keys. Raises
        :class:`~checkout_core.domain.gateway.GatewayError` on a fault.
        """
        lines = tuple(
            SessionLine(
                f"{titles.get(line.offering_id, line.offering_id)} ({line.period})", line.total
            )
            for line in order.pricing.lines
        )
        return self.ports.gateway.create_session(
            PaymentSessionRequest(
                payment_id=payment.id,
                order_token=order.token,
                amount=payment.amount,
                currency=payment.currency,
                lines=lines,
                user_id=order.user_id,
                attempt=payment.attempts + 1,
                idempotency_key=f"{payment.id}-session",
            )
        )

    @checked
    def update_status(self, provider: str, provider_ref: str, event: PaymentEvent) -> PaymentChange:
        """Apply what the provider reported of a payment, and move its order to match.

        A capture marks the order paid and queues ``order.paid``; a failure
        marks a waiting order ``payment_failed``; a refund is recorded on the
        order. A repeated or stale report changes nothing and writes nothing.
        """
        return self._apply(provider, provider_ref, event)

    @checked
    def mark_paid(self, provider: str, provider_ref: str, amount: int) -> PaymentChange:
        """Record that the provider captured ``amount`` (the seed's ``MarkAsPaid``)."""
        return self._apply(
            provider, provider_ref, PaymentEvent.captured(amount, self.ports.clock.now())
        )

    def _apply(self, provider: str, provider_ref: str, event: PaymentEvent) -> PaymentChange:
        with self.ports.unit_of_work() as uow:
            payment = uow.payments.get_by_provider_ref(provider, provider_ref, for_update=True)
            if payment is None:
                raise PaymentNotFound(f"{provider} payment {provider_ref}")
            change = self.apply_in(uow, payment, event)
            if change.applied:
                uow.commit()
        return change

    def apply_in(self, uow: UnitOfWork, payment: Payment, event: PaymentEvent) -> PaymentChange:
        """Apply ``event`` to ``payment`` (locked by the caller) and its order, in ``uow``.

        Writes nothing when the event changes nothing. The caller commits.
        """
        change = payment.apply(event)
        if not change.applied:
            return change
        order = uow.orders.get(payment.order_token, for_update=True)
        if order is None:
            raise OrderNotFound(payment.order_token)
        uow.payments.update(change.payment)
        updated = self._follow(order, change.payment, event, uow.outbox)
        if updated is not order:
            uow.orders.update(updated)
        return change

    def _follow(self, order: Order, payment: Payment, event: PaymentEvent, outbox: Outbox) -> Order:
        now = self.ports.clock.now()
        ids = self.ports.ids
        if event.kind is PaymentEventKind.CAPTURED:
            paid = order.mark_paid(now)
            if paid is not order:
                outbox.append(OrderPaid.of(ids.id("evt"), paid, payment, now))
            return paid
        if event.kind is PaymentEventKind.FAILED and order.status in _FAILABLE:
            outbox.append(PaymentFailed.of(ids.id("evt"), payment, now))
            return order.mark_payment_failed(now)
        if event.kind is PaymentEventKind.REFUNDED and event.amount is not None:
            refunded = order.record_refund(event.amount, now)
            outbox.append(OrderRefunded.of(ids.id("evt"), refunded, event.amount, now))
            return refunded
        return order
