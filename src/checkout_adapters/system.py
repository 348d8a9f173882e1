"""The real clock and the real source of randomness."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

__all__ = ["RandomIds", "SystemClock"]


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        return datetime.now(UTC)


class RandomIds:
    """Tokens and ids from the operating system's cryptographic random source."""

    def token(self) -> str:
        """128 random bits, written in the familiar 8-4-4-4-12 hexadecimal layout.

        All 128 bits are random: no UUID version bits are set, so a token is
        exactly as hard to guess as its length says.
        """
        return str(uuid.UUID(bytes=secrets.token_bytes(16)))

    def id(self, prefix: str) -> str:
        """``prefix`` and 128 random bits in hexadecimal (``enr_3f9c...``)."""
        return f"{prefix}_{secrets.token_hex(16)}"
