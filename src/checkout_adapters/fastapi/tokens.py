"""Bearer tokens as JSON Web Tokens, checked with pyjwt on one pinned algorithm.

The algorithm is fixed when the verifier is built, never read from the
token: a token naming ``none``, or HS256 signed with the RSA public key as
its secret (the classic confusion), fails like any forgery. ``exp`` is
required; ``nbf``, ``aud`` and ``iss`` are checked, the last two required
when configured; ``sub`` is the user id and must be a non-empty string.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final, Self

import jwt
from attrs import frozen
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from checkout_adapters.fastapi.identity import Identity
from checkout_core.errors import InvalidToken

__all__ = ["JwtVerifier"]

# RFC 7518 asks for an HMAC key at least as long as the hash: 32 bytes for HS256.
_MIN_HS256_SECRET: Final = 32
_DEFAULT_LEEWAY: Final = timedelta(seconds=30)


@frozen
class JwtVerifier:
    """An :class:`~checkout_adapters.fastapi.identity.IdentityVerifier` for JWTs.

    Build it with :meth:`hs256` (a shared secret) or :meth:`rs256` (the
    issuer's RSA public key). ``audience`` and ``issuer`` are required
    arguments, ``None`` to skip the check, so skipping one is a decision.
    """

    key: str | bytes | RSAPublicKey
    algorithm: str
    audience: str | None
    issuer: str | None
    leeway: timedelta = _DEFAULT_LEEWAY

    @classmethod
    def hs256(
        cls,
        secret: str | bytes,
        *,
        audience: str | None,
        issuer: str | None,
        leeway: timedelta = _DEFAULT_LEEWAY,
    ) -> Self:
        """A verifier of HS256 tokens signed with ``secret`` (at least 32 bytes)."""
        raw = secret.encode() if isinstance(secret, str) else secret
        if len(raw) < _MIN_HS256_SECRET:
            raise ValueError(f"an HS256 secret needs at least {_MIN_HS256_SECRET} bytes")
        return cls(raw, "HS256", audience, issuer, leeway)

    @classmethod
    def rs256(
        cls,
        public_key_pem: str | bytes,
        *,
        audience: str | None,
        issuer: str | None,
        leeway: timedelta = _DEFAULT_LEEWAY,
    ) -> Self:
        """A verifier of RS256 tokens, checked with the issuer's PEM-encoded RSA public key."""
        pem = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        key = load_pem_public_key(pem)
        if not isinstance(key, RSAPublicKey):
            raise TypeError("RS256 needs an RSA public key")
        return cls(key, "RS256", audience, issuer, leeway)

    def verify(self, token: str) -> Identity:
        """The identity ``token`` proves, or :class:`~checkout_core.errors.InvalidToken`."""
        required = ["exp", "sub"]
        required += [
            name for name, value in (("aud", self.audience), ("iss", self.issuer)) if value
        ]
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": required, "verify_aud": self.audience is not None},
            )
        except jwt.PyJWTError as invalid:
            # The reason stays out of the answer: a forger learns nothing from it.
            raise InvalidToken(validation_messages=["The bearer token is not valid."]) from invalid
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken(validation_messages=["The bearer token is not valid."])
        return Identity(user_id=subject, claims=claims)
