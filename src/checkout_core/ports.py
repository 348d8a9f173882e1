"""The driven ports: what the core needs from the world, as ``typing.Protocol`` classes.

Adapters in ``checkout_adapters`` implement them; the core never imports an
adapter. Each port is named for its role.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["Clock", "IdGenerator"]


class Clock(Protocol):
    """Tells the time, so that tests and property tests can control it."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class IdGenerator(Protocol):
    """Makes identifiers and bearer tokens."""

    def token(self) -> str:
        """A new unguessable token carrying 128 random bits (a cart or order token)."""
        ...

    def id(self, prefix: str) -> str:
        """A new identifier with a readable ``prefix`` (``"enr"`` gives ``"enr_..."``)."""
        ...
