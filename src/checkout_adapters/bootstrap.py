"""The composition root: adapters chosen and wired into a Checkout.

:func:`embedded` builds the embedded default: records in SQLite (in memory
unless a file URL is given), the cart cache and everything else in memory,
notifications and analytics to the log, and payments through the Razorpay
adapter talking to the gateway sandbox, a local server started with the
checkout, behind retries and a circuit breaker. The enrollment worker reads
the events straight from the outbox table. Nothing to install or start.

:func:`served` builds a checkout for a long-running server from
:class:`~checkout_adapters.settings.ServerSettings`: the records on the
database URL (migrated), Redis for the caches, rate limits and circuit
breakers when a Redis URL is given (else their in-memory kinds, so limits
still apply within the process), the chosen gateway, and the enrollment
worker running in a background thread of the server itself, so that a paid
order completes without another process.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self, TypeVar
from urllib.parse import quote

from attrs import define, field, frozen
from returns.result import Failure, Success
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from checkout_adapters.memory import (
    CatalogCache,
    InMemoryBreakerStore,
    InMemoryCartCache,
    InMemoryRateLimiter,
    LogAlertSink,
    LogAnalyticsTracker,
    LogNotificationSender,
)
from checkout_adapters.razorpay import RazorpayGateway
from checkout_adapters.razorpay.gateway import DEFAULT_CHECKOUT_URL_TEMPLATE
from checkout_adapters.relay import OutboxRelay
from checkout_adapters.resilience import GuardedGateway
from checkout_adapters.sandbox import Sandbox, WebhookReceiver
from checkout_adapters.settings import ConfigurationError, GatewayChoice, ServerSettings
from checkout_adapters.sqlalchemy import (
    SqlCatalog,
    SqlOutboxQueue,
    SqlOutboxReader,
    SqlUnitOfWorkFactory,
    make_engine,
    upgrade,
)
from checkout_adapters.system import RandomIds, SystemClock
from checkout_core.errors import CheckoutError
from checkout_core.ports import (
    BreakerStore,
    CartCache,
    Clock,
    IdempotencyCache,
    IdGenerator,
    MessageQueue,
    NotificationSender,
    PaymentGateway,
    RateLimiter,
)
from checkout_core.services import Checkout, CheckoutPorts, CheckoutSettings, RetryWorker

if TYPE_CHECKING:
    # prometheus-client comes with the fastapi extra: served() imports it when called, and
    # attrs never resolves Served's annotations, so the name is only needed for type checks.
    from checkout_adapters.observability import Metrics  # noqa: TC004

__all__ = ["Embedded", "Served", "embedded", "served", "webhook_receiver"]

T = TypeVar("T")


@frozen
class Embedded:
    """The embedded checkout and the handles a host or a demo needs around it.

    Close it (or use it as a context manager) to stop the sandbox and the engine.
    """

    checkout: Checkout
    engine: Engine
    catalog: SqlCatalog
    sandbox: Sandbox
    outbox: SqlOutboxReader
    worker: RetryWorker
    """The enrollment worker, reading events straight from the outbox table."""

    def close(self) -> None:
        """Stop the sandbox and release the database."""
        self.sandbox.stop()
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def embedded(
    database_url: str = "sqlite://",
    *,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    settings: CheckoutSettings | None = None,
    notifications: NotificationSender | None = None,
) -> Embedded:
    """The embedded default on ``database_url`` (SQLite in memory unless told), migrated.

    The sandbox's webhooks go nowhere until its ``webhook_target`` is set: to
    the host's webhook URL, or to a callable handing them to
    ``checkout.webhooks.handle``.
    """
    clock = clock or SystemClock()
    engine = make_engine(database_url)
    upgrade(engine)
    sandbox = Sandbox(clock=clock)
    sandbox.start()
    razorpay = RazorpayGateway(
        sandbox.razorpay_key_id,
        sandbox.razorpay_key_secret,
        sandbox.razorpay_webhook_secret,
        base_url=sandbox.base_url,
        clock=clock,
    )
    ports = CheckoutPorts(
        unit_of_work=SqlUnitOfWorkFactory(engine),
        gateway=GuardedGateway(razorpay, clock),
        clock=clock,
        ids=ids or RandomIds(),
        notifications=notifications or LogNotificationSender(),
        analytics=LogAnalyticsTracker(),
        alerts=LogAlertSink(),
        cart_cache=InMemoryCartCache(clock),
    )
    checkout = Checkout.build(ports, settings)
    worker = RetryWorker(
        SqlOutboxQueue(engine, clock=clock),
        "enrollment",
        "embedded",
        checkout.fulfilment,
        checkout.alerts,
    )
    return Embedded(
        checkout=checkout,
        engine=engine,
        catalog=SqlCatalog(engine),
        sandbox=sandbox,
        outbox=SqlOutboxReader(engine),
        worker=worker,
    )


_ENROLLMENT_GROUP: Final = "enrollment"
_WORKER_WAIT: Final = timedelta(milliseconds=500)
"""How long a round of the server's worker waits for an event: the most a paid order waits."""
_STOP_TIMEOUT: Final = 10.0
"""Seconds a closing server gives its worker to finish the event at hand."""
_REDIS_TIMEOUT: Final = 5.0
"""Seconds the worker's and the breakers' Redis calls may take, beyond a blocking read's wait."""
_SERVER_POOL_SIZE: Final = 44
"""Connections a server keeps: one per request thread (anyio's 40), the worker's and two more.

Fewer, and requests beyond them would open and close a connection each.
"""
_REDIS_PAUSE: Final = 1.0
"""Seconds a Redis port goes on without Redis after a fault before it tries Redis again.

A stalled Redis then costs each port one timeout a second, not one per call.
"""
_CATALOG_TTL: Final = timedelta(seconds=5)
"""How long a server keeps offerings, sales and coupons: the most an edit lags behind."""


@define
class Served:
    """A checkout wired for a long-running server, and what runs beside it.

    :meth:`start` starts the enrollment worker in a background thread;
    :meth:`close` stops it (the event at hand is finished), the sandbox when
    there is one, and releases Redis and the database. A host calls them
    from its application's lifespan.
    """

    checkout: Checkout
    engine: Engine
    catalog: SqlCatalog
    breakers: BreakerStore
    """Where the gateway's circuit breaker lives: in Redis when the server has one."""
    worker: RetryWorker
    """The enrollment worker: on the outbox table, or on Redis Streams fed by the outbox relay."""
    relay: OutboxRelay | None
    """What publishes the outbox to Redis Streams; ``None`` when the worker reads the outbox."""
    sandbox: Sandbox | None
    """The gateway sandbox the server started, when its gateway is the sandbox."""
    metrics: Metrics
    """The checkout's Prometheus metrics: the cart cache's hits and the database pool."""
    closers: tuple[Callable[[], None], ...] = ()
    """What :meth:`close` releases besides the worker, the sandbox and the engine."""
    _stop: threading.Event = field(factory=threading.Event, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    @property
    def running(self) -> bool:
        """Whether the worker's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def readiness(self) -> dict[str, bool]:
        """Whether the database answers and the worker runs: what ``/readyz`` reports."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            database = False
        else:
            database = True
        return {"database": database, "worker": self.running}

    def start(self) -> None:
        """Run the enrollment worker (and the relay, with Redis) in a daemon thread."""
        if self._thread is not None:
            raise RuntimeError("the server's worker is running already")
        # checkout_adapters.workers imports redis, an optional extra: imported when needed.
        from checkout_adapters.workers import WorkerLoop  # noqa: PLC0415

        loop = WorkerLoop(self.relay, self.worker, limit=32, wait=_WORKER_WAIT)
        self._stop.clear()
        self._thread = threading.Thread(
            target=loop.run, args=(self._stop,), name="checkout-enrollment", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop the worker, then the sandbox, and release Redis and the database."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT)
            self._thread = None
        if self.sandbox is not None:
            self.sandbox.stop()
        for close in self.closers:
            close()
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def served(
    settings: ServerSettings,
    *,
    checkout_settings: CheckoutSettings | None = None,
    return_url: str | None = None,
    clock: Clock | None = None,
    notifications: NotificationSender | None = None,
) -> Served:
    """A checkout for a server configured by ``settings``, its database migrated.

    ``return_url`` is the host's page where the gateway sends the buyer back
    after paying (Stripe's ``success_url`` and ``cancel_url``; the sandbox
    pay page's ``callback_url``); Stripe cannot do without it. The worker is
    not started: call :meth:`Served.start`. The sandbox's webhooks are
    handed straight to ``checkout.webhooks.handle``; a host may point
    ``sandbox.webhook_target`` at its own webhook URL instead.

    Raises:
        ConfigurationError: the gateway is Stripe and there is no ``return_url``.
    """
    # prometheus-client is part of the fastapi extra, which a server needs anyway.
    from checkout_adapters.observability import MeteredCartCache, Metrics  # noqa: PLC0415

    clock = clock or SystemClock()
    engine = _server_engine(settings.database_url)
    metrics = Metrics()
    metrics.watch_pool(engine)
    closers: list[Callable[[], None]] = []
    try:
        upgrade(engine)
        sandbox, gateway, release = _gateway(settings, clock, return_url)
        closers.append(release)
        shared = _shared_state(settings, engine, clock)
        closers.extend(shared.closers)
        if shared.degradations is not None:
            metrics.watch_degradations(shared.degradations)
        ports = CheckoutPorts(
            unit_of_work=SqlUnitOfWorkFactory(engine, CatalogCache(clock, ttl=_CATALOG_TTL)),
            gateway=GuardedGateway(gateway, clock, breakers=shared.breakers),
            clock=clock,
            ids=RandomIds(),
            notifications=notifications or LogNotificationSender(),
            analytics=LogAnalyticsTracker(),
            alerts=LogAlertSink(),
            cart_cache=MeteredCartCache(shared.cart_cache, metrics),
            rate_limiter=shared.rate_limiter,
            idempotency_cache=shared.idempotency_cache,
        )
    except BaseException:
        for close in closers:
            close()
        engine.dispose()
        raise
    checkout = Checkout.build(ports, checkout_settings)
    if sandbox is not None:
        sandbox.webhook_target = webhook_receiver(checkout)
    worker = RetryWorker(
        shared.queue, _ENROLLMENT_GROUP, _consumer_name(), checkout.fulfilment, checkout.alerts
    )
    return Served(
        checkout=checkout,
        engine=engine,
        catalog=SqlCatalog(engine),
        breakers=shared.breakers,
        worker=worker,
        relay=shared.relay,
        sandbox=sandbox,
        metrics=metrics,
        closers=tuple(closers),
    )


def _server_engine(database_url: str) -> Engine:
    """The server's engine: on PostgreSQL, as many connections as the server has threads."""
    if make_url(database_url).get_backend_name() == "postgresql":
        return make_engine(database_url, pool_size=_SERVER_POOL_SIZE, max_overflow=0)
    return make_engine(database_url)


def webhook_receiver(checkout: Checkout) -> WebhookReceiver:
    """A sandbox webhook target that hands each delivery to ``checkout.webhooks.handle``.

    It answers what the HTTP route would: 200 when handled, the error's
    status (400 for a bad signature) when not.
    """

    def receive(provider: str, headers: dict[str, str], body: bytes) -> int:
        del provider  # the checkout's gateway reads its own provider's webhooks
        match checkout.webhooks.handle(headers, body):
            case Success(_):
                return 200
            case Failure(CheckoutError() as error):
                return error.http_status
        raise AssertionError("a Result is a Success or a Failure")

    return receive


def _gateway(
    settings: ServerSettings, clock: Clock, return_url: str | None
) -> tuple[Sandbox | None, PaymentGateway, Callable[[], None]]:
    """The chosen gateway, the sandbox it talks to (if any), and how to release it."""
    match settings.gateway:
        case GatewayChoice.SANDBOX:
            sandbox = Sandbox(clock=clock)
            sandbox.start()
            template = DEFAULT_CHECKOUT_URL_TEMPLATE
            if return_url is not None:
                # Quoted whole, so the template's own braces are the only ones left.
                template += "?callback_url=" + quote(return_url, safe="")
            gateway = RazorpayGateway(
                sandbox.razorpay_key_id,
                sandbox.razorpay_key_secret,
                sandbox.razorpay_webhook_secret,
                base_url=sandbox.base_url,
                checkout_url_template=template,
                clock=clock,
            )
            return sandbox, gateway, gateway.close
        case GatewayChoice.RAZORPAY:
            keys = _required(settings.razorpay, "CHECKOUT_RAZORPAY_KEY_ID")
            razorpay = RazorpayGateway(
                keys.key_id, keys.key_secret, keys.webhook_secret, clock=clock
            )
            return None, razorpay, razorpay.close
        case GatewayChoice.STRIPE:
            # Stripe's client keeps no connections of its own to release.
            return None, _stripe_gateway(settings, clock, return_url), _nothing


def _nothing() -> None:
    """Nothing to release."""


def _stripe_gateway(
    settings: ServerSettings, clock: Clock, return_url: str | None
) -> PaymentGateway:
    # stripe is an optional extra: only a Stripe server needs it installed.
    from checkout_adapters.stripe import StripeGateway  # noqa: PLC0415

    keys = _required(settings.stripe, "CHECKOUT_STRIPE_API_KEY")
    if return_url is None:
        raise ConfigurationError(
            "CHECKOUT_PUBLIC_URL is not set: it is required when CHECKOUT_GATEWAY is stripe, "
            "as Stripe sends the buyer back to it"
        )
    return StripeGateway(
        keys.api_key,
        keys.webhook_secret,
        success_url=f"{return_url}?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=return_url,
        clock=clock,
    )


def _required(keys: T | None, variable: str) -> T:
    if keys is None:
        raise ConfigurationError(f"{variable} is not set: the gateway's keys are missing")
    return keys


@frozen
class _SharedState:
    """The ports a server's processes share through Redis, or keep in memory without it."""

    breakers: BreakerStore
    cart_cache: CartCache
    rate_limiter: RateLimiter
    idempotency_cache: IdempotencyCache | None
    queue: MessageQueue
    relay: OutboxRelay | None
    degradations: Callable[[], Mapping[str, int]] | None = None
    """The counts of the Redis ports' degradations, by ``port.operation``; none without Redis."""
    closers: tuple[Callable[[], None], ...] = ()


def _shared_state(settings: ServerSettings, engine: Engine, clock: Clock) -> _SharedState:
    if settings.redis_url is None:
        # Without Redis the database is the idempotency record's only home: no fast path.
        return _SharedState(
            breakers=InMemoryBreakerStore(),
            cart_cache=InMemoryCartCache(clock),
            rate_limiter=InMemoryRateLimiter(clock),
            idempotency_cache=None,
            queue=SqlOutboxQueue(engine, clock=clock),
            relay=None,
        )
    return _redis_state(settings.redis_url, engine, clock)


def _redis_state(url: str, engine: Engine, clock: Clock) -> _SharedState:
    # redis is an optional extra: only a server given a Redis URL needs it installed.
    from redis import Redis  # noqa: PLC0415

    from checkout_adapters.redis import (  # noqa: PLC0415
        Degradations,
        DegradingBreakerStore,
        DegradingCartCache,
        DegradingIdempotencyCache,
        DegradingRateLimiter,
        RedisBreakerStore,
        RedisCartCache,
        RedisIdempotencyCache,
        RedisRateLimiter,
        RedisStreamQueue,
        redis_client,
    )

    # What a request reads or writes in Redis gives up in milliseconds and goes on
    # without it; the queue's reads block, so the worker gets a client that waits.
    fast = redis_client(url)
    patient = Redis.from_url(
        url,
        socket_timeout=_WORKER_WAIT.total_seconds() + _REDIS_TIMEOUT,
        socket_connect_timeout=_REDIS_TIMEOUT,
    )
    degradations = Degradations()
    queue = RedisStreamQueue(patient, clock=clock)
    return _SharedState(
        breakers=DegradingBreakerStore(RedisBreakerStore(fast), degradations, pause=_REDIS_PAUSE),
        cart_cache=DegradingCartCache(
            RedisCartCache(fast, clock=clock), degradations, pause=_REDIS_PAUSE
        ),
        # A coupon attempt is let through while Redis is down: selling beats refusing.
        rate_limiter=DegradingRateLimiter(
            RedisRateLimiter(fast, clock=clock),
            fail_open=True,
            counter=degradations,
            pause=_REDIS_PAUSE,
        ),
        idempotency_cache=DegradingIdempotencyCache(
            RedisIdempotencyCache(fast), degradations, pause=_REDIS_PAUSE
        ),
        queue=queue,
        relay=OutboxRelay(engine, queue, clock=clock),
        degradations=degradations.snapshot,
        closers=(fast.close, patient.close),
    )


def _consumer_name() -> str:
    """This process's name in the enrollment group: unique per host and process."""
    return f"serve-{socket.gethostname()}-{os.getpid()}"
