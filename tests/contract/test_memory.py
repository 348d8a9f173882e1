from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from checkout_adapters.demo import demo_catalog
from checkout_adapters.memory import (
    FAKE_SIGNATURE_HEADER,
    FakeGateway,
    FixedClock,
    InMemoryCartCache,
    InMemoryCatalog,
    InMemoryIdempotencyCache,
    InMemoryLock,
    InMemoryQueue,
    InMemoryRateLimiter,
    InMemoryRelay,
    InMemoryStore,
    InMemoryUnitOfWorkFactory,
    LogAlertSink,
    LogNotificationSender,
    RecordingAlertSink,
    RecordingAnalyticsTracker,
    RecordingNotificationSender,
)
from checkout_adapters.system import SystemClock
from checkout_core.domain.catalog import Offering, Sale
from checkout_core.domain.events import DomainEvent, OrderCompleted
from checkout_core.domain.gateway import (
    GatewayError,
    PaymentSession,
    PaymentSessionRequest,
    ProviderPaymentState,
    ProviderStatus,
    RefundRequest,
    SessionLine,
    WebhookEvent,
    WebhookSignatureInvalid,
)
from checkout_core.domain.messages import (
    Alert,
    AlertSeverity,
    AnalyticsEvent,
    Notification,
)
from checkout_core.domain.payment_events import PaymentEvent, PaymentEventKind
from checkout_core.errors import InvalidRequest
from checkout_core.ports import (
    AlertSink,
    AnalyticsTracker,
    CartCache,
    Catalog,
    IdempotencyCache,
    Lock,
    MessageQueue,
    NotificationSender,
    PaymentGateway,
    RateLimiter,
    UnitOfWork,
    UnitOfWorkFactory,
)
from tests.contract.cache import CartCacheContract
from tests.contract.catalog import CatalogContract, CatalogFactory
from tests.contract.idempotency_cache import IdempotencyCacheContract
from tests.contract.limits import RateLimiterContract
from tests.contract.lock import LockContract
from tests.contract.operations import OperationsContract, RelayOutbox
from tests.contract.queue import MessageQueueContract, Publish, make_event
from tests.contract.unit_of_work import (
    INR,
    NOW,
    OutboxReader,
    UnitOfWorkContract,
    make_cart,
    make_order,
    read,
    write,
)

SECRET = "whsec_test"

# The contracts, on the memory adapters.


class TestInMemoryUnitOfWork(UnitOfWorkContract):
    programming_errors = (ValueError,)

    @pytest.fixture
    def store(self) -> InMemoryStore:
        return InMemoryStore()

    @pytest.fixture
    def uow_factory(self, store: InMemoryStore) -> UnitOfWorkFactory:
        return InMemoryUnitOfWorkFactory(store)

    @pytest.fixture
    def read_outbox(self, store: InMemoryStore) -> OutboxReader:
        return lambda: [(event.name, event.event_id) for event in store.outbox_events()]


class TestInMemoryOperations(OperationsContract):
    # The in-memory queue reads the outbox itself: nothing ever waits for a relay.
    relays_outbox = False

    @pytest.fixture
    def store(self) -> InMemoryStore:
        return InMemoryStore()

    @pytest.fixture
    def uow_factory(self, store: InMemoryStore) -> UnitOfWorkFactory:
        return InMemoryUnitOfWorkFactory(store)

    @pytest.fixture
    def relay_outbox(self, store: InMemoryStore) -> RelayOutbox:
        def relay(at: datetime) -> list[str]:
            recorder = _Recorder()
            InMemoryRelay(store, recorder, clock=FixedClock(at), batch_size=1_000).relay_once()
            return [event.event_id for event in recorder.published]

        return relay


class TestInMemoryQueue(MessageQueueContract):
    @pytest.fixture
    def store(self) -> InMemoryStore:
        return InMemoryStore()

    @pytest.fixture
    def queue(self, clock: FixedClock, store: InMemoryStore) -> MessageQueue:
        return InMemoryQueue(store, clock)

    @pytest.fixture
    def publish(self, store: InMemoryStore) -> Publish:
        # Committed to the outbox, as the services do: the queue reads the outbox.
        factory = InMemoryUnitOfWorkFactory(store)
        return lambda event: write(factory, lambda uow: uow.outbox.append(event))


class TestInMemoryCatalog(CatalogContract):
    @pytest.fixture
    def make_catalog(self) -> CatalogFactory:
        def make(offerings: Sequence[Offering], sales: Sequence[Sale]) -> Catalog:
            return InMemoryCatalog(offerings, sales)

        return make


class TestInMemoryCartCache(CartCacheContract):
    @pytest.fixture
    def cart_cache(self, clock: FixedClock) -> CartCache:
        return InMemoryCartCache(clock)


class TestInMemoryLock(LockContract):
    @pytest.fixture
    def lock(self, clock: FixedClock) -> Lock:
        return InMemoryLock(clock)


class TestInMemoryRateLimiter(RateLimiterContract):
    @pytest.fixture
    def limiter(self, clock: FixedClock) -> RateLimiter:
        return InMemoryRateLimiter(clock)


class TestInMemoryIdempotencyCache(IdempotencyCacheContract):
    @pytest.fixture
    def idempotency_cache(self) -> IdempotencyCache:
        return InMemoryIdempotencyCache(SystemClock())


# What only the memory adapters do.


_DUNDER_MEMBERS = frozenset({"__call__", "__enter__", "__exit__"})


def _members(port: type) -> set[str]:
    names = set(vars(port).get("__annotations__", {}))
    names |= {
        name for name, value in vars(port).items() if callable(value) or isinstance(value, property)
    }
    return {name for name in names if not name.startswith("_") or name in _DUNDER_MEMBERS}


def test_every_memory_adapter_fits_its_port() -> None:
    # The annotations are checked by mypy; the loop checks that nothing is missing at run time.
    clock = FixedClock(NOW)
    uow_factory: UnitOfWorkFactory = InMemoryUnitOfWorkFactory()
    catalog: Catalog = InMemoryCatalog([], [])
    cache: CartCache = InMemoryCartCache(clock)
    lock: Lock = InMemoryLock(clock)
    gateway: PaymentGateway = FakeGateway(SECRET, clock)
    senders: list[NotificationSender] = [RecordingNotificationSender(), LogNotificationSender()]
    tracker: AnalyticsTracker = RecordingAnalyticsTracker()
    sinks: list[AlertSink] = [RecordingAlertSink(), LogAlertSink()]
    pairs: list[tuple[type, object]] = [
        (UnitOfWorkFactory, uow_factory),
        (UnitOfWork, uow_factory()),
        (Catalog, catalog),
        (CartCache, cache),
        (Lock, lock),
        (PaymentGateway, gateway),
        *((NotificationSender, sender) for sender in senders),
        (AnalyticsTracker, tracker),
        *((AlertSink, sink) for sink in sinks),
    ]

    for port, adapter in pairs:
        missing = {name for name in _members(port) if not hasattr(adapter, name)}
        assert not missing, f"{type(adapter).__name__} lacks {missing} of {port.__name__}"


def test_the_port_members_are_found() -> None:
    assert _members(UnitOfWork) == {
        "catalog", "carts", "orders", "payments", "discounts", "enrollments", "idempotency",
        "inbox",
        "outbox",
        "__enter__", "__exit__", "commit", "rollback",
    }  # fmt: skip
    assert _members(PaymentGateway) == {
        "provider", "available", "create_session", "fetch_status", "refund", "parse_webhook",
    }  # fmt: skip


# The in-memory unit of work.


def test_a_unit_of_work_cannot_be_used_outside_its_block() -> None:
    uow = InMemoryUnitOfWorkFactory()()

    with pytest.raises(RuntimeError, match="outside"):
        uow.carts.get("cart_1")
    with uow:
        pass
    with pytest.raises(RuntimeError, match="outside"):
        uow.carts.add(make_cart())
    with pytest.raises(RuntimeError, match="outside"):
        uow.commit()


def test_a_unit_of_work_cannot_be_entered_while_it_is_open() -> None:
    uow = InMemoryUnitOfWorkFactory()()

    with uow, pytest.raises(RuntimeError, match="one transaction at a time"):
        uow.__enter__()


def test_a_unit_of_work_can_be_used_again_once_its_block_is_left() -> None:
    factory = InMemoryUnitOfWorkFactory()
    uow = factory()
    with uow:
        uow.carts.add(make_cart())
        uow.commit()

    with uow:
        uow.carts.add(make_cart("cart_2"))

    assert read(factory, lambda again: again.carts.get("cart_1")) == make_cart()
    assert read(factory, lambda again: again.carts.get("cart_2")) is None


def test_writes_after_a_commit_are_undone_when_the_block_is_left_without_another() -> None:
    factory = InMemoryUnitOfWorkFactory()

    with factory() as uow:
        uow.carts.add(make_cart("cart_1"))
        uow.commit()
        uow.carts.add(make_cart("cart_2"))
        uow.carts.update(make_cart("cart_1").convert())

    with factory() as uow:
        assert uow.carts.get("cart_1") == make_cart("cart_1")
        assert uow.carts.get("cart_2") is None


def test_the_units_of_work_of_one_factory_share_its_store() -> None:
    store = InMemoryStore()
    first, second = InMemoryUnitOfWorkFactory(store), InMemoryUnitOfWorkFactory(store)

    write(first, lambda uow: uow.carts.add(make_cart()))

    assert read(second, lambda uow: uow.carts.get("cart_1")) == make_cart()
    assert InMemoryUnitOfWorkFactory().store is not store


def test_the_outbox_gives_back_the_committed_events_themselves() -> None:
    store = InMemoryStore()
    event = OrderCompleted.of("evt_1", make_order(), NOW)

    write(InMemoryUnitOfWorkFactory(store), lambda uow: uow.outbox.append(event))

    assert store.outbox_events() == [event]


def test_a_payment_reference_cannot_belong_to_two_payments() -> None:
    from tests.contract.unit_of_work import make_payment  # noqa: PLC0415 - one test uses it

    factory = InMemoryUnitOfWorkFactory()
    write(factory, lambda uow: uow.payments.add(make_payment().attach_session("ref_1", NOW)))

    with factory() as uow, pytest.raises(ValueError, match="belongs to payment pay_1"):
        uow.payments.add(make_payment("pay_2").attach_session("ref_1", NOW))


# The queue over the outbox, and the relay.


def test_the_memory_queue_fits_its_port() -> None:
    queue: MessageQueue = InMemoryQueue(InMemoryStore(), FixedClock(NOW))

    missing = {name for name in _members(MessageQueue) if not hasattr(queue, name)}

    assert not missing


def test_publishing_an_event_already_in_the_outbox_adds_nothing() -> None:
    store = InMemoryStore()
    queue = InMemoryQueue(store, FixedClock(NOW))
    write(InMemoryUnitOfWorkFactory(store), lambda uow: uow.outbox.append(make_event(1)))

    queue.publish(make_event(1))
    queue.publish(make_event(2))
    queue.publish(make_event(2))

    assert store.outbox_events() == [make_event(1), make_event(2)]


def test_the_queue_never_sees_an_event_rolled_back() -> None:
    store = InMemoryStore()
    queue = InMemoryQueue(store, FixedClock(NOW))
    with InMemoryUnitOfWorkFactory(store)() as uow:
        uow.outbox.append(make_event(1))
    write(InMemoryUnitOfWorkFactory(store), lambda uow: uow.outbox.append(make_event(2)))

    deliveries = queue.receive(
        "enrollment", "worker-1", limit=10, wait=timedelta(0), visibility=timedelta(seconds=30)
    )

    assert [delivery.event for delivery in deliveries] == [make_event(2)]


def _append(event: DomainEvent, uow: UnitOfWork) -> None:
    uow.outbox.append(event)


class _Recorder:
    def __init__(self) -> None:
        self.published: list[DomainEvent] = []

    def publish(self, event: DomainEvent) -> None:
        self.published.append(event)


def test_the_memory_relay_publishes_committed_events_in_order_marking_each_sent() -> None:
    store = InMemoryStore()
    factory = InMemoryUnitOfWorkFactory(store)
    recorder = _Recorder()
    clock = FixedClock(NOW)
    relay = InMemoryRelay(store, recorder, clock=clock, batch_size=2)
    for event in map(make_event, (1, 2, 3)):
        write(factory, functools.partial(_append, event))

    counts = [relay.relay_once() for _ in range(3)]
    clock.advance(timedelta(minutes=1))
    write(factory, lambda uow: uow.outbox.append(make_event(4)))

    assert counts == [2, 1, 0]
    # The marks are the store's: a relay made afresh publishes only what was never sent.
    assert InMemoryRelay(store, recorder, clock=clock).relay_once() == 1
    assert relay.relay_once() == 0
    assert recorder.published == [make_event(n) for n in (1, 2, 3, 4)]
    assert list(store.outbox_sent.values()) == [NOW] * 3 + [NOW + timedelta(minutes=1)]
    with pytest.raises(ValueError, match="at least one"):
        InMemoryRelay(store, recorder, clock=clock, batch_size=0)


class _FailsOnSecond(_Recorder):
    def publish(self, event: DomainEvent) -> None:
        if self.published:
            raise ConnectionError(event.event_id)
        super().publish(event)


def test_the_memory_relay_leaves_unsent_what_the_queue_did_not_take() -> None:
    store = InMemoryStore()
    factory = InMemoryUnitOfWorkFactory(store)
    for event in map(make_event, (1, 2, 3)):
        write(factory, functools.partial(_append, event))
    failing = _FailsOnSecond()

    with pytest.raises(ConnectionError, match="evt_2"):
        InMemoryRelay(store, failing, clock=FixedClock(NOW)).relay_once()
    recorder = _Recorder()
    relayed = InMemoryRelay(store, recorder, clock=FixedClock(NOW)).relay_once()

    assert failing.published == [make_event(1)]
    assert relayed == 2
    assert recorder.published == [make_event(2), make_event(3)]


# The catalog, the cache and the lock.


def test_the_catalog_takes_the_demo_mappings_as_they_are() -> None:
    demo = demo_catalog()

    catalog = InMemoryCatalog(demo.offerings, demo.sales)

    assert dict(catalog.offerings(demo.offerings)) == dict(demo.offerings)
    assert catalog.sale("summer2024") == demo.sales["summer2024"]


def test_the_catalog_refuses_an_offering_or_a_sale_given_twice() -> None:
    demo = demo_catalog()
    offering = demo.offerings["int_123"]
    sale = demo.sales["summer2024"]

    with pytest.raises(ValueError, match="int_123"):
        InMemoryCatalog([offering, offering])
    with pytest.raises(ValueError, match="summer2024"):
        InMemoryCatalog([offering], [sale, sale])


def test_the_cache_forgets_expired_then_oldest_carts_beyond_its_size() -> None:
    clock = FixedClock(NOW)
    cache = InMemoryCartCache(clock, max_entries=2)
    cache.put(make_cart("cart_1"), timedelta(minutes=1))
    cache.put(make_cart("cart_2"), timedelta(hours=1))
    cache.put(make_cart("cart_3"), timedelta(hours=1))
    assert [cache.get(token) is not None for token in ("cart_1", "cart_2", "cart_3")] == [
        False,
        True,
        True,
    ]

    clock.advance(timedelta(minutes=5))
    cache.put(make_cart("cart_4"), timedelta(hours=1))

    assert [cache.get(token) is not None for token in ("cart_2", "cart_3", "cart_4")] == [
        False,
        True,
        True,
    ]


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(seconds=-1)])
def test_the_cache_and_the_lock_refuse_a_lifetime_that_is_not_positive(ttl: timedelta) -> None:
    clock = FixedClock(NOW)

    with pytest.raises(ValueError, match="positive"):
        InMemoryCartCache(clock).put(make_cart(), ttl)
    with pytest.raises(ValueError, match="positive"):
        InMemoryLock(clock).acquire("job", ttl)


def test_the_cache_keeps_at_least_one_entry() -> None:
    with pytest.raises(ValueError, match="at least one"):
        InMemoryCartCache(FixedClock(NOW), max_entries=0)


# Senders.


def _notification(template: str = "welcome") -> Notification:
    return Notification(template, "usr_1", "ord_1", {"name": "Asha"})


def test_the_recording_sender_keeps_what_it_sends() -> None:
    sender = RecordingNotificationSender()

    sender.send(_notification("welcome"))
    sender.send(_notification("order_confirmation"))

    assert sender.sent == [_notification("welcome"), _notification("order_confirmation")]


def test_the_recording_sender_fails_as_often_as_told_then_delivers() -> None:
    sender = RecordingNotificationSender()
    sender.fail_next(2)

    for _ in range(2):
        with pytest.raises(ConnectionError, match="welcome"):
            sender.send(_notification())
    sender.send(_notification())

    assert sender.sent == [_notification()]


def test_the_log_sender_writes_the_notification_to_its_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="checkout.notifications"):
        LogNotificationSender().send(_notification())

    (record,) = caplog.records
    assert record.levelno == logging.INFO
    assert record.name == "checkout.notifications"
    assert record.getMessage() == (
        "notification welcome to user usr_1 about order ord_1: {'name': 'Asha'}"
    )


def test_the_recording_tracker_keeps_every_event() -> None:
    tracker = RecordingAnalyticsTracker()
    event = AnalyticsEvent("conversion", NOW, "ord_1", "usr_1", 16_983_00, "INR", {"source": "x"})

    tracker.track(event)

    assert tracker.events == [event]


def _alert(severity: AlertSeverity) -> Alert:
    return Alert(severity, "Dead letter", "order.paid evt_1 failed 5 times", NOW)


def test_the_recording_sink_keeps_every_alert() -> None:
    sink = RecordingAlertSink()

    sink.send(_alert(AlertSeverity.CRITICAL))

    assert sink.alerts == [_alert(AlertSeverity.CRITICAL)]


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        (AlertSeverity.INFO, logging.INFO),
        (AlertSeverity.WARNING, logging.WARNING),
        (AlertSeverity.CRITICAL, logging.CRITICAL),
    ],
)
def test_the_log_sink_logs_an_alert_at_the_level_of_its_severity(
    caplog: pytest.LogCaptureFixture, severity: AlertSeverity, level: int
) -> None:
    with caplog.at_level(logging.INFO, logger="checkout.alerts"):
        LogAlertSink().send(_alert(severity))

    (record,) = caplog.records
    assert record.levelno == level
    assert record.getMessage() == f"alert ({severity}) Dead letter: order.paid evt_1 failed 5 times"


# The fake gateway.


def _request(attempt: int = 1, amount: int = 16_983_00) -> PaymentSessionRequest:
    return PaymentSessionRequest(
        payment_id="pay_1",
        order_token="ord_1",
        amount=amount,
        currency=INR,
        lines=(SessionLine("Backend Engineering Internship", amount),),
        user_id="usr_1",
        attempt=attempt,
        idempotency_key=f"pay_1:{attempt}",
    )


def _refund(key: str = "rfnd:pay_1:1", amount: int = 500_00) -> RefundRequest:
    return RefundRequest("pay_1", "fake_pay_1_1", amount, INR, key)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def gateway(clock: FixedClock) -> FakeGateway:
    return FakeGateway(SECRET, clock)


def test_the_fake_gateway_opens_a_session_per_payment_attempt(gateway: FakeGateway) -> None:
    first = gateway.create_session(_request(attempt=1))
    second = gateway.create_session(_request(attempt=2))

    assert gateway.provider == "fake"
    assert first == PaymentSession("fake", "fake_pay_1_1", "https://pay.invalid/fake_pay_1_1")
    assert second.provider_ref == "fake_pay_1_2"
    assert gateway.requests == [_request(attempt=1), _request(attempt=2)]
    assert gateway.sessions == [first, second]


def test_the_fake_gateway_gives_the_same_session_for_the_same_idempotency_key(
    gateway: FakeGateway,
) -> None:
    first = gateway.create_session(_request())

    again = gateway.create_session(_request())

    assert again == first
    assert gateway.sessions == [first]
    assert len(gateway.requests) == 2


def test_the_fake_gateway_refuses_an_idempotency_key_reused_for_another_request(
    gateway: FakeGateway,
) -> None:
    gateway.create_session(_request())

    with pytest.raises(GatewayError, match="another session") as raised:
        gateway.create_session(_request(amount=1))

    assert raised.value.retryable is False
    assert raised.value.provider == "fake"


@pytest.mark.parametrize("retryable", [True, False])
def test_the_fake_gateway_fails_as_often_as_told_then_answers(
    gateway: FakeGateway, *, retryable: bool
) -> None:
    gateway.fail_next(2, retryable=retryable)

    errors = []
    for call in (lambda: gateway.create_session(_request()), lambda: gateway.refund(_refund())):
        with pytest.raises(GatewayError) as raised:
            call()
        errors.append(raised.value)
    session = gateway.create_session(_request())

    assert [error.retryable for error in errors] == [retryable, retryable]
    assert session.provider_ref == "fake_pay_1_1"
    assert len(gateway.requests) == 2
    assert gateway.sessions == [session]


def test_the_fake_gateway_answers_status_queries_as_the_test_sets_them(
    gateway: FakeGateway,
) -> None:
    session = gateway.create_session(_request())
    pending = gateway.fetch_status(session.provider_ref)
    captured = ProviderStatus(
        session.provider_ref, ProviderPaymentState.CAPTURED, 16_983_00, "pay_Nx1"
    )

    gateway.set_status(captured)

    assert pending == ProviderStatus("fake_pay_1_1", ProviderPaymentState.PENDING)
    assert gateway.fetch_status("fake_pay_1_1") == captured


def test_the_fake_gateway_knows_no_status_of_a_payment_it_never_saw(gateway: FakeGateway) -> None:
    with pytest.raises(GatewayError, match="fake_pay_9_1") as raised:
        gateway.fetch_status("fake_pay_9_1")

    assert raised.value.retryable is False


def test_a_status_query_can_be_made_to_fail(gateway: FakeGateway) -> None:
    gateway.set_status(ProviderStatus("fake_pay_1_1", ProviderPaymentState.FAILED))
    gateway.fail_next()

    with pytest.raises(GatewayError, match="fetch_status"):
        gateway.fetch_status("fake_pay_1_1")
    assert gateway.fetch_status("fake_pay_1_1").state is ProviderPaymentState.FAILED


def test_the_fake_gateway_records_refunds_and_repeats_a_receipt_for_the_same_key(
    gateway: FakeGateway,
) -> None:
    first = gateway.refund(_refund("rfnd:1"))
    again = gateway.refund(_refund("rfnd:1"))
    second = gateway.refund(_refund("rfnd:2", amount=100_00))

    assert first == again
    assert (first.amount, first.pending) == (500_00, False)
    assert second.refund_id != first.refund_id
    assert gateway.refunds == [_refund("rfnd:1"), _refund("rfnd:1"), _refund("rfnd:2", 100_00)]
    with pytest.raises(GatewayError, match="another refund"):
        gateway.refund(_refund("rfnd:1", amount=1))


def _signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    # Computed here, not by the gateway, so the test pins the scheme itself.
    return {"X-Fake-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def test_a_signed_webhook_is_read_into_a_payment_event(gateway: FakeGateway) -> None:
    body = json.dumps(
        {
            "event_id": "evt_1",
            "type": "payment.captured",
            "provider_ref": "fake_pay_1_1",
            "kind": "captured",
            "amount": 16_983_00,
        }
    ).encode()

    event = gateway.parse_webhook(_signed(body), body)

    assert event == WebhookEvent(
        provider="fake",
        event_id="evt_1",
        type="payment.captured",
        provider_ref="fake_pay_1_1",
        payment_event=PaymentEvent.captured(16_983_00, NOW),
    )


def test_a_webhook_says_when_it_happened_or_is_dated_by_the_clock(
    gateway: FakeGateway, clock: FixedClock
) -> None:
    at = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    headers, body = gateway.webhook(
        event_id="evt_2",
        type="payment.failed",
        provider_ref="fake_pay_1_1",
        kind=PaymentEventKind.FAILED,
        failure_code="card_declined",
        failure_reason="Declined",
        occurred_at=at,
    )
    clock.advance(timedelta(hours=1))

    event = gateway.parse_webhook(headers, body)

    assert event.payment_event == PaymentEvent.failed(at, "card_declined", "Declined")


def test_a_refund_webhook_carries_its_refund_id(gateway: FakeGateway) -> None:
    headers, body = gateway.webhook(
        event_id="evt_3",
        type="refund.processed",
        provider_ref="fake_pay_1_1",
        kind=PaymentEventKind.REFUNDED,
        amount=500_00,
        refund_id="rfnd_1",
    )

    event = gateway.parse_webhook(headers, body)

    assert event.payment_event == PaymentEvent.refunded("rfnd_1", 500_00, NOW)


def test_a_webhook_without_a_kind_is_recorded_without_a_payment_event(
    gateway: FakeGateway,
) -> None:
    headers, body = gateway.webhook(
        event_id="evt_4", type="session.opened", provider_ref=None, kind=None
    )

    event = gateway.parse_webhook(headers, body)

    assert (event.event_id, event.type, event.provider_ref) == ("evt_4", "session.opened", None)
    assert event.payment_event is None


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-signature"),
        pytest.param({FAKE_SIGNATURE_HEADER: ""}, id="empty-signature"),
        pytest.param({FAKE_SIGNATURE_HEADER: "00" * 32}, id="wrong-signature"),
        pytest.param({"x-other-signature": "placeholder"}, id="other-header"),
    ],
)
def test_a_webhook_without_a_valid_signature_is_refused(
    gateway: FakeGateway, headers: dict[str, str]
) -> None:
    _, body = gateway.webhook(event_id="evt_5", type="t", provider_ref="r", kind=None)
    if "x-other-signature" in headers:
        headers = {"x-other-signature": gateway.sign(body)}

    with pytest.raises(WebhookSignatureInvalid):
        gateway.parse_webhook(headers, body)


def test_a_webhook_signed_with_another_secret_or_altered_is_refused(
    gateway: FakeGateway,
) -> None:
    headers, body = gateway.webhook(
        event_id="evt_6", type="t", provider_ref="r", kind=PaymentEventKind.CAPTURED, amount=1
    )

    with pytest.raises(WebhookSignatureInvalid):
        gateway.parse_webhook(_signed(body, "whsec_other"), body)
    with pytest.raises(WebhookSignatureInvalid):
        gateway.parse_webhook(headers, body.replace(b'"amount": 1', b'"amount": 9'))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(b'{"type": "t"}', id="no-event-id"),
        pytest.param(b'{"event_id": "e", "type": "t", "kind": "teleported"}', id="unknown-kind"),
        pytest.param(
            b'{"event_id": "e", "type": "t", "kind": "captured", "amount": "12"}',
            id="amount-as-text",
        ),
        pytest.param(
            b'{"event_id": "e", "type": "t", "kind": "captured", "occurred_at": "noon"}',
            id="bad-time",
        ),
        pytest.param(
            b'{"event_id": "e", "type": "t", "kind": "refunded", "amount": 5}',
            id="refund-without-id",
        ),
    ],
)
def test_a_signed_webhook_that_is_not_a_delivery_is_an_invalid_request(
    gateway: FakeGateway, body: bytes
) -> None:
    with pytest.raises(InvalidRequest):
        gateway.parse_webhook(_signed(body), body)


def test_the_fake_gateway_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        FakeGateway("")


def test_the_fake_gateway_does_not_show_its_secret() -> None:
    assert SECRET not in repr(FakeGateway(SECRET, FixedClock(NOW)))
