"""OrderService: one cart, one order, placed once per idempotency key.

``create_from_cart`` follows the seed: the key is checked (and claimed),
the cart is validated and locked, the order is priced afresh from the
catalog, and then

* a free order is completed, its enrollments made and the welcome
  notification queued in the outbox, all in one transaction;
* a paid order is stored awaiting payment with its Payment record in one
  transaction, and the payment session is opened at the gateway after it,
  outside any transaction. A gateway fault leaves an order that the next
  request for the same cart (with any key) picks up and finishes.

The answer is stored under the key, so a repeat gets the same answer. A
second request for a cart already ordered gets that order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta

from attrs import Factory, evolve, frozen

from checkout_core.domain.cart import Cart, CartStatus
from checkout_core.domain.catalog import Offering
from checkout_core.domain.discounts import CouponRedemption
from checkout_core.domain.events import NotificationRequested, OrderCompleted
from checkout_core.domain.gateway import GatewayError
from checkout_core.domain.idempotency import IdempotencyRecord, Replay
from checkout_core.domain.orders import Order, OrderStatus
from checkout_core.domain.payments import Payment
from checkout_core.domain.pricing import Estimate
from checkout_core.errors import (
    AuthenticationRequired,
    CartNotActive,
    CartNotFound,
    CouponInvalid,
    OrderNotFound,
    PaymentsUnavailable,
)
from checkout_core.ports import UnitOfWork
from checkout_core.services._seam import checked
from checkout_core.services.carts import CartService, authorize
from checkout_core.services.expiry import OrderExpiry, end_order, expire_stale_orders
from checkout_core.services.fulfilment import AnalyticsService, EnrollmentService
from checkout_core.services.idempotency import Claim, IdempotencyService
from checkout_core.services.limits import enforce
from checkout_core.services.payments import PaymentService
from checkout_core.services.pricing import PricingService, refusal_error
from checkout_core.services.receipts import (
    OrderPlaced,
    OrderReceipt,
    decode_receipt,
    encode_receipt,
    receipt_of,
)
from checkout_core.services.settings import CheckoutPorts, CheckoutSettings

__all__ = ["OrderService"]

logger = logging.getLogger(__name__)

_UNPAID = frozenset({OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT, OrderStatus.PAYMENT_FAILED})


@frozen
class _Placed:
    """What the order transaction decided: the order, its payment, and any receipt already due.

    ``converted`` holds the cart's analytics data when a free order was just
    completed: that conversion is counted once, after the commit.
    """

    order: Order
    payment: Payment | None
    receipt: OrderReceipt | None
    titles: dict[str, str] = Factory(dict)
    converted: dict[str, str] | None = None


def _titles(offerings: Mapping[str, Offering]) -> dict[str, str]:
    return {offering_id: offering.title for offering_id, offering in offerings.items()}


@frozen
class OrderService:
    """Places orders from carts, and expires or cancels the ones never paid."""

    ports: CheckoutPorts
    settings: CheckoutSettings
    carts: CartService
    pricing: PricingService
    idempotency: IdempotencyService
    payments: PaymentService
    enrollments: EnrollmentService
    analytics: AnalyticsService

    @checked
    def create_from_cart(
        self, cart_token: str, idempotency_key: str, user_id: str | None
    ) -> OrderPlaced:
        """Place the order for ``cart_token`` for ``user_id`` (the seed's ``CreateFromCart``).

        The buyer must be signed in: enrollments belong to a user. Failures
        are values with their codes: the cart's (1101-1104), a coupon that no
        longer applies (20xx), the key's (5001-5003), and
        :class:`~checkout_core.errors.PaymentsUnavailable` when the gateway
        cannot open a session (the order is kept and the same request may be
        retried).
        """
        if user_id is None:
            raise AuthenticationRequired("sign in to place an order")
        enforce(self.ports, (self.settings.orders_per_user, user_id))
        request = {"operation": "create_order", "cart_token": cart_token, "user_id": user_id}
        fast = self.idempotency.check_fast(idempotency_key, request)
        if fast is not None:
            return OrderPlaced(decode_receipt(fast.response_body), replayed=True)
        try:
            placed, answer = self._place(cart_token, idempotency_key, user_id, request)
        except BaseException:
            self.idempotency.forget(idempotency_key)
            raise
        self.idempotency.remember(answer)
        return placed

    def _place(
        self, cart_token: str, key: str, user_id: str, request: dict[str, str]
    ) -> tuple[OrderPlaced, IdempotencyRecord]:
        # The key is claimed in the order's own transaction: a failure rolls the
        # claim back with everything else, and a concurrent request with the key
        # waits on the claim, then finds the answer or the order in progress.
        with self.ports.unit_of_work() as uow:
            begun = self.idempotency.begin(uow, key, request)
            if isinstance(begun, Replay):
                return OrderPlaced(decode_receipt(begun.response_body), replayed=True), begun.record
            placed = self._order_for_cart(cart_token, user_id, begun, uow)
            uow.commit()
        if self.ports.cart_cache is not None:
            self.ports.cart_cache.invalidate(cart_token)
        if placed.converted is not None:
            self._track(placed.order, placed.converted)
        receipt = placed.receipt
        if receipt is None:
            try:
                receipt = self._finish_payment(placed, begun)
            except BaseException:
                self.idempotency.release(begun)
                raise
        answer = self.idempotency.answered(begun, encode_receipt(receipt))
        return OrderPlaced(receipt, replayed=False), answer

    @checked
    def get_receipt(self, order_token: str, user_id: str | None) -> OrderReceipt:
        """The order ``order_token`` as it stands now, for its owner ``user_id``.

        Anyone else is told :class:`~checkout_core.errors.OrderNotFound`, the
        same as for a token that names no order, so tokens cannot be probed;
        an anonymous caller is told
        :class:`~checkout_core.errors.AuthenticationRequired`.
        """
        if user_id is None:
            raise AuthenticationRequired("sign in to see an order")
        with self.ports.unit_of_work() as uow:
            order = uow.orders.get(order_token)
            if order is None or order.user_id != user_id:
                raise OrderNotFound
            payment = uow.payments.latest_for_order(order.token)
            enrollments = uow.enrollments.for_order(order.token)
        return receipt_of(order, payment, enrollments)

    @checked
    def expire(self, order_token: str) -> Order:
        """Expire an unpaid order, release its coupon redemption and queue ``order.expired``."""
        return self._give_up(order_token, OrderStatus.EXPIRED)

    @checked
    def cancel(self, order_token: str) -> Order:
        """Cancel an unpaid order, release its coupon redemption and queue ``order.cancelled``.

        A failed payment alone is not final (the buyer may pay again); an
        order the buyer or the host gives up is.
        """
        return self._give_up(order_token, OrderStatus.CANCELLED)

    @checked
    def expire_stale(
        self,
        *,
        older_than: timedelta = timedelta(hours=1),
        batch_size: int = 500,
        on_progress: Callable[[int], None] | None = None,
    ) -> OrderExpiry:
        """Expire the unpaid orders not updated for ``older_than``, as :meth:`expire` does.

        Works in batches of ``batch_size``, each its own transaction; two runs
        at once never wait on each other nor expire an order twice. An order
        whose payment was captured is never expired. ``on_progress`` is told
        how many orders each batch expired.
        """
        updated_before = self.ports.clock.now() - older_than
        return expire_stale_orders(
            self.ports, updated_before, batch_size=batch_size, on_progress=on_progress
        )

    def _give_up(self, order_token: str, status: OrderStatus) -> Order:
        now = self.ports.clock.now()
        with self.ports.unit_of_work() as uow:
            order = uow.orders.get(order_token, for_update=True)
            if order is None:
                raise OrderNotFound(order_token)
            if order.status is status:
                return order
            ended, _ = end_order(self.ports, uow, order, status, now)
            uow.commit()
        return ended

    def _order_for_cart(
        self, cart_token: str, user_id: str, claim: Claim, uow: UnitOfWork
    ) -> _Placed:
        cart = uow.carts.get(cart_token, for_update=True)
        if cart is None:
            raise CartNotFound
        cart = authorize(cart, user_id)
        if cart.status is CartStatus.CONVERTED:
            return self._existing(cart, claim, uow)
        cart.ensure_usable(self.ports.clock.now())
        inputs = self.pricing.inputs(cart, uow)
        estimate = self.pricing.price_with(cart, inputs)
        self._check_coupon(cart, estimate)
        placed = self._new(cart, user_id, estimate, claim, uow)
        return evolve(placed, titles=_titles(inputs.offerings))

    def _check_coupon(self, cart: Cart, estimate: Estimate) -> None:
        """Refuse to place an order whose buyer expects a coupon that no longer applies."""
        if cart.coupon_code is None or estimate.coupon_applied:
            return
        refusal = estimate.coupon_refusal
        raise refusal_error(refusal) if refusal is not None else CouponInvalid

    def _new(
        self, cart: Cart, user_id: str, estimate: Estimate, claim: Claim, uow: UnitOfWork
    ) -> _Placed:
        now = self.ports.clock.now()
        ids = self.ports.ids
        order = Order.place(ids.token(), cart.token, user_id, estimate, now)
        uow.carts.update(cart.convert())
        if not order.requires_payment:
            uow.orders.add(order)
            enrollments = self.enrollments.enroll(order, uow)
            uow.outbox.append(OrderCompleted.of(ids.id("evt"), order, now))
            uow.outbox.append(NotificationRequested.of(ids.id("evt"), order, "welcome", now))
            receipt = receipt_of(order, None, enrollments)
            self.idempotency.complete(uow, claim, 200, encode_receipt(receipt))
            self._redeem(order, uow)
            return _Placed(order, None, receipt, converted=cart.analytics)
        if not self.ports.gateway.available():
            # Nothing is created while the provider is known to be down: the
            # buyer retries later and finds the cart as they left it.
            raise PaymentsUnavailable(f"{self.ports.gateway.provider} is not answering")
        order = order.await_payment(now)
        payment = Payment.create(
            ids.id("pay"),
            order_token=order.token,
            provider=self.ports.gateway.provider,
            amount=order.total,
            currency=order.currency,
            now=now,
        )
        uow.orders.add(order)
        uow.payments.add(payment)
        self._redeem(order, uow)
        return _Placed(order, payment, None)

    def _redeem(self, order: Order, uow: UnitOfWork) -> None:
        """Take the order's coupon use: last before the commit, as it locks the coupon's row.

        Every order with the coupon queues on that row, so the shorter it is
        held, the more orders a popular coupon lets through.
        """
        if order.coupon_code is not None:
            redemption = CouponRedemption(
                order.coupon_code, order.token, order.user_id, order.created_at
            )
            uow.discounts.redeem(redemption)

    def _existing(self, cart: Cart, claim: Claim, uow: UnitOfWork) -> _Placed:
        """The order already made from ``cart``: its receipt, or its payment still to open."""
        order = uow.orders.get_by_cart(cart.token)
        if order is None:
            raise CartNotActive(f"cart {cart.token[:8]}... was ordered and its order is gone")
        if not order.requires_payment:
            receipt = receipt_of(order, None, uow.enrollments.for_order(order.token))
            self.idempotency.complete(uow, claim, 200, encode_receipt(receipt))
            return _Placed(order, None, receipt)
        payment = uow.payments.latest_for_order(order.token)
        if payment is not None and (
            payment.provider_ref is not None or order.status not in _UNPAID
        ):
            receipt = receipt_of(order, payment)
            self.idempotency.complete(uow, claim, 200, encode_receipt(receipt))
            return _Placed(order, payment, receipt)
        offerings = uow.catalog.offerings([line.offering_id for line in order.pricing.lines])
        return _Placed(order, payment, None, titles=_titles(offerings))

    def _finish_payment(self, placed: _Placed, claim: Claim) -> OrderReceipt:
        order, payment = placed.order, placed.payment
        if payment is None:
            raise OrderNotFound(f"order {order.token} has no payment")
        try:
            session = self.payments.open_session(order, payment, placed.titles)
        except GatewayError as fault:
            logger.warning("payment session for order %s failed: %s", order.token, fault)
            raise PaymentsUnavailable from fault
        opened = payment.attach_session(
            session.provider_ref, self.ports.clock.now(), session.checkout_url
        )
        with self.ports.unit_of_work() as uow:
            # Another request for this cart may have recorded its session first: that one stands.
            stored = uow.payments.record_session(opened)
            receipt = receipt_of(order, stored)
            self.idempotency.complete(uow, claim, 200, encode_receipt(receipt))
            uow.commit()
        return receipt

    def _track(self, order: Order, analytics: dict[str, str]) -> None:
        """Count the conversion; a tracker that fails never fails an order already placed."""
        try:
            self.analytics.track_conversion(order, analytics)
        except Exception:
            logger.exception("could not track the conversion of order %s", order.token)
