"""The checkout as a FastAPI app, or installed into a host's own app.

:func:`install_checkout` adds to an app everything the seed's API needs
around :func:`~checkout_adapters.fastapi.routes.checkout_router`: CORS for
the listed origins, the body limit, correlation ids, the envelope for every
refusal (invalid bodies 422 with one message per field, unknown paths 404,
wrong methods 405, bodies too large 413, faults 500 with nothing of the
fault in them), ``/healthz``, ``/readyz`` and, given metrics, ``/metrics``.
:func:`checkout_app` is a new app with all of it installed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from checkout_adapters.fastapi.answers import Envelope, HealthData, error_responses
from checkout_adapters.fastapi.envelopes import answer, invalid_request, refusal
from checkout_adapters.fastapi.metrics import HttpMetrics
from checkout_adapters.fastapi.middleware import (
    CORRELATION_HEADER,
    BodyLimitMiddleware,
    CorrelationMiddleware,
)
from checkout_adapters.fastapi.routes import checkout_router
from checkout_adapters.fastapi.routing import HTTP, unparsable_body
from checkout_adapters.fastapi.settings import RouterSettings
from checkout_core.errors import (
    CheckoutError,
    InvalidRequest,
    MethodNotAllowed,
    NotReady,
    RequestTooLarge,
    UnknownRoute,
)
from checkout_core.services import Checkout

__all__ = ["Readiness", "checkout_app", "install_checkout"]

Readiness = Callable[[], Mapping[str, bool]]
"""Checks of what the app needs to serve, by name: ``{"database": True}``."""

_BY_STATUS: Final[Mapping[int, type[CheckoutError]]] = {
    UnknownRoute.http_status: UnknownRoute,
    MethodNotAllowed.http_status: MethodNotAllowed,
    RequestTooLarge.http_status: RequestTooLarge,
}
_ALLOWED_HEADERS: Final = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    CORRELATION_HEADER,
)
_EXPOSED_HEADERS: Final = (CORRELATION_HEADER, "Retry-After", "Idempotent-Replayed")


def checkout_app(
    checkout: Checkout,
    settings: RouterSettings,
    *,
    metrics: HttpMetrics | None = None,
    readiness: Readiness | None = None,
    title: str = "checkout",
) -> FastAPI:
    """A FastAPI app serving the seed's API over ``checkout``, with everything around it."""
    app = FastAPI(title=title)
    install_checkout(app, checkout, settings, metrics=metrics, readiness=readiness)
    return app


def install_checkout(
    app: FastAPI,
    checkout: Checkout,
    settings: RouterSettings,
    *,
    metrics: HttpMetrics | None = None,
    readiness: Readiness | None = None,
) -> None:
    """Mount the checkout on the host's ``app``, with its middleware and handlers.

    Call it before the app starts. The exception handlers and middleware
    apply to the whole app: the host's own routes answer refusals in the
    seed's envelope too.
    """
    app.include_router(checkout_router(checkout, settings, metrics=metrics))
    app.include_router(_operations_router(metrics, readiness))
    app.add_exception_handler(HTTPException, _http_refusal(metrics))
    app.add_exception_handler(RequestValidationError, _validation_refusal(metrics))
    # Added innermost first: the correlation id is in scope for all the others.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        # Bearer tokens travel in a header, never in cookies: no credentials mode.
        allow_credentials=False,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=list(_ALLOWED_HEADERS),
        expose_headers=list(_EXPOSED_HEADERS),
        max_age=600,
    )
    app.add_middleware(CorrelationMiddleware, metrics=metrics)


def _http_refusal(metrics: HttpMetrics | None) -> Callable[[Request, Exception], Response]:
    def handle(_request: Request, exc: Exception) -> Response:
        unparsable = unparsable_body(exc)
        if unparsable is not None:
            # A host's route refuses an undecodable body as the checkout's routes do.
            if metrics is not None:
                metrics.count_error(HTTP, unparsable.code)
            return refusal(unparsable)
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        headers = exc.headers if isinstance(exc, HTTPException) else None
        known = _BY_STATUS.get(status)
        error = known() if known else InvalidRequest() if status < 500 else CheckoutError()
        if metrics is not None:
            metrics.count_error(HTTP, error.code)
        return refusal(error, status=status, headers=headers)

    return handle


def _validation_refusal(metrics: HttpMetrics | None) -> Callable[[Request, Exception], Response]:
    def handle(_request: Request, exc: Exception) -> Response:
        problems = exc.errors() if isinstance(exc, RequestValidationError) else ()
        error = invalid_request(problems)
        if metrics is not None:
            metrics.count_error(HTTP, error.code)
        return refusal(error)

    return handle


def _operations_router(metrics: HttpMetrics | None, readiness: Readiness | None) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=Envelope[HealthData], responses=error_responses())
    def healthz() -> JSONResponse:
        """The process is up and serving."""
        return answer({"status": "ok", "checks": {}})

    @router.get(
        "/readyz",
        response_model=Envelope[HealthData],
        responses=error_responses(503),
    )
    def readyz() -> JSONResponse:
        """Every readiness check passes (503 naming those that do not)."""
        checks = dict(readiness()) if readiness is not None else {}
        failing = sorted(name for name, ready in checks.items() if not ready)
        if failing:
            return refusal(
                NotReady(validation_messages=[f"{name} is not ready" for name in failing])
            )
        return answer({"status": "ready", "checks": checks})

    if metrics is not None:

        @router.get("/metrics", include_in_schema=False)
        def render_metrics() -> Response:
            """The metrics in the exposition format."""
            body, content_type = metrics.render()
            return Response(body, media_type=content_type)

    return router
