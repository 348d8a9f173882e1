"""Identifiers shaped like the providers' own (``order_Kx3...``, ``pi_3Mt...``)."""

from __future__ import annotations

import secrets
import string

__all__ = ["provider_id"]

_ALPHABET = string.ascii_letters + string.digits


def provider_id(prefix: str, length: int) -> str:
    """``prefix`` followed by ``length`` random letters and digits."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))
