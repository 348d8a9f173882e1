"""Who is calling, and from where: the bearer identity and the client address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from checkout_adapters.fastapi.identity import Identity
from checkout_adapters.fastapi.settings import RouterSettings
from checkout_core.errors import InvalidToken

__all__ = ["OPTIONAL_BEARER", "client_address", "identity_dependency"]

OPTIONAL_BEARER: Final[dict[str, object]] = {"security": [{}]}
"""The ``openapi_extra`` of an endpoint a caller may use signed in or not.

FastAPI documents the bearer scheme as required; the empty requirement added
to it says that no credentials are fine too.
"""

_BEARER = HTTPBearer(
    auto_error=False,
    description="A JSON Web Token of the host's identity provider; `sub` is the user id.",
)


def identity_dependency(settings: RouterSettings) -> Callable[..., Identity | None]:
    """A dependency giving the caller's identity, or ``None`` when they sent no token.

    A token that does not verify is refused
    (:class:`~checkout_core.errors.InvalidToken`), never taken as anonymous:
    so is an ``Authorization`` header that is not a bearer token, and any
    token when the host configured no verifier.
    """

    def identity(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> Identity | None:
        if credentials is None:
            if "authorization" in request.headers:
                raise InvalidToken(validation_messages=["The bearer token is not valid."])
            return None
        if settings.identity is None:
            raise InvalidToken(validation_messages=["The bearer token is not valid."])
        return settings.identity.verify(credentials.credentials)

    return identity


def client_address(request: Request, settings: RouterSettings) -> str | None:
    """The address rate limits count against: the peer's, or the trusted proxy's report of it."""
    if settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        # The last entry is the one the proxy in front added; the ones before it
        # are whatever the caller claimed.
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.client.host if request.client else None
