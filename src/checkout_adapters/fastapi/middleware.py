"""The app-level middleware: correlation ids, request metrics, faults, and the body limit.

Both are plain ASGI middleware (no ``BaseHTTPMiddleware``), so streaming and
context variables behave, and both are installed by
:func:`~checkout_adapters.fastapi.app.install_checkout`. A host mounting only
:func:`~checkout_adapters.fastapi.routes.checkout_router` adds them itself::

    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(CorrelationMiddleware, metrics=metrics)   # outermost: added last
"""

from __future__ import annotations

import logging
import re
import uuid
from time import perf_counter
from typing import Final

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from checkout_adapters.fastapi.envelopes import refusal
from checkout_adapters.fastapi.metrics import HttpMetrics
from checkout_adapters.fastapi.routing import HTTP
from checkout_adapters.observability.context import correlation_scope
from checkout_core.errors import CheckoutError, RequestTooLarge

__all__ = ["CORRELATION_HEADER", "BodyLimitMiddleware", "CorrelationMiddleware", "route_template"]

logger = logging.getLogger(__name__)

CORRELATION_HEADER: Final = "X-Correlation-ID"
"""The header a correlation id comes in and goes back out in."""

_SANE_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,128}")
UNMATCHED: Final = "unmatched"


def _correlation_id(scope: Scope) -> str:
    """The caller's correlation id when it is a sane one, else a new one.

    A sane id is short and plain, so it can go into logs and headers as is.
    """
    given = Headers(scope=scope).get(CORRELATION_HEADER)
    if given is not None and _SANE_ID.fullmatch(given):
        return given
    return str(uuid.uuid4())


def route_template(scope: Scope) -> str:
    """The path template of the route that served ``scope``, never the path with its tokens.

    A path no route serves is ``"unmatched"``.
    """
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED


class CorrelationMiddleware:
    """Gives each request a correlation id, times it, and answers any fault as a bare 500.

    The id (the caller's ``X-Correlation-ID`` when sane) is in scope for the
    whole request (:data:`~checkout_adapters.observability.context.CORRELATION_ID`),
    in every JSON answer and in the answer's header. An unexpected exception
    is answered with the 500 envelope, which says nothing of it, then raised
    on for the server to log.
    """

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request with its correlation id in scope, timed."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = _correlation_id(scope)
        started = perf_counter()
        status = 500
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                responded = True
                status = message["status"]
                MutableHeaders(scope=message)[CORRELATION_HEADER] = correlation_id
            await send(message)

        with correlation_scope(correlation_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as fault:
                route = route_template(scope)
                # The type and where, not the message: it may hold a token or an address.
                logger.error(  # noqa: TRY400 - the server logs the traceback when it is raised on
                    "unhandled %s on %s %s (correlation id %s)",
                    type(fault).__name__,
                    scope["method"],
                    route,
                    correlation_id,
                )
                if not responded:
                    if self.metrics is not None:
                        self.metrics.count_error(HTTP, CheckoutError.code)
                    await refusal(CheckoutError())(scope, receive, send_with_id)
                raise
            finally:
                if self.metrics is not None:
                    self.metrics.observe_request(
                        scope["method"], route_template(scope), status, perf_counter() - started
                    )


class _BodyTooLarge(HTTPException):
    """Raised while the body streams in past the limit; the app's handler answers 413."""

    def __init__(self) -> None:
        super().__init__(status_code=RequestTooLarge.http_status)


class BodyLimitMiddleware:
    """Refuses a request body over ``max_body_bytes`` with the 413 envelope.

    A declared ``Content-Length`` over the limit is refused at the first
    read, before a byte of the body is taken in; a body without one (chunked)
    is counted as it streams in, and refused as soon as it passes the limit.
    The refusal is raised where the route reads its body, so the route is
    known by then (for metrics) and the app's handler answers it.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request, unless its body is or grows too large."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        refuse_at_once = (
            declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes
        )
        received = 0

        async def counted() -> Message:
            nonlocal received
            if refuse_at_once:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        await self.app(scope, counted, send)
