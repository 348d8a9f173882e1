"""Predictable ids, for tests and reproducible demos."""

from __future__ import annotations

import itertools
import uuid

__all__ = ["SequentialIds"]


class SequentialIds:
    """Ids and tokens counted from one, so a run can be read and repeated.

    Never use it in production: its tokens are guessable by design.
    """

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def token(self) -> str:
        """The next token: a UUID-shaped string holding the counter."""
        return str(uuid.UUID(int=next(self._counter)))

    def id(self, prefix: str) -> str:
        """The next id with ``prefix`` (``enr_000001``)."""
        return f"{prefix}_{next(self._counter):06d}"
