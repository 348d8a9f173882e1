"""How a host configures the HTTP API."""

from __future__ import annotations

from typing import Final

from attrs import field, frozen

from checkout_adapters.fastapi.identity import IdentityVerifier

__all__ = ["DEFAULT_MAX_BODY_BYTES", "RouterSettings"]

DEFAULT_MAX_BODY_BYTES: Final = 64 * 1024
"""Far above any request of the seed's API, and a webhook's body."""


def _explicit_origins(origins: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    listed = tuple(origins)
    if "*" in listed:
        raise ValueError("list the origins allowed to call the checkout; '*' is not accepted")
    return listed


def _positive(_instance: object, _attribute: object, value: int) -> None:
    if value < 1:
        raise ValueError(f"max_body_bytes must be positive, not {value}")


@frozen
class RouterSettings:
    """The HTTP API's settings.

    Attributes:
        identity: checks bearer tokens; ``None`` serves anonymous callers
            only (any bearer token presented is then refused as invalid).
        cors_origins: the browser origins allowed to call the API, each
            written out: ``*`` is refused.
        max_body_bytes: the largest request body accepted (413 above it).
        cart_url_base: where a cart is paid; a cart's ``cart_url`` is this
            followed by its token (``None``: no ``cart_url``).
        trust_forwarded_for: take the client address for rate limits from
            the last ``X-Forwarded-For`` entry, the one the proxy in front
            added. Leave it off unless exactly one trusted proxy is in front:
            otherwise callers choose their own address.
    """

    identity: IdentityVerifier | None = None
    cors_origins: tuple[str, ...] = field(default=(), converter=_explicit_origins)
    max_body_bytes: int = field(default=DEFAULT_MAX_BODY_BYTES, validator=_positive)
    cart_url_base: str | None = None
    trust_forwarded_for: bool = False
