"""A server's settings, read from the environment: ``ServerSettings.from_env()``.

Every variable is named ``CHECKOUT_...``; ``docs/configuration.md`` lists
them with their defaults. An empty value counts as unset. A missing or bad
value raises :class:`ConfigurationError` naming the variable at start-up, so
a misconfigured server says what to fix instead of failing at its first sale.
Secrets (API keys, webhook and JWT secrets, passwords inside URLs) never
appear in a repr.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from attrs import field, frozen
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

__all__ = [
    "DEFAULT_DATABASE_URL",
    "ConfigurationError",
    "GatewayChoice",
    "RazorpayKeys",
    "ServerSettings",
    "StripeKeys",
]

DEFAULT_DATABASE_URL: Final = "sqlite:///checkout.db"
"""A SQLite file in the working directory: the embedded default, nothing to start."""

_MIN_JWT_SECRET_BYTES: Final = 32
"""RFC 7518: an HS256 key is at least as long as the hash."""
_PEM_MARKER: Final = "-----BEGIN"
_REDIS_SCHEMES: Final = frozenset({"redis", "rediss", "unix"})
_WEB_SCHEMES: Final = frozenset({"http", "https"})


class ConfigurationError(ValueError):
    """A setting is missing or wrong; the message names the variable and says what it takes."""


class GatewayChoice(enum.StrEnum):
    """Which payment gateway a server takes payments through (``CHECKOUT_GATEWAY``)."""

    SANDBOX = "sandbox"
    """The Razorpay adapter against the gateway sandbox, started inside the server."""
    RAZORPAY = "razorpay"
    STRIPE = "stripe"


def _hidden_password(url: str | None) -> str:
    if url is None:
        return "None"
    try:
        return repr(make_url(url).render_as_string(hide_password=True))
    except ArgumentError:
        # Not a URL SQLAlchemy reads (a Redis URL may not be): keep only its scheme.
        return repr(f"{urlsplit(url).scheme}://***")


@frozen
class RazorpayKeys:
    """A Razorpay account's API key pair and the secret its webhooks are signed with."""

    key_id: str
    key_secret: str = field(repr=False)
    webhook_secret: str = field(repr=False)


@frozen
class StripeKeys:
    """A Stripe account's secret API key and its webhook endpoint's signing secret."""

    api_key: str = field(repr=False)
    webhook_secret: str = field(repr=False)


@frozen
class ServerSettings:
    """What a checkout server needs to know about its world.

    ``razorpay`` is set when ``gateway`` is Razorpay, ``stripe`` when it is
    Stripe; the sandbox needs no keys. At most one of ``jwt_secret`` (HS256)
    and ``jwt_public_key`` (RS256, PEM text) is set; with neither, bearer
    tokens cannot be checked and a host decides what to do (the example app
    signs demo tokens with a secret of its own). ``public_url`` is where
    buyers reach the server, without a trailing slash.
    """

    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=_hidden_password)
    redis_url: str | None = field(default=None, repr=_hidden_password)
    gateway: GatewayChoice = GatewayChoice.SANDBOX
    razorpay: RazorpayKeys | None = None
    stripe: StripeKeys | None = None
    jwt_secret: str | None = field(default=None, repr=False)
    jwt_public_key: str | None = field(default=None, repr=False)
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    cors_origins: tuple[str, ...] = ()
    public_url: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ServerSettings:
        """Read every ``CHECKOUT_...`` variable of ``environ`` (the process's by default).

        Raises:
            ConfigurationError: a value is missing or wrong; the message names it.
        """
        env = _Environment(environ)
        gateway = _gateway(env)
        secret = env.get("CHECKOUT_JWT_SECRET")
        public_key = env.get("CHECKOUT_JWT_PUBLIC_KEY")
        if secret is not None and public_key is not None:
            raise ConfigurationError(
                "CHECKOUT_JWT_SECRET and CHECKOUT_JWT_PUBLIC_KEY are both set: "
                "set the secret for HS256 tokens or the public key for RS256, not both"
            )
        if secret is not None and len(secret.encode()) < _MIN_JWT_SECRET_BYTES:
            raise ConfigurationError(
                f"CHECKOUT_JWT_SECRET is too short: an HS256 secret has at least "
                f"{_MIN_JWT_SECRET_BYTES} bytes (try: openssl rand -hex 32)"
            )
        return cls(
            database_url=_database_url(env),
            redis_url=_redis_url(env),
            gateway=gateway,
            razorpay=_razorpay_keys(env) if gateway is GatewayChoice.RAZORPAY else None,
            stripe=_stripe_keys(env) if gateway is GatewayChoice.STRIPE else None,
            jwt_secret=secret,
            jwt_public_key=None if public_key is None else _public_key(public_key),
            jwt_audience=env.get("CHECKOUT_JWT_AUDIENCE"),
            jwt_issuer=env.get("CHECKOUT_JWT_ISSUER"),
            cors_origins=_cors_origins(env),
            public_url=_public_url(env),
        )


@frozen
class _Environment:
    """The variables, with empty values read as unset."""

    values: Mapping[str, str]

    def get(self, name: str) -> str | None:
        value = self.values.get(name, "").strip()
        return value or None

    def required(self, name: str, why: str) -> str:
        value = self.get(name)
        if value is None:
            raise ConfigurationError(f"{name} is not set: it is required {why}")
        return value


def _gateway(env: _Environment) -> GatewayChoice:
    name = (env.get("CHECKOUT_GATEWAY") or GatewayChoice.SANDBOX).lower()
    try:
        return GatewayChoice(name)
    except ValueError:
        choices = ", ".join(choice.value for choice in GatewayChoice)
        raise ConfigurationError(
            f"CHECKOUT_GATEWAY is {name!r}: it takes one of {choices}"
        ) from None


def _database_url(env: _Environment) -> str:
    url = env.get("CHECKOUT_DATABASE_URL") or DEFAULT_DATABASE_URL
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise ConfigurationError(
            "CHECKOUT_DATABASE_URL is not a database URL: give one such as "
            "postgresql+psycopg://user@host/db or sqlite:///checkout.db"
        ) from None
    if backend not in {"postgresql", "sqlite"}:
        raise ConfigurationError(
            f"CHECKOUT_DATABASE_URL names {backend}: the checkout runs on PostgreSQL or SQLite"
        )
    return url


def _redis_url(env: _Environment) -> str | None:
    url = env.get("CHECKOUT_REDIS_URL")
    if url is not None and urlsplit(url).scheme not in _REDIS_SCHEMES:
        raise ConfigurationError(
            "CHECKOUT_REDIS_URL is not a Redis URL: give one such as redis://127.0.0.1:6379/0"
        )
    return url


def _razorpay_keys(env: _Environment) -> RazorpayKeys:
    why = "when CHECKOUT_GATEWAY is razorpay"
    return RazorpayKeys(
        key_id=env.required("CHECKOUT_RAZORPAY_KEY_ID", why),
        key_secret=env.required("CHECKOUT_RAZORPAY_KEY_SECRET", why),
        webhook_secret=env.required("CHECKOUT_RAZORPAY_WEBHOOK_SECRET", why),
    )


def _stripe_keys(env: _Environment) -> StripeKeys:
    why = "when CHECKOUT_GATEWAY is stripe"
    return StripeKeys(
        api_key=env.required("CHECKOUT_STRIPE_API_KEY", why),
        webhook_secret=env.required("CHECKOUT_STRIPE_WEBHOOK_SECRET", why),
    )


def _public_key(value: str) -> str:
    """The PEM text itself, or the text of the file the value names."""
    if value.startswith(_PEM_MARKER):
        return value
    path = Path(value).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(
            f"CHECKOUT_JWT_PUBLIC_KEY is neither PEM text nor a readable file: "
            f"{path} ({error.strerror})"
        ) from None
    if _PEM_MARKER not in text:
        raise ConfigurationError(f"CHECKOUT_JWT_PUBLIC_KEY names {path}, which holds no PEM key")
    return text


def _web_origin(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in _WEB_SCHEMES or not parts.netloc:
        raise ConfigurationError(f"{name} holds {value!r}: it takes an http:// or https:// address")
    return value.rstrip("/")


def _cors_origins(env: _Environment) -> tuple[str, ...]:
    name = "CHECKOUT_CORS_ORIGINS"
    listed = [part.strip() for part in (env.get(name) or "").split(",")]
    if "*" in listed:
        # A checkout takes bearer tokens: every origin allowed to call it is named.
        raise ConfigurationError(f"{name} holds '*': list each origin allowed, comma-separated")
    return tuple(_web_origin(name, origin) for origin in listed if origin)


def _public_url(env: _Environment) -> str | None:
    url = env.get("CHECKOUT_PUBLIC_URL")
    return None if url is None else _web_origin("CHECKOUT_PUBLIC_URL", url)
