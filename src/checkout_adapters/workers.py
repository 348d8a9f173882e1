"""The worker runner: the outbox relay and the enrollment worker, in a loop, in a process.

:class:`WorkerLoop` is what a worker does all day: publish the outbox's next
batch (when it has a relay), then handle the deliveries at hand with the
:class:`~checkout_core.services.RetryWorker`; when there were none, wait
``idle_sleep`` and look again. :meth:`WorkerLoop.run` goes on until its
``stop`` event is set or, when it runs in the main thread, until SIGTERM or
SIGINT: the deliveries already received are finished (acknowledged,
retried or dead-lettered), then it returns. A second signal acts as it
would without the loop. A failure of the queue or the database (Redis or
PostgreSQL down, a connection lost) is logged and the loop goes on a second
later, as long as it lasts: the outbox keeps what the relay could not
publish, and the messages at hand are delivered again once their
visibility runs out.

:func:`run_worker_process` is a whole worker on PostgreSQL and Redis
Streams, built from URLs inside the process that runs it: a target for
``multiprocessing`` (the ``spawn`` start method included). The ``checkout
worker`` command runs a :class:`WorkerLoop` over the server's own wiring
instead (``served()``), on Redis Streams or the outbox table.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Final, NoReturn

from checkout_adapters.memory import LogAlertSink, LogAnalyticsTracker, LogNotificationSender
from checkout_adapters.relay import OutboxRelay
from checkout_adapters.signals import stopping_on_signals
from checkout_adapters.sqlalchemy import SqlUnitOfWorkFactory, make_engine
from checkout_adapters.system import RandomIds, SystemClock
from checkout_core.domain.gateway import (
    PaymentSession,
    PaymentSessionRequest,
    ProviderStatus,
    RefundReceipt,
    RefundRequest,
    WebhookEvent,
)
from checkout_core.domain.retry import RetryPolicy
from checkout_core.ports import AlertSink, NotificationSender
from checkout_core.services import Checkout, CheckoutPorts, RetryWorker

__all__ = ["WorkerLoop", "run_worker_process"]

logger = logging.getLogger(__name__)

_ERROR_SLEEP: Final = 1.0
"""Seconds the loop rests after a round failed (the queue or the database down)."""
_REPORT_EVERY: Final = 30
"""Failed rounds in a row between two lines in the log, after the first."""
_SOCKET_MARGIN: Final = 5.0
"""Seconds a Redis read may take beyond the longest ``XREADGROUP ... BLOCK`` of a receive."""


class WorkerLoop:
    """Runs ``relay`` (if any) and ``worker`` over and over, resting ``idle_sleep`` s when idle.

    Each round receives up to ``limit`` deliveries, waiting up to ``wait``
    for the first; with the default of one, a signal lets exactly the
    message at hand finish.
    """

    def __init__(
        self,
        relay: OutboxRelay | None,
        worker: RetryWorker,
        *,
        idle_sleep: float = 0.05,
        limit: int = 1,
        wait: timedelta = timedelta(seconds=1),
    ) -> None:
        if idle_sleep < 0:
            raise ValueError(f"an idle sleep is not negative, not {idle_sleep}")
        if limit < 1:
            raise ValueError(f"a round takes at least one delivery, not {limit}")
        self._relay = relay
        self._worker = worker
        self._idle_sleep = idle_sleep
        self._limit = limit
        self._wait = wait

    def run_once(self) -> int:
        """Relay one batch (with a relay), then handle what was received; return how many."""
        if self._relay is not None:
            self._relay.relay_once()
        return self._worker.run_once(limit=self._limit, wait=self._wait)

    def run(self, stop: threading.Event, *, stop_after_idle: float | None = None) -> int:
        """Run rounds until ``stop`` is set, a signal came, or ``stop_after_idle`` s passed idle.

        Returns how many deliveries were handled. A signal sets ``stop``
        once the round at hand is over. A round that fails (the queue or the
        database down) is logged, with its traceback the first time, and
        the loop goes on a second later; the first round that works again
        says how many failed.
        """
        handled = 0
        failed = 0
        idle_since = time.monotonic()
        with stopping_on_signals() as signalled:
            while not stop.is_set() and not signalled:
                rest = self._idle_sleep
                try:
                    count = self.run_once()
                except Exception as failure:  # noqa: BLE001 - any fault: logged, tried again
                    failed += 1
                    self._log_failure(failure, failed)
                    count, rest = 0, _ERROR_SLEEP
                else:
                    if failed:
                        logger.warning(
                            "%s works again after %d failed rounds", self._worker.consumer, failed
                        )
                        failed = 0
                handled += count
                if count:
                    idle_since = time.monotonic()
                    continue
                if stop_after_idle is not None and time.monotonic() - idle_since >= stop_after_idle:
                    break
                stop.wait(rest)
        if signalled:
            name = signal.Signals(signalled[0]).name
            logger.info("%s stopped by %s", self._worker.consumer, name)
            stop.set()
        return handled

    def _log_failure(self, failure: Exception, failed: int) -> None:
        """The first failed round with its traceback; then one line every so many rounds."""
        consumer = self._worker.consumer
        if failed == 1:
            logger.error(
                "a round of %s failed; trying again every second", consumer, exc_info=failure
            )
        elif failed % _REPORT_EVERY == 0:
            logger.error(
                "%s has failed %d rounds in a row, the last with %s: %s",
                consumer, failed, type(failure).__name__, failure,
            )  # fmt: skip


def run_worker_process(  # noqa: PLR0913 - what a process needs, passed across spawn
    database_url: str,
    redis_url: str,
    group: str,
    consumer: str,
    stop_after_idle_seconds: float | None = None,
    *,
    stream: str = "checkout:events",
    relay: bool = True,
    notifications: NotificationSender | None = None,
    alerts: AlertSink | None = None,
    policy: RetryPolicy | None = None,
    visibility: timedelta = timedelta(seconds=30),
    wait: timedelta = timedelta(seconds=1),
    limit: int = 1,
) -> int:
    """Run ``consumer`` of ``group`` on ``stream`` until a signal (or idle that long); count.

    Builds its own engine, Redis client, checkout and loop, so that it can
    be the target of a process started with ``spawn``: every argument is
    picklable when the ``notifications`` sender and the ``alerts`` sink
    are (by default the log's). With ``relay`` the process publishes the
    outbox to the stream too. Returns how many deliveries it handled.
    """
    # redis is an extra: the loop alone (a served app's worker thread) runs without it.
    from redis import Redis  # noqa: PLC0415

    from checkout_adapters.redis.streams import RedisStreamQueue  # noqa: PLC0415

    clock = SystemClock()
    # A loop holds one connection at a time: a small pool lets many workers share a server.
    engine = make_engine(database_url, pool_size=1, max_overflow=1)
    client = Redis.from_url(
        redis_url,
        socket_timeout=wait.total_seconds() + _SOCKET_MARGIN,
        socket_connect_timeout=_SOCKET_MARGIN,
    )
    try:
        ports = CheckoutPorts(
            unit_of_work=SqlUnitOfWorkFactory(engine),
            gateway=_NoPayments(),
            clock=clock,
            ids=RandomIds(),
            notifications=notifications or LogNotificationSender(),
            analytics=LogAnalyticsTracker(),
            alerts=alerts or LogAlertSink(),
        )
        checkout = Checkout.build(ports)
        queue = RedisStreamQueue(client, stream=stream, clock=clock)
        worker = RetryWorker(
            queue,
            group,
            consumer,
            checkout.fulfilment,
            checkout.alerts,
            policy=policy or RetryPolicy(),
            visibility=visibility,
        )
        publisher = OutboxRelay(engine, queue, clock=clock) if relay else None
        loop = WorkerLoop(publisher, worker, limit=limit, wait=wait)
        return loop.run(threading.Event(), stop_after_idle=stop_after_idle_seconds)
    finally:
        client.close()
        engine.dispose()


class _NoPayments:
    """The gateway of a worker, which takes no payments: every call but ``available`` fails."""

    @property
    def provider(self) -> str:
        """``"none"``."""
        return "none"

    def available(self) -> bool:
        """Never: a worker has no provider to call."""
        return False

    def create_session(self, request: PaymentSessionRequest) -> PaymentSession:
        """Refused."""
        _refuse(request)

    def fetch_status(self, provider_ref: str) -> ProviderStatus:
        """Refused."""
        _refuse(provider_ref)

    def refund(self, request: RefundRequest) -> RefundReceipt:
        """Refused."""
        _refuse(request)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Refused."""
        _refuse(headers, body)


def _refuse(*_call: object) -> NoReturn:
    raise RuntimeError("a worker takes no payments: it has no payment gateway")
