"""Who is calling: the identity behind a bearer token, and the port that finds it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol

from attrs import field, frozen

__all__ = ["Identity", "IdentityVerifier"]


def _read_only(claims: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(claims))


@frozen
class Identity:
    """A caller whose bearer token verified: their user id and the token's claims."""

    user_id: str
    claims: Mapping[str, object] = field(factory=dict, converter=_read_only, eq=False)


class IdentityVerifier(Protocol):
    """Turns a bearer token into the caller it names.

    ``verify`` raises :class:`~checkout_core.errors.InvalidToken` when the
    token does not verify, whatever the reason: the caller is told no more.
    """

    def verify(self, token: str) -> Identity:
        """The identity ``token`` proves, or :class:`~checkout_core.errors.InvalidToken`."""
        ...
