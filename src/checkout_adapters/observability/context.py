"""The correlation id of the request being served, for logs and answers alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

__all__ = ["CORRELATION_ID", "correlation_scope"]

CORRELATION_ID: Final[ContextVar[str | None]] = ContextVar("checkout_correlation_id", default=None)
"""The id of the request in hand, ``None`` outside a request."""


@contextmanager
def correlation_scope(correlation_id: str) -> Iterator[str]:
    """Make ``correlation_id`` the current one until the block ends."""
    token = CORRELATION_ID.set(correlation_id)
    try:
        yield correlation_id
    finally:
        CORRELATION_ID.reset(token)
