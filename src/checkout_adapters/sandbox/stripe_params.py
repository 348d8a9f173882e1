"""Stripe's parameters, checked as Stripe checks them: unknown names refused, values typed.

A schema is a dict of parameter names to :data:`SCALAR` (a string, as every
form value is), :data:`METADATA` (string keys to strings, within Stripe's
limits), a nested schema, or a one-element list holding the schema of each
item. :func:`checked` walks the decoded form against it, turning arrays into
lists, and refuses what Stripe refuses with Stripe's messages.
"""

from __future__ import annotations

from typing import Any, Final

from checkout_adapters.sandbox.forms import FormError, as_list
from checkout_adapters.sandbox.routing import ApiResponse, JsonObject, json_response

__all__ = [
    "METADATA",
    "SCALAR",
    "StripeApiError",
    "checked",
    "integer",
    "metadata",
]

SCALAR: Final = "scalar"
"""A plain value: a string in the form."""
METADATA: Final = "metadata"
"""A ``metadata`` hash: up to 50 keys of up to 40 characters, values up to 500."""

_MAX_METADATA_KEYS: Final = 50
_MAX_METADATA_KEY: Final = 40
_MAX_METADATA_VALUE: Final = 500


class StripeApiError(Exception):
    """An answer of Stripe's error shape, raised inside a handler.

    The SDK reads ``type``, ``code``, ``message`` and ``param``; a 400 or 404
    becomes ``InvalidRequestError`` (``IdempotencyError`` for the type
    ``idempotency_error``), a 401 ``AuthenticationError``, a 5xx ``APIError``.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # noqa: A002 - Stripe's field is named type
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        error: JsonObject = {"type": type, "message": message}
        if code is not None:
            error["code"] = code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        if param is not None:
            error["param"] = param
        self.body: JsonObject = {"error": error}

    def response(self, headers: tuple[tuple[str, str], ...] = ()) -> ApiResponse:
        """The error as Stripe answers it."""
        return json_response(self.status, self.body, headers=headers, indent=2)


def checked(params: JsonObject, schema: dict[str, Any], prefix: str = "") -> JsonObject:
    """``params`` checked against ``schema``, arrays read as lists.

    Raises:
        StripeApiError: an unknown parameter, a hash where a value belongs or
            the other way round, or metadata beyond Stripe's limits.
    """
    result: JsonObject = {}
    for name, value in params.items():
        param = f"{prefix}[{name}]" if prefix else name
        if name not in schema:
            raise StripeApiError(400, f"Received unknown parameter: {param}", param=param)
        result[name] = _checked_value(value, schema[name], param)
    return result


def _checked_value(value: object, schema: object, param: str) -> object:
    if schema == SCALAR:
        if not isinstance(value, str):
            raise StripeApiError(400, f"Invalid string: {param} is a hash", param=param)
        return value
    if schema == METADATA:
        return metadata(value, param)
    if isinstance(schema, list):
        try:
            items = as_list(value, param)
        except FormError as exc:
            raise StripeApiError(400, str(exc), param=exc.param) from None
        return [_checked_value(item, schema[0], f"{param}[{i}]") for i, item in enumerate(items)]
    if not isinstance(value, dict) or not isinstance(schema, dict):
        raise StripeApiError(400, f"Invalid object: {param} is not a hash", param=param)
    return checked(value, schema, param)


def metadata(value: object, param: str) -> dict[str, str]:
    """A ``metadata`` hash as Stripe keeps it: empty values dropped, limits checked.

    Raises:
        StripeApiError: not a hash of strings, or beyond Stripe's limits.
    """
    if value == "":
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise StripeApiError(400, f"Invalid object: {param} is not a hash", param=param)
    if len(value) > _MAX_METADATA_KEYS:
        raise StripeApiError(
            400, "Metadata can have up to 50 keys, but you passed more.", param=param
        )
    for key, item in value.items():
        if len(key) > _MAX_METADATA_KEY:
            raise StripeApiError(
                400, "Metadata keys can be up to 40 characters long.", param=f"{param}[{key}]"
            )
        if len(item) > _MAX_METADATA_VALUE:
            raise StripeApiError(
                400, "Metadata values can be up to 500 characters long.", param=f"{param}[{key}]"
            )
    # An empty value unsets a key; on a new object there is nothing to unset.
    return {key: item for key, item in value.items() if item != ""}


def integer(value: object, param: str, *, minimum: int = 0) -> int:
    """A form value read as an integer of at least ``minimum``.

    Raises:
        StripeApiError: not an integer, or too small (Stripe's
            ``parameter_invalid_integer``).
    """
    text = value if isinstance(value, str) else ""
    number = int(text) if text.lstrip("-").isdigit() else None
    if number is None or number < minimum:
        kind = "positive integer" if minimum > 0 else "non-negative integer"
        raise StripeApiError(400, f"Invalid {kind}", code="parameter_invalid_integer", param=param)
    return number
