"""The router's route class: every refusal of a checkout endpoint answered as the envelope.

A host that mounts only the router still gets the seed's envelope for
everything its endpoints refuse, invalid bodies included, because the routes
themselves turn errors into answers, and a transient fault that outlasted
the services' tries into a 503 with ``Retry-After``; the app-level handlers
(:func:`~checkout_adapters.fastapi.app.install_checkout`) cover what no route
sees: unknown paths, wrong methods, bodies too large, faults.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from returns.result import Failure, Result
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from checkout_adapters.fastapi.envelopes import invalid_request, refusal
from checkout_adapters.fastapi.metrics import HttpMetrics
from checkout_core.errors import (
    AuthenticationRequired,
    CheckoutError,
    InvalidRequest,
    InvalidToken,
    ServiceUnavailable,
)
from checkout_core.faults import TransientFault

__all__ = ["AUTH", "HTTP", "route_class", "unparsable_body", "unwrap"]

logger = logging.getLogger(__name__)

AUTH = "auth"
"""The service errors of authentication are counted under, whichever endpoint refused."""

HTTP = "http"
"""The service of refusals no service made: invalid requests, unknown routes, faults."""

T = TypeVar("T")
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def unwrap(result: Result[T, CheckoutError]) -> T:
    """The value of a ``Success``; a ``Failure``'s error is raised for the route to answer."""
    if isinstance(result, Failure):
        raise result.failure()
    return result.unwrap()


def unparsable_body(exc: Exception) -> InvalidRequest | None:
    """The invalid request behind FastAPI's refusal of a body it could not parse, else ``None``.

    A body that is not JSON is a validation error (422), but one that cannot
    even be decoded (bytes that are not UTF-8) FastAPI refuses with a bare
    ``HTTPException(400)`` raised from the decoding error. To a client both
    are the same invalid request, answered alike: 422, code 1001.
    """
    if (
        isinstance(exc, HTTPException)
        and exc.status_code == 400
        and isinstance(exc.__cause__, ValueError)
    ):
        return InvalidRequest(validation_messages=["body: the body could not be parsed"])
    return None


def route_class(metrics: HttpMetrics | None) -> type[APIRoute]:
    """A route class answering refusals as envelopes and counting them in ``metrics``.

    A route's first tag names the service its errors are counted under.
    """

    class CheckoutRoute(APIRoute):
        """A checkout endpoint: its refusals answered as the seed's error envelope."""

        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()
            service = str(self.tags[0]) if self.tags else HTTP

            async def answer(request: Request) -> Response:
                try:
                    return await handler(request)
                except CheckoutError as error:
                    refused = error
                    by = (
                        AUTH
                        if isinstance(error, InvalidToken | AuthenticationRequired)
                        else service
                    )
                except RequestValidationError as invalid:
                    refused, by = invalid_request(invalid.errors()), HTTP
                except HTTPException as refusing:
                    unparsable = unparsable_body(refusing)
                    if unparsable is None:
                        raise
                    refused, by = unparsable, HTTP
                except TransientFault as fault:
                    # Tried again already and still failing: nothing was kept, so say when
                    # to try once more. The type and the route, not the message.
                    logger.warning(
                        "a transient %s on %s outlasted its tries: answered 503",
                        type(fault.__cause__ or fault).__name__, self.path,
                    )  # fmt: skip
                    refused, by = ServiceUnavailable(), service
                if metrics is not None:
                    metrics.count_error(by, refused.code)
                return refusal(refused)

            return answer

    return CheckoutRoute
