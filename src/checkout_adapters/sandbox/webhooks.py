"""Webhook delivery: a queue, a thread, signed POSTs and retries with backoff.

Each event is serialised once, when it is raised, into a :class:`Webhook`;
every attempt sends those same bytes, signed as the provider signs them
(Stripe signs each attempt with a fresh timestamp, as Stripe does). An
attempt answered with a non-2xx status, or not answered at all, is tried
again after a backoff, up to :attr:`RetryPolicy.max_attempts`; then the
event is given up and listed in :attr:`WebhookDispatcher.abandoned`.

One thread delivers, earliest due first, so the events of one action
arrive in the order they were raised unless a retry or a fault reorders
them, as at the real providers.
"""

from __future__ import annotations

import heapq
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping

from attrs import define, field, frozen

__all__ = [
    "Delivery",
    "RetryPolicy",
    "Signer",
    "Webhook",
    "WebhookDispatcher",
    "WebhookReceiver",
    "WebhookTarget",
]

WebhookReceiver = Callable[[str, dict[str, str], bytes], int]
"""A receiver in the same process: ``(provider, headers, raw body) -> HTTP status`` it answers."""

WebhookTarget = str | WebhookReceiver
"""Where webhooks go: a URL (``{provider}`` in it is replaced) or a :data:`WebhookReceiver`."""


@frozen
class Webhook:
    """One event as its provider sends it; ``body`` is the raw bytes, serialised once."""

    provider: str
    event_id: str
    type: str
    body: bytes = field(repr=False)


Signer = Callable[[Webhook], dict[str, str]]
"""The headers of one delivery attempt of a webhook, its signature among them."""


@frozen
class RetryPolicy:
    """When failed deliveries are tried again: ``first_delay`` seconds, then ``factor`` times more.

    The defaults suit tests: five attempts within a second.
    """

    first_delay: float = 0.05
    factor: float = 2.0
    max_attempts: int = 5

    def __attrs_post_init__(self) -> None:
        if self.first_delay < 0 or self.factor < 1 or self.max_attempts < 1:
            raise ValueError(f"not a retry policy: {self!r}")

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (from 1)."""
        return float(self.first_delay * self.factor ** (attempt - 1))


@frozen
class Delivery:
    """One attempt to deliver a webhook and what came of it.

    ``status`` is the HTTP status the receiver answered, or ``None`` when it
    did not answer (connection refused, timeout, a receiver that raised);
    ``error`` then says why. ``copy`` is 2 for the second delivery of an
    event the duplicate fault sends twice.
    """

    provider: str
    event_id: str
    type: str
    attempt: int
    status: int | None
    error: str | None = None
    copy: int = 1

    @property
    def ok(self) -> bool:
        """Whether the receiver took the event (a 2xx answer)."""
        return self.status is not None and 200 <= self.status <= 299


@frozen
class _Pending:
    webhook: Webhook
    attempt: int
    copy: int


@define
class WebhookDispatcher:
    """Delivers webhooks in a background thread, retrying until they are taken or given up.

    ``target``, ``retry`` and ``timeout`` are asked before each attempt, so
    they may change while events are queued. An answer slower than
    ``timeout`` seconds is a failed delivery, as at Razorpay: a URL target's
    request is cut off then, a receiver in the process is timed.
    """

    signers: Mapping[str, Signer]
    target: Callable[[], WebhookTarget | None]
    retry: Callable[[], RetryPolicy] = RetryPolicy
    timeout: Callable[[], float] = lambda: 5.0
    _events: list[Webhook] = field(factory=list, init=False)
    _deliveries: list[Delivery] = field(factory=list, init=False)
    _abandoned: list[Webhook] = field(factory=list, init=False)
    _queue: list[tuple[float, int, _Pending]] = field(factory=list, init=False)
    _sequence: int = field(default=0, init=False)
    _in_flight: int = field(default=0, init=False)
    _stopping: bool = field(default=False, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _cond: threading.Condition = field(factory=threading.Condition, init=False, repr=False)

    @property
    def events(self) -> list[Webhook]:
        """Every webhook raised, in the order raised, delivered or not."""
        with self._cond:
            return list(self._events)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery attempt made, in the order made."""
        with self._cond:
            return list(self._deliveries)

    @property
    def abandoned(self) -> list[Webhook]:
        """The webhooks given up after the last attempt failed."""
        with self._cond:
            return list(self._abandoned)

    def start(self) -> None:
        """Start the delivering thread."""
        with self._cond:
            if self._thread is not None:
                raise RuntimeError("the webhook dispatcher is running already")
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop delivering; webhooks still queued are dropped."""
        with self._cond:
            thread, self._thread = self._thread, None
            self._stopping = True
            self._queue.clear()
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout)

    def publish(self, batch: Iterable[Webhook], *, reverse: bool, duplicate: bool) -> None:
        """Queue the webhooks one action raised, in reverse or twice if a fault says so.

        With no target set they are recorded in :attr:`events` and not sent,
        as a provider with no webhook configured sends nothing.
        """
        webhooks = list(batch)
        with self._cond:
            self._events.extend(webhooks)
            if self.target() is None:
                return
            copies = (1, 2) if duplicate else (1,)
            for webhook in reversed(webhooks) if reverse else webhooks:
                for copy in copies:
                    self._schedule(_Pending(webhook, attempt=1, copy=copy), delay=0.0)
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> None:
        """Block until nothing is queued or being sent, retries included.

        Raises:
            TimeoutError: still busy after ``timeout`` seconds.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: not self._queue and not self._in_flight, timeout):
                raise TimeoutError(
                    f"webhooks still queued after {timeout} s: {len(self._queue)} pending"
                )

    def _schedule(self, pending: _Pending, *, delay: float) -> None:
        self._sequence += 1
        heapq.heappush(self._queue, (time.monotonic() + delay, self._sequence, pending))

    def _run(self) -> None:
        while True:
            with self._cond:
                pending = self._next_due()
                if pending is None:
                    return
                self._in_flight += 1
            delivery = None
            try:
                delivery = self._attempt(pending)
            finally:
                # Settle before the attempt stops counting as in flight, so an
                # idle dispatcher never has a retry still to schedule.
                with self._cond:
                    if delivery is not None:
                        self._settle(pending, delivery)
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _next_due(self) -> _Pending | None:
        # Called with the condition held; None means stop.
        while not self._stopping:
            if not self._queue:
                self._cond.wait()
                continue
            wait = self._queue[0][0] - time.monotonic()
            if wait > 0:
                self._cond.wait(wait)
                continue
            return heapq.heappop(self._queue)[2]
        return None

    def _attempt(self, pending: _Pending) -> Delivery:
        webhook = pending.webhook
        target = self.target()
        status: int | None = None
        error: str | None = None
        if target is None:
            error = "no webhook target is set"
        else:
            headers = self.signers[webhook.provider](webhook)
            status, error = _send(target, webhook, headers, self.timeout())
        return Delivery(
            provider=webhook.provider,
            event_id=webhook.event_id,
            type=webhook.type,
            attempt=pending.attempt,
            status=status,
            error=error,
            copy=pending.copy,
        )

    def _settle(self, pending: _Pending, delivery: Delivery) -> None:
        # Called with the condition held.
        self._deliveries.append(delivery)
        if delivery.ok or self._stopping:
            return
        retry = self.retry()
        if pending.attempt < retry.max_attempts:
            self._schedule(
                _Pending(pending.webhook, pending.attempt + 1, pending.copy),
                delay=retry.delay_after(pending.attempt),
            )
        else:
            self._abandoned.append(pending.webhook)


def _send(
    target: WebhookTarget, webhook: Webhook, headers: dict[str, str], timeout: float
) -> tuple[int | None, str | None]:
    if isinstance(target, str):
        return _post(target.replace("{provider}", webhook.provider), webhook, headers, timeout)
    started = time.monotonic()
    try:
        status = target(webhook.provider, dict(headers), webhook.body)
    except Exception as exc:  # noqa: BLE001 - a receiver that raises failed the delivery, as a 500 would
        return None, f"the receiver raised {exc!r}"
    took = time.monotonic() - started
    if took > timeout:
        return None, f"the receiver answered {status} after {took:.2f} s, over {timeout} s"
    return status, None


def _post(
    url: str, webhook: Webhook, headers: dict[str, str], timeout: float
) -> tuple[int | None, str | None]:
    if not url.startswith(("http://", "https://")):
        return None, f"not an http(s) URL: {url!r}"
    request = urllib.request.Request(url, data=webhook.body, headers=headers, method="POST")  # noqa: S310 - the scheme is checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the scheme is checked above
            return int(response.status), None
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, None
    except (OSError, TimeoutError) as exc:
        return None, f"no answer: {exc!r}"
