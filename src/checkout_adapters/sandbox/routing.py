"""Requests, responses and routes: the plain values the sandbox's HTTP server passes around.

The server reads a request off the socket into an :class:`ApiRequest`, finds
the :class:`Route` that matches it and writes back the :class:`ApiResponse`
the route's handler made. Keeping the socket out of the emulations lets each
be read, and tested, as a function from request to response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from attrs import field, frozen

__all__ = [
    "ApiRequest",
    "ApiResponse",
    "Handler",
    "JsonObject",
    "Route",
    "dispatch",
    "json_response",
    "to_json",
]


def _lowercase_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


@frozen
class ApiRequest:
    """One HTTP request as the sandbox received it.

    ``headers`` are keyed by lowercase name, since HTTP header names are
    case-insensitive; ``query`` is the raw query string, without its ``?``.
    """

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(factory=dict, converter=_lowercase_keys)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The value of the header ``name`` (any case), or ``None``."""
        return self.headers.get(name.lower())


@frozen
class ApiResponse:
    """What the sandbox answers: a status, a body and the headers that go with them."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def to_json(payload: object, *, indent: int | None = None) -> bytes:
    """``payload`` as UTF-8 JSON, non-ASCII characters written as themselves.

    Compact unless ``indent`` is given. The providers send the rupee sign as
    the character itself, not as an escape; so does the sandbox.
    """
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(payload, ensure_ascii=False, indent=indent, separators=separators).encode()


def json_response(
    status: int,
    payload: object,
    *,
    headers: Iterable[tuple[str, str]] = (),
    indent: int | None = None,
) -> ApiResponse:
    """A JSON response of ``payload``."""
    return ApiResponse(status, to_json(payload, indent=indent), headers=tuple(headers))


Handler = Callable[[ApiRequest, Mapping[str, str]], ApiResponse]
"""A route's handler: the request and the path's named groups -> the response."""


@frozen
class Route:
    """A method and a path pattern (a regular expression with named groups) and their handler."""

    method: str
    pattern: str
    handler: Handler
    _regex: re.Pattern[str] = field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        # A frozen class sets its derived field through object.__setattr__, as attrs advises.
        object.__setattr__(self, "_regex", re.compile(self.pattern))

    def match(self, request: ApiRequest) -> dict[str, str] | None:
        """The path's named groups if this route answers ``request``, else ``None``."""
        if request.method != self.method:
            return None
        found = self._regex.fullmatch(request.path)
        return None if found is None else found.groupdict()

    def knows(self, path: str) -> bool:
        """Whether the path matches, whatever the method."""
        return self._regex.fullmatch(path) is not None


def dispatch(routes: Iterable[Route], request: ApiRequest) -> ApiResponse | None:
    """The answer of the first route that matches ``request``; ``None`` when none does."""
    for route in routes:
        groups = route.match(request)
        if groups is not None:
            return route.handler(request, groups)
    return None


JsonObject = dict[str, Any]
"""An entity as the providers write it: a JSON object."""
