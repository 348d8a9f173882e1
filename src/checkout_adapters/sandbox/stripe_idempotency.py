"""Stripe's idempotency keys: a POST repeated under the same key gets the first answer again.

Stripe keeps the answer of a request that ran, by its ``Idempotency-Key``
header. The same key with the same parameters replays that answer with
``Idempotent-Replayed: true``; the same key on another endpoint or with
other parameters is refused with an ``idempotency_error``. Only successful
answers are kept here: a refused request did not run, so Stripe would run
it again too.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from attrs import define, field, frozen

from checkout_adapters.sandbox.routing import ApiRequest, ApiResponse
from checkout_adapters.sandbox.stripe_params import StripeApiError

__all__ = ["IdempotencyKeys"]


@frozen
class _Remembered:
    endpoint: str
    params: tuple[tuple[str, str], ...]
    response: ApiResponse


@define
class IdempotencyKeys:
    """The answers kept under each idempotency key. Callers hold the emulation's lock."""

    _remembered: dict[str, _Remembered] = field(factory=dict, init=False)

    def answer(self, request: ApiRequest, run: Callable[[], ApiResponse]) -> ApiResponse:
        """The answer to ``request``: a replay, a refusal, or what ``run`` answers now."""
        key = request.header("idempotency-key")
        if not key or request.method != "POST":
            return run()
        endpoint = f"{request.method} {request.path}"
        params = tuple(sorted(parse_qsl(request.body.decode(errors="replace"))))
        remembered = self._remembered.get(key)
        if remembered is None:
            response = run()
            if response.status == 200:
                self._remembered[key] = _Remembered(endpoint, params, response)
            return response
        if remembered.endpoint != endpoint:
            return StripeApiError(
                400,
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{remembered.endpoint}' vs '{endpoint}'). Try using a key "
                f"other than '{key}' if you meant to execute a different request.",
                type="idempotency_error",
            ).response()
        if remembered.params != params:
            return StripeApiError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type="idempotency_error",
            ).response()
        response = remembered.response
        return ApiResponse(
            response.status,
            response.body,
            response.content_type,
            (*response.headers, ("Idempotent-Replayed", "true")),
        )
