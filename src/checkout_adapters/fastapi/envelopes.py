"""The seed's envelopes as HTTP answers, each carrying the request's correlation id.

Every JSON answer, success or error, has a top-level ``correlation_id``: the
one the correlation middleware put in scope (``None`` when the host did not
install it). Errors answer with their own ``http_status``; a 429, and a 503
for a passing fault, say when to come back (``Retry-After``) and a 401 says how to authenticate
(``WWW-Authenticate: Bearer``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import JSONResponse

from checkout_adapters.observability.context import CORRELATION_ID
from checkout_adapters.presenters import Json, present_error, success
from checkout_core.errors import (
    CheckoutError,
    InvalidRequest,
    InvalidToken,
    ServiceUnavailable,
    TooManyAttempts,
)

__all__ = ["answer", "invalid_request", "refusal"]


def _correlated(body: Json) -> Json:
    return body | {"correlation_id": CORRELATION_ID.get()}


def answer(data: Json, *, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A 200 success envelope around ``data``."""
    return JSONResponse(_correlated(success(data)), headers=headers)


def invalid_request(problems: Sequence[Any]) -> InvalidRequest:
    """The 422 for a body or parameters that do not validate: one message per field.

    Each message names the field and the rule, never the value sent, which
    may be a token.
    """
    messages = [
        f"{'.'.join(str(part) for part in problem.get('loc', ()))}: {problem.get('msg', '')}"
        for problem in problems
        if isinstance(problem, Mapping)
    ]
    return InvalidRequest(validation_messages=messages or [InvalidRequest.message])


def refusal(
    error: CheckoutError,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The error envelope of ``error`` with the headers its status calls for.

    ``status`` overrides the error's own, for an HTTP refusal no error of the
    library names exactly (a host's own ``HTTPException``).
    """
    status = status or error.http_status
    extra = dict(headers or {})
    if isinstance(error, TooManyAttempts | ServiceUnavailable):
        extra["Retry-After"] = str(max(error.retry_after_seconds, 1))
    if status == 401:
        extra["WWW-Authenticate"] = (
            'Bearer error="invalid_token"' if isinstance(error, InvalidToken) else "Bearer"
        )
    body = present_error(error) | {"status": status}
    return JSONResponse(_correlated(body), status_code=status, headers=extra)
