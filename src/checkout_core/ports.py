"""The driven ports: what the core needs from the world, as ``typing.Protocol`` classes.

Adapters in ``checkout_adapters`` implement them; the core never imports an
adapter. Each port is named for its role. Repositories live inside a
:class:`UnitOfWork`: what they write is committed together or not at all,
and the :class:`Outbox` is written in the same transaction as the change
whose events it holds.

Repositories raise nothing for business outcomes except where a method says
so (a coupon whose limit the database refuses, a second order for a cart):
there the database is the judge, because only it sees every concurrent
writer. Faults of the world (a database down) are the adapters' own
exceptions and travel up as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol, Self, TypeVar

from attrs import frozen

from checkout_core.domain.cart import Cart
from checkout_core.domain.catalog import Offering, Sale
from checkout_core.domain.discounts import Coupon, CouponRedemption, CouponUsage
from checkout_core.domain.enrollments import Enrollment
from checkout_core.domain.events import DomainEvent
from checkout_core.domain.gateway import (
    PaymentSession,
    PaymentSessionRequest,
    ProviderStatus,
    RefundReceipt,
    RefundRequest,
    WebhookEvent,
)
from checkout_core.domain.idempotency import IdempotencyRecord
from checkout_core.domain.limits import RateDecision, RateLimit
from checkout_core.domain.messages import Alert, AnalyticsEvent, Notification
from checkout_core.domain.messaging import DeadLetter, Delivery
from checkout_core.domain.orders import Order
from checkout_core.domain.payments import Payment
from checkout_core.domain.redelivery import RelayedEvent
from checkout_core.domain.retry import CircuitBreaker
from checkout_core.domain.webhooks import InboxEntry, InboxStatus

__all__ = [
    "AlertSink",
    "AnalyticsTracker",
    "BreakerStore",
    "CartCache",
    "CartRepository",
    "Catalog",
    "Clock",
    "DiscountRepository",
    "EnrollmentRepository",
    "IdGenerator",
    "IdempotencyCache",
    "IdempotencyStore",
    "Lock",
    "LockLease",
    "MessageQueue",
    "NotificationSender",
    "OrderRepository",
    "Outbox",
    "PaymentGateway",
    "PaymentRepository",
    "RateLimiter",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "WebhookInbox",
]


T = TypeVar("T")


class Clock(Protocol):
    """Tells the time, so that tests and property tests can control it."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class IdGenerator(Protocol):
    """Makes identifiers and bearer tokens."""

    def token(self) -> str:
        """A new unguessable token carrying 128 random bits (a cart or order token)."""
        ...

    def id(self, prefix: str) -> str:
        """A new identifier with a readable ``prefix`` (``"enr"`` gives ``"enr_..."``)."""
        ...


class Catalog(Protocol):
    """What is for sale: offerings and sales. Read-only to the checkout."""

    def offerings(self, ids: Collection[str]) -> Mapping[str, Offering]:
        """The offerings with these ids that exist, active or not, by id."""
        ...

    def active_offerings(self) -> Sequence[Offering]:
        """Every offering on sale now, for browsing."""
        ...

    def sale(self, slug: str) -> Sale | None:
        """The sale named ``slug``, running or not; ``None`` when there is none."""
        ...


class CartRepository(Protocol):
    """Carts, by token."""

    def add(self, cart: Cart) -> None:
        """Store a new cart."""
        ...

    def get(self, token: str, *, for_update: bool = False) -> Cart | None:
        """The cart with ``token``; ``for_update`` locks it until the transaction ends."""
        ...

    def get_many(self, tokens: Collection[str]) -> dict[str, Cart]:
        """The stored carts among ``tokens``, by token, read in one go."""
        ...

    def update(self, cart: Cart) -> None:
        """Store the new state of a cart that exists."""
        ...

    def expire_stale(self, now: datetime, limit: int) -> int:
        """Mark up to ``limit`` active carts past their expiry as expired; return how many."""
        ...

    def delete_expired_before(self, cutoff: datetime, limit: int) -> int:
        """Delete up to ``limit`` expired or converted carts that expired before ``cutoff``."""
        ...

    def count_abandoned(self, since: datetime, until: datetime) -> dict[str | None, int]:
        """Carts left without an order whose expiry fell in ``[since, until)``, by sale slug.

        Active carts past their expiry count too (the cleanup may not have
        marked them yet); ``None`` counts the carts of no sale. One
        aggregate query, whatever the number of carts.
        """
        ...

    def count_converted_without_order(self, since: datetime) -> int:
        """Carts marked ordered, expiring at or after ``since``, that no order was made from."""
        ...


class OrderRepository(Protocol):
    """Orders, by token and by the cart they came from."""

    def add(self, order: Order) -> None:
        """Store a new order.

        Raises:
            CartNotActive: the cart already has an order (the database keeps
                one order per cart whatever the code above it does).
        """
        ...

    def get(self, token: str, *, for_update: bool = False) -> Order | None:
        """The order with ``token``; ``for_update`` locks it until the transaction ends."""
        ...

    def get_many(self, tokens: Collection[str], *, for_update: bool = False) -> dict[str, Order]:
        """The stored orders among ``tokens``, by token, read in one go.

        ``for_update`` locks them until the transaction ends, in token order
        (so two transactions locking overlapping sets never deadlock).
        """
        ...

    def complete_paid(self, tokens: Collection[str], now: datetime) -> int:
        """Complete the paid orders among ``tokens`` (updated at ``now``); return how many.

        Only the status and ``updated_at`` change; orders in any other status
        are left as they are.
        """
        ...

    def get_by_cart(self, cart_token: str) -> Order | None:
        """The order made from the cart ``cart_token``, if there is one."""
        ...

    def update(self, order: Order) -> None:
        """Store the new state of an order that exists."""
        ...

    def lock_stale_unpaid(
        self, updated_before: datetime, *, after: Order | None, limit: int
    ) -> list[Order]:
        """Lock and return up to ``limit`` unpaid orders not updated since ``updated_before``.

        Unpaid is pending, awaiting payment or payment failed. The orders come
        in ``(updated_at, token)`` order, after ``after`` (the last order of
        the previous batch) when it is given. Orders another transaction
        holds are skipped rather than waited for, so two runners never wait
        on each other and never take the same order.
        """
        ...

    def stalled_paid(
        self,
        updated_from: datetime,
        updated_before: datetime,
        *,
        after: Order | None,
        limit: int,
    ) -> list[Order]:
        """Up to ``limit`` orders paid and not completed, last updated in the window given.

        That is orders in status paid (their buyer paid, and the enrollment
        worker has not completed them) whose ``updated_at`` is in
        ``[updated_from, updated_before)``. They come in ``(updated_at, token)``
        order, after ``after`` (the last order of the previous batch) when it
        is given. Nothing is locked.
        """
        ...

    def count_paid_without_capture(self, since: datetime) -> int:
        """Orders updated since ``since`` that were paid for, with no captured payment.

        Paid for: paid, completed, refunded or partially refunded, and not free.
        """
        ...

    def count_completed_without_enrollments(self, since: datetime) -> int:
        """Completed orders updated since ``since`` that have no enrollment."""
        ...


class PaymentRepository(Protocol):
    """Payments, by id, by order and by the provider's reference."""

    def add(self, payment: Payment) -> None:
        """Store a new payment."""
        ...

    def get(self, payment_id: str, *, for_update: bool = False) -> Payment | None:
        """The payment with ``payment_id``."""
        ...

    def latest_for_order(self, order_token: str) -> Payment | None:
        """The newest payment of an order."""
        ...

    def get_by_provider_ref(
        self, provider: str, provider_ref: str, *, for_update: bool = False
    ) -> Payment | None:
        """The payment a provider knows as ``provider_ref``."""
        ...

    def update(self, payment: Payment) -> None:
        """Store the new state of a payment that exists."""
        ...

    def record_session(self, payment: Payment) -> Payment:
        """Store ``payment``'s session if the stored payment has none yet; return the stored one.

        One conditional write: when another request recorded a session first,
        that payment is returned and ``payment`` is not stored.
        """
        ...

    def unsettled(
        self,
        provider: str,
        *,
        changed_from: datetime,
        changed_before: datetime,
        after: Payment | None,
        limit: int,
    ) -> list[Payment]:
        """Up to ``limit`` payments of ``provider`` with a session and no money taken yet.

        That is created, authorized or failed, with a provider reference,
        last changed in ``[changed_from, changed_before)``; in
        ``(updated_at, id)`` order, after ``after`` (the last payment of the
        previous batch) when it is given. Nothing is locked.
        """
        ...

    def sessionless(
        self,
        provider: str,
        *,
        changed_from: datetime,
        changed_before: datetime,
        after: Payment | None,
        limit: int,
    ) -> list[Payment]:
        """Up to ``limit`` new payments of ``provider`` whose session was never recorded.

        Only those whose order still waits for payment (pending or awaiting
        it), last changed in ``[changed_from, changed_before)``; in
        ``(updated_at, id)`` order after ``after``, as :meth:`unsettled`.
        """
        ...

    def count_without_order(self, since: datetime) -> int:
        """Payments created since ``since`` whose order does not exist."""
        ...


class DiscountRepository(Protocol):
    """Coupons and their redemptions. The limits are kept by the store, atomically."""

    def add_coupon(self, coupon: Coupon) -> None:
        """Store a new coupon (by its normalised code)."""
        ...

    def coupon(self, code: str, *, user_id: str | None) -> tuple[Coupon, CouponUsage] | None:
        """The coupon with ``code`` and how often it was redeemed, in all and by ``user_id``."""
        ...

    def redeem(self, redemption: CouponRedemption) -> None:
        """Record one use of a coupon by an order, within the coupon's limits.

        Atomic against every concurrent redemption: the total and the
        per-user limits are never exceeded. Redeeming again for the same
        order is a no-op.

        Raises:
            CouponInvalid: there is no such coupon.
            CouponExhausted: the total limit is reached.
            CouponUserLimitReached: the buyer's limit is reached.
        """
        ...

    def release(self, coupon_code: str, order_token: str, now: datetime) -> bool:
        """Give back the use an order made of a coupon; ``False`` if there was none to give."""
        ...


class EnrollmentRepository(Protocol):
    """Enrollments: one per (order, offering), whatever happens."""

    def add_missing(self, enrollments: Sequence[Enrollment]) -> list[Enrollment]:
        """Store the enrollments not stored yet (by order and offering); return those added."""
        ...

    def for_order(self, order_token: str) -> list[Enrollment]:
        """The enrollments an order made."""
        ...


class IdempotencyStore(Protocol):
    """Idempotency records by key. The store, not the code, makes a claim exclusive."""

    def get(self, key: str) -> IdempotencyRecord | None:
        """The record of ``key``, if any."""
        ...

    def claim(self, record: IdempotencyRecord, *, replacing: IdempotencyRecord | None) -> bool:
        """Store the in-progress ``record`` if nobody else holds its key.

        With ``replacing`` (an expired or abandoned record read before), the
        claim succeeds only if that record is still the one stored. Returns
        whether this caller now holds the key.
        """
        ...

    def complete(self, record: IdempotencyRecord) -> None:
        """Store the completed ``record`` with the response to replay."""
        ...

    def release(self, key: str, fingerprint: str) -> None:
        """Drop an in-progress claim after a fault, so a retry can proceed."""
        ...


class WebhookInbox(Protocol):
    """Every webhook delivery, once per ``(provider, event_id)``, with what became of it."""

    def record(self, entry: InboxEntry) -> bool:
        """Record a delivery; ``False`` when it was recorded before (a repeat: apply nothing).

        Atomic against concurrent deliveries of the same event: exactly one
        caller gets ``True``.
        """
        ...

    def mark(self, provider: str, event_id: str, status: InboxStatus, detail: str | None) -> None:
        """Say what became of a recorded delivery."""
        ...

    def get(self, provider: str, event_id: str) -> InboxEntry | None:
        """The recorded delivery, if any."""
        ...

    def get_many(self, provider: str, event_ids: Collection[str]) -> dict[str, InboxEntry]:
        """The recorded deliveries of ``provider`` among ``event_ids``, by event id."""
        ...

    def record_many(self, entries: Sequence[InboxEntry]) -> int:
        """Record deliveries in one go, skipping those recorded before; return how many were new."""
        ...

    def mark_many(self, provider: str, event_ids: Collection[str], status: InboxStatus) -> int:
        """Give the recorded deliveries among ``event_ids`` ``status``; return how many."""
        ...

    def reclaim(self, provider: str, event_id: str, at: datetime) -> None:
        """Take over a recorded delivery whose handler died: claimed again, since ``at``."""
        ...

    def stale_claims(  # noqa: PLR0913 - a window, and a batch after a cursor
        self,
        provider: str,
        type: str,  # noqa: A002 - the entries' field is named type
        claimed_from: datetime,
        claimed_before: datetime,
        *,
        after: InboxEntry | None,
        limit: int,
    ) -> list[InboxEntry]:
        """Up to ``limit`` entries of ``provider`` and ``type`` claimed and never finished.

        That is entries still claimed whose claim (``received_at``) is in
        ``[claimed_from, claimed_before)``: a consumer took them and neither
        finished nor gave them up since. They come in ``(received_at,
        event_id)`` order, after ``after`` (the last entry of the previous
        batch) when it is given. Nothing is locked.
        """
        ...


class Outbox(Protocol):
    """Events waiting to be published, written with the change that made them."""

    def append(self, event: DomainEvent) -> None:
        """Queue ``event``; it is published only if the transaction commits."""
        ...

    def count_unsent(self, occurred_before: datetime) -> int:
        """Events that occurred before ``occurred_before`` and were never relayed.

        An outbox read by its consumers directly (no relay) has nothing to
        relay, and answers 0.
        """
        ...

    def relayed(self, name: str, order_tokens: Collection[str]) -> list[RelayedEvent]:
        """The events called ``name`` of the orders ``order_tokens`` that a relay marked sent.

        Oldest first (in the order they were appended). Events not marked
        sent are left out: those waiting for the relay, and every event of
        an outbox read by its consumers directly.
        """
        ...

    def relayed_events(self, event_ids: Collection[str]) -> list[RelayedEvent]:
        """The events among ``event_ids`` that a relay marked sent, oldest first.

        As :meth:`relayed`, found by their ids rather than by their orders.
        """
        ...

    def resend(self, events: Collection[RelayedEvent]) -> int:
        """Mark ``events`` unsent again, for the relay to publish them once more; return how many.

        Each is marked only if it is still marked sent at its ``sent_at``: an
        event a relay published again since it was read is left as it is.
        """
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository: ``with uow: ...; uow.commit()``.

    Leaving the block without :meth:`commit` rolls back. The catalog is read
    through the unit of work too, so a price and the order it goes into come
    from one consistent view (and an embedded database needs one connection).
    """

    catalog: Catalog
    carts: CartRepository
    orders: OrderRepository
    payments: PaymentRepository
    discounts: DiscountRepository
    enrollments: EnrollmentRepository
    idempotency: IdempotencyStore
    inbox: WebhookInbox
    outbox: Outbox

    def __enter__(self) -> Self:
        """Begin the transaction."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """End the transaction, rolling back what was not committed."""
        ...

    def commit(self) -> None:
        """Make everything written in this transaction durable and visible."""
        ...

    def rollback(self) -> None:
        """Forget everything written in this transaction."""
        ...


class UnitOfWorkFactory(Protocol):
    """Makes a fresh unit of work for each transaction."""

    def __call__(self) -> UnitOfWork:
        """A new, not yet begun, unit of work."""
        ...


class CartCache(Protocol):
    """A fast copy of carts, never the record: what it lacks is read from the repository."""

    def get(self, token: str) -> Cart | None:
        """The cached cart, or ``None`` on a miss."""
        ...

    def put(self, cart: Cart, ttl: timedelta) -> None:
        """Cache ``cart`` for ``ttl``."""
        ...

    def invalidate(self, token: str) -> None:
        """Forget the cart with ``token``."""
        ...


class PaymentGateway(Protocol):
    """A payment provider: sessions, status, refunds and webhooks."""

    @property
    def provider(self) -> str:
        """The provider's name as stored on payments (``"razorpay"``)."""
        ...

    def available(self) -> bool:
        """Whether calls may be made now; a circuit breaker in front of a provider may say no."""
        ...

    def create_session(self, request: PaymentSessionRequest) -> PaymentSession:
        """Open a payment session the buyer pays through.

        Raises:
            GatewayError: the provider could not be reached or refused.
        """
        ...

    def fetch_status(self, provider_ref: str) -> ProviderStatus:
        """Ask the provider what became of a payment session."""
        ...

    def refund(self, request: RefundRequest) -> RefundReceipt:
        """Refund some or all of a captured payment."""
        ...

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify a webhook on its raw body and read it.

        Raises:
            WebhookSignatureInvalid: the signature does not verify.
        """
        ...


class NotificationSender(Protocol):
    """Delivers messages to buyers (email, or a log in the embedded default)."""

    def send(self, notification: Notification) -> None:
        """Deliver ``notification``; raises when it could not be delivered."""
        ...


class AnalyticsTracker(Protocol):
    """Records events worth counting (conversions and their attribution)."""

    def track(self, event: AnalyticsEvent) -> None:
        """Record ``event``."""
        ...


class AlertSink(Protocol):
    """Tells a person that something needs looking at."""

    def send(self, alert: Alert) -> None:
        """Raise ``alert``."""
        ...


class BreakerStore(Protocol):
    """Where circuit breakers live: in the process, or shared by every process (Redis)."""

    def get(self, name: str) -> CircuitBreaker:
        """The breaker called ``name`` as it stands (a new, closed one if never stored)."""
        ...

    def update(self, name: str, change: Callable[[CircuitBreaker], tuple[T, CircuitBreaker]]) -> T:
        """Replace the breaker ``name`` by what ``change`` makes of it, atomically.

        ``change`` returns a verdict and the new breaker; the verdict is returned.
        """
        ...


class MessageQueue(Protocol):
    """Events on their way from the outbox to the workers: at least once, in order, retried.

    One queue carries every event; each consumer group (the enrollment
    worker, ...) gets every message, and within a group each message goes to
    one consumer at a time. A message not acknowledged within
    ``visibility`` is delivered again, to any consumer of the group: a
    consumer that died does not lose it.
    """

    def publish(self, event: DomainEvent) -> None:
        """Put ``event`` on the queue (after it was committed to the outbox)."""
        ...

    def receive(
        self, group: str, consumer: str, *, limit: int, wait: timedelta, visibility: timedelta
    ) -> list[Delivery]:
        """Up to ``limit`` deliveries for ``consumer`` of ``group``, waiting up to ``wait``.

        Messages due again (retried later, or unacknowledged past
        ``visibility``) come first, then new ones in the order published.
        """
        ...

    def ack(self, group: str, delivery: Delivery) -> None:
        """The group is done with the message: it is never delivered to the group again."""
        ...

    def ack_many(self, group: str, deliveries: Sequence[Delivery]) -> None:
        """:meth:`ack` each of ``deliveries``, in as few round trips as the queue allows."""
        ...

    def retry_later(self, group: str, delivery: Delivery, delay: timedelta, error: str) -> None:
        """Deliver the message to the group again after ``delay``, one attempt later."""
        ...

    def dead_letter(self, group: str, delivery: Delivery, error: str) -> None:
        """Give up on the message for the group: keep it as a dead letter, with ``error``."""
        ...

    def dead_letters(self, group: str, *, limit: int = 100) -> list[DeadLetter]:
        """The group's dead letters, oldest first."""
        ...

    def replay(self, group: str, message_ids: Collection[str] | None = None) -> int:
        """Deliver dead letters to the group again, as new attempts; all when no ids are given."""
        ...


class RateLimiter(Protocol):
    """Counts attempts per key against a :class:`~checkout_core.domain.limits.RateLimit`."""

    def hit(self, limit: RateLimit, key: str) -> RateDecision:
        """Count one attempt of ``key`` under ``limit``; the verdict says whether it may go on."""
        ...


class IdempotencyCache(Protocol):
    """A fast path in front of the idempotency records; the database stays the record of truth."""

    def completed(self, key: str) -> IdempotencyRecord | None:
        """The completed record of ``key`` if the cache holds it."""
        ...

    def claim(self, key: str, fingerprint: str, ttl: timedelta) -> bool:
        """Mark ``key`` in progress for ``ttl`` unless it already is; whether this caller did."""
        ...

    def store(self, record: IdempotencyRecord) -> None:
        """Keep a completed record until it expires, for replays that need no database."""
        ...

    def release(self, key: str) -> None:
        """Forget an in-progress mark after the request behind it failed."""
        ...


@frozen
class LockLease:
    """A held lock: its name, a fencing token that grows with every grant, and its expiry."""

    name: str
    fencing_token: int
    expires_at: datetime


class Lock(Protocol):
    """A lock shared by every instance, so that one of them runs a job at a time."""

    def acquire(self, name: str, ttl: timedelta) -> LockLease | None:
        """Take the lock ``name`` for ``ttl``; ``None`` when someone else holds it."""
        ...

    def release(self, lease: LockLease) -> None:
        """Give the lock back, if ``lease`` still holds it."""
        ...
