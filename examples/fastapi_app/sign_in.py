"""The demo's sign-in: a bearer token for whatever name a visitor types.

A real marketplace signs its buyers in with its identity provider, whose
tokens the checkout verifies (``CHECKOUT_JWT_SECRET`` or
``CHECKOUT_JWT_PUBLIC_KEY``). The demo has no accounts, so it issues an
HS256 token itself: with ``CHECKOUT_JWT_SECRET`` when set, else with a
secret made up when the process starts (tokens then die with the process).
When only a public key is configured the demo cannot sign, and offers no
sign-in.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Final

import jwt
from attrs import field, frozen
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, StringConstraints

from checkout_adapters.settings import ServerSettings
from checkout_core.ports import Clock

__all__ = ["DemoTokens", "SignInRequest", "demo_tokens", "sign_in_router"]

logger = logging.getLogger(__name__)

SIGN_IN_PATH: Final = "/demo/sign-in"
_TOKEN_LIFETIME: Final = timedelta(hours=1)
_NOT_A_WORD: Final = re.compile(r"[^a-z0-9]+")


@frozen
class DemoTokens:
    """Issues HS256 bearer tokens for demo users, as an identity provider would."""

    secret: str = field(repr=False)
    audience: str | None
    issuer: str | None
    clock: Clock
    lifetime: timedelta = _TOKEN_LIFETIME

    def issue(self, user_id: str, name: str) -> tuple[str, datetime]:
        """A token whose subject is ``user_id``, and when it expires."""
        now = self.clock.now()
        expires = now + self.lifetime
        claims: dict[str, object] = {"sub": user_id, "name": name, "iat": now, "exp": expires}
        if self.audience is not None:
            claims["aud"] = self.audience
        if self.issuer is not None:
            claims["iss"] = self.issuer
        return jwt.encode(claims, self.secret, algorithm="HS256"), expires


def demo_tokens(settings: ServerSettings, clock: Clock) -> DemoTokens | None:
    """The demo's token issuer for ``settings``; ``None`` when tokens come from a public key."""
    if settings.jwt_public_key is not None:
        return None
    secret = settings.jwt_secret
    if secret is None:
        secret = secrets.token_urlsafe(32)
        logger.warning(
            "DEMO sign-in: CHECKOUT_JWT_SECRET is not set, so this process signs its demo "
            "tokens with a secret of its own; they stop working when it stops. "
            "Never run a real shop like this."
        )
    return DemoTokens(secret, settings.jwt_audience, settings.jwt_issuer, clock)


def user_id_for(name: str) -> str:
    """A user id made of the name's letters and digits: ``"Asha Rao"`` is ``asha_rao``."""
    return _NOT_A_WORD.sub("_", name.lower()).strip("_")


class SignInRequest(BaseModel):
    """A visitor's name, as typed."""

    user_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


def sign_in_router(tokens: DemoTokens | None) -> APIRouter:
    """``POST /demo/sign-in``, which answers a bearer token; nothing without an issuer."""
    router = APIRouter(tags=["demo"])
    if tokens is None:
        return router

    @router.post(SIGN_IN_PATH)
    def sign_in(body: SignInRequest) -> JSONResponse:
        """Sign in as the typed name: a demo token, valid for an hour."""
        user_id = user_id_for(body.user_name)
        if not user_id:
            return JSONResponse(
                {
                    "status": 422,
                    "success": False,
                    "error": {
                        "code": 1001,
                        "message": "Type a name with a letter or a digit in it.",
                        "validation_messages": ["Type a name with a letter or a digit in it."],
                    },
                },
                status_code=422,
            )
        token, expires = tokens.issue(user_id, body.user_name)
        data = {"token": token, "user_id": user_id, "expires_at": expires.isoformat()}
        return JSONResponse({"status": 200, "success": True, "data": data})

    return router
