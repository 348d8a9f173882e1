"""An identity verifier over a fixed table of credentials, for tests and demos."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from attrs import field, frozen

from checkout_core.domain.messages import Identity

__all__ = ["StaticIdentityVerifier"]


def _read_only(identities: Mapping[str, Identity]) -> Mapping[str, Identity]:
    return MappingProxyType(dict(identities))


@frozen
class StaticIdentityVerifier:
    """Knows the callers it was given: each credential (a bearer token) maps to an identity.

    Meant for tests and the demo: its credentials are whatever it was given,
    so it has no secret worth the name.
    """

    identities: Mapping[str, Identity] = field(converter=_read_only)

    def verify(self, credentials: str) -> Identity | None:
        """The identity behind ``credentials``, or ``None`` when they are unknown."""
        if not credentials:
            return None
        return self.identities.get(credentials)
