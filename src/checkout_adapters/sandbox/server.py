"""The sandbox: a local HTTP server that stands in for Razorpay and Stripe.

:class:`Sandbox` serves on ``127.0.0.1``, on a free port unless told one,
from a daemon thread. The official SDKs talk to it unchanged::

    with Sandbox(webhook_target=receiver) as sandbox:
        razorpay.Client(auth=(sandbox.razorpay_key_id, sandbox.razorpay_key_secret),
                        base_url=sandbox.base_url)
        stripe.StripeClient(sandbox.stripe_api_key,
                            base_addresses={"api": sandbox.base_url}, max_network_retries=0)

An API call under ``/v1`` goes to Razorpay's emulation when it carries basic
auth and to Stripe's when it carries a bearer token (without either, to the
one whose path it is). Before answering, the sandbox asks its
:class:`~checkout_adapters.sandbox.faults.Faults` whether to drop the
connection, wait, or fail the call with a 5xx. ``/pay/...`` is the hosted
pay page. Webhooks are signed as each provider signs them and delivered to
:attr:`Sandbox.webhook_target` by a
:class:`~checkout_adapters.sandbox.webhooks.WebhookDispatcher`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final, Self

from attrs import define, field

from checkout_adapters.sandbox.errors import UnknownReference
from checkout_adapters.sandbox.faults import Faults, InjectedFailure
from checkout_adapters.sandbox.pay_page import PayPage
from checkout_adapters.sandbox.razorpay_api import RAZORPAY, RazorpayEmulator
from checkout_adapters.sandbox.routing import ApiRequest, ApiResponse, dispatch, json_response
from checkout_adapters.sandbox.stripe_api import STRIPE, StripeEmulator
from checkout_adapters.sandbox.webhooks import (
    Delivery,
    RetryPolicy,
    Webhook,
    WebhookDispatcher,
    WebhookTarget,
)
from checkout_adapters.system import SystemClock
from checkout_core.ports import Clock

__all__ = ["PROVIDERS", "Sandbox"]

logger = logging.getLogger(__name__)

PROVIDERS: Final = (RAZORPAY, STRIPE)
"""The providers the sandbox emulates."""

_HOST: Final = "127.0.0.1"
_UNAVAILABLE_PAGE: Final = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head>"
    b"<body><h1>503 Service Temporarily Unavailable</h1></body></html>"
)


@define
class Sandbox:
    """Razorpay and Stripe, emulated on one local HTTP server, with webhooks and faults.

    The credentials are the ones the SDKs must present; the webhook secrets
    sign what the sandbox sends. ``webhook_target`` may be set or changed at
    any time; while it is ``None`` events are recorded in :attr:`events` and
    not sent. ``webhook_retry`` says how failed deliveries are retried and
    ``webhook_timeout`` how long a target may take to answer before the
    delivery counts as failed (Razorpay's limit is 5 s); both may be changed
    at any time too. Stripe signs with the time of ``clock``: a clock far
    from the real one makes ``stripe.Webhook.construct_event`` refuse.
    """

    razorpay_key_id: str = "rzp_test_sandbox"
    razorpay_key_secret: str = field(default="sandbox_key_secret", repr=False)
    razorpay_webhook_secret: str = field(default="sandbox_webhook_secret", repr=False)
    stripe_api_key: str = field(default="sk_test_sandbox", repr=False)
    stripe_webhook_secret: str = field(default="whsec_sandbox", repr=False)
    webhook_target: WebhookTarget | None = None
    webhook_retry: RetryPolicy = field(factory=RetryPolicy)
    webhook_timeout: float = 5.0
    port: int = 0
    clock: Clock = field(factory=SystemClock)
    faults: Faults = field(factory=Faults)
    _razorpay: RazorpayEmulator = field(init=False, repr=False)
    _stripe: StripeEmulator = field(init=False, repr=False)
    _pay_page: PayPage = field(init=False, repr=False)
    _dispatcher: WebhookDispatcher = field(init=False, repr=False)
    _server: _SandboxServer | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._razorpay = RazorpayEmulator(
            key_id=self.razorpay_key_id,
            key_secret=self.razorpay_key_secret,
            webhook_secret=self.razorpay_webhook_secret,
            publish=self._publish,
            clock=self.clock,
        )
        self._stripe = StripeEmulator(
            api_key=self.stripe_api_key,
            webhook_secret=self.stripe_webhook_secret,
            base_url=lambda: self.base_url,
            publish=self._publish,
            clock=self.clock,
        )
        self._pay_page = PayPage({RAZORPAY: self._razorpay, STRIPE: self._stripe})
        self._dispatcher = WebhookDispatcher(
            signers={RAZORPAY: self._razorpay.sign, STRIPE: self._stripe.sign},
            target=lambda: self.webhook_target,
            retry=lambda: self.webhook_retry,
            timeout=lambda: self.webhook_timeout,
        )

    # Running.

    def start(self) -> None:
        """Bind ``127.0.0.1`` and serve from a daemon thread; deliver webhooks from another."""
        if self._server is not None:
            raise RuntimeError("the sandbox is running already")
        server = _SandboxServer((_HOST, self.port), _Handler)
        server.sandbox = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-http",
            daemon=True,
        )
        self._thread.start()
        self._dispatcher.start()

    def stop(self) -> None:
        """Stop serving and delivering; webhooks still queued are dropped."""
        server, self._server = self._server, None
        self._dispatcher.stop()
        if server is not None:
            server.shutdown()
            server.server_close()
            server.close_connections()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: what the SDKs take as their base URL."""
        if self._server is None:
            raise RuntimeError("the sandbox is not running: call start() first")
        return f"http://{_HOST}:{self._server.server_address[1]}"

    def checkout_url(self, provider: str, ref: str) -> str:
        """The pay page of a Razorpay order or a Stripe session (its ``url``)."""
        _check_provider(provider)
        return f"{self.base_url}/pay/{provider}/{ref}"

    # Acting as the buyer.

    def complete_payment(self, provider: str, ref: str, *, capture: bool = True) -> dict[str, Any]:
        """Pay an order (Razorpay) or session (Stripe) in full, as the pay page's button does.

        Razorpay: a captured payment and ``payment.authorized``,
        ``payment.captured``, ``order.paid``; with ``capture=False`` the
        payment stays authorized (only ``payment.authorized``) until
        captured through the API. Stripe: the intent succeeds;
        ``checkout.session.completed`` then ``payment_intent.succeeded``.
        Returns what the browser gets (the pay page's JSON).

        Raises:
            UnknownReference: no such order or session.
            NotPayable: it is paid already or expired.
        """
        if provider == RAZORPAY:
            return self._razorpay.complete(ref, capture=capture)
        _check_provider(provider)
        if not capture:
            raise ValueError("Stripe sessions capture automatically in the sandbox")
        return self._stripe.complete(ref)

    def fail_payment(
        self, provider: str, ref: str, code: str | None = None, reason: str | None = None
    ) -> dict[str, Any]:
        """Fail a payment attempt; the order or session stays payable.

        Razorpay: a failed payment (``error_code`` ``code``, by default
        ``BAD_REQUEST_ERROR``; ``error_reason`` ``reason``) and
        ``payment.failed``. Stripe: the intent's ``last_payment_error``
        (``code``, by default ``card_declined``; ``decline_code`` ``reason``)
        and ``payment_intent.payment_failed``.

        Raises:
            UnknownReference: no such order or session.
            NotPayable: it is paid already or expired.
        """
        if provider == RAZORPAY:
            return self._razorpay.fail(ref, code=code, reason=reason)
        _check_provider(provider)
        return self._stripe.fail(ref, code=code, reason=reason)

    def emit_async_stripe(self, session: str, succeeded: bool) -> dict[str, Any]:  # noqa: FBT001 - reads as a switch: emit_async_stripe(session, True)
        """Settle a delayed payment on a Stripe session.

        An open session is first completed unpaid (``checkout.session.completed``
        with ``payment_status`` ``unpaid``); then
        ``checkout.session.async_payment_succeeded`` and ``payment_intent.succeeded``,
        or ``checkout.session.async_payment_failed`` and ``payment_intent.payment_failed``.
        """
        return self._stripe.settle_async(session, succeeded=succeeded)

    # Webhooks.

    @property
    def events(self) -> list[Webhook]:
        """Every webhook raised, in the order raised, delivered or not."""
        return self._dispatcher.events

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery attempt, in the order made."""
        return self._dispatcher.deliveries

    @property
    def abandoned(self) -> list[Webhook]:
        """The webhooks given up after their last attempt failed."""
        return self._dispatcher.abandoned

    def wait_for_deliveries(self, timeout: float = 5.0) -> None:
        """Block until no webhook is queued, being sent or waiting for a retry.

        Raises:
            TimeoutError: deliveries still pending after ``timeout`` seconds.
        """
        self._dispatcher.wait_idle(timeout)

    def _publish(self, batch: Sequence[Webhook]) -> None:
        self._dispatcher.publish(
            batch, reverse=self.faults.reordering, duplicate=self.faults.duplicating
        )

    # Answering HTTP.

    def handle(self, request: ApiRequest) -> ApiResponse | None:
        """The answer to one HTTP request; ``None`` to drop the connection unanswered."""
        if request.path.startswith("/pay/"):
            response = dispatch(self._pay_page.routes(), request)
            return response or json_response(404, {"error": f"no page {request.path}"})
        if not request.path.startswith("/v1/"):
            return json_response(
                404, {"sandbox": "checkout", "providers": list(PROVIDERS), "path": request.path}
            )
        provider = self._provider_of(request)
        if self.faults.take_drop():
            return None
        delay = self.faults.api_delay
        if delay:
            time.sleep(delay)
        injected = self.faults.take_failure(provider)
        if injected is not None:
            return self._failure(provider, injected)
        if provider == RAZORPAY:
            return self._razorpay.handle(request)
        return self._stripe.handle(request)

    def _provider_of(self, request: ApiRequest) -> str:
        scheme = (request.header("authorization") or "").partition(" ")[0].lower()
        if scheme == "bearer":
            return STRIPE
        if scheme == "basic":
            # The razorpay SDK sends basic auth; the stripe SDK never does.
            return RAZORPAY
        return STRIPE if self._stripe.knows(request.path) else RAZORPAY

    def _failure(self, provider: str, injected: InjectedFailure) -> ApiResponse:
        if not injected.json_body:
            return ApiResponse(injected.status, _UNAVAILABLE_PAGE, content_type="text/html")
        if provider == RAZORPAY:
            return self._razorpay.failure(injected)
        return self._stripe.failure(injected)


def _check_provider(provider: str) -> None:
    if provider not in PROVIDERS:
        raise UnknownReference(f"the sandbox emulates {' and '.join(PROVIDERS)}, not {provider!r}")


class _SandboxServer(ThreadingHTTPServer):
    """The HTTP server, knowing its sandbox and the connections it holds open."""

    daemon_threads = True
    sandbox: Sandbox

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def opened(self, connection: socket.socket) -> None:
        """Track a connection a handler serves."""
        with self._connections_lock:
            self._connections.add(connection)

    def closed(self, connection: socket.socket) -> None:
        """Forget a connection its handler is done with."""
        with self._connections_lock:
            self._connections.discard(connection)

    def handle_error(self, request: object, client_address: object) -> None:  # noqa: ARG002 - socketserver's signature
        """Log a connection that failed, instead of printing its traceback to stderr.

        A client that resets its connection (one left from a sandbox stopped
        earlier, whose port this one reuses) is not the host's business: the
        command or test that runs the sandbox reads its own output.
        """
        # socketserver calls this from its except clause: the failure is the one at hand.
        logger.debug("sandbox connection from %s failed", client_address, exc_info=True)  # noqa: LOG014

    def close_connections(self) -> None:
        """Cut every connection still open, so a stopped sandbox answers no kept-alive client."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, asks the sandbox, writes its answer."""

    server: _SandboxServer
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; Nagle's algorithm would hold the second ~40 ms.
    disable_nagle_algorithm = True
    # An idle keep-alive connection is closed after this many seconds.
    timeout = 30

    def do_GET(self) -> None:
        """Answer a GET."""
        self._serve()

    def do_POST(self) -> None:
        """Answer a POST."""
        self._serve()

    def do_DELETE(self) -> None:
        """Answer a DELETE (no route takes one: a 404 in the provider's shape)."""
        self._serve()

    def setup(self) -> None:
        """Open the connection's streams and let the server track it."""
        super().setup()
        self.server.opened(self.connection)

    def handle(self) -> None:
        """Serve the connection's requests until it closes; a client gone mid-answer is no error."""
        try:
            super().handle()
        except OSError:
            self.close_connection = True

    def finish(self) -> None:
        """Close the connection's streams; the server stops tracking it."""
        self.server.closed(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - the signature http.server calls
        """Stay quiet: tests and the demo read their own output."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        request = ApiRequest(
            method=self.command,
            path=path,
            query=query,
            headers=dict(self.headers.items()),
            body=body,
        )
        response = self.server.sandbox.handle(request)
        if response is None:
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)
