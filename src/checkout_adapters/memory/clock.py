"""A clock that stands still until told to move."""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["FixedClock"]


class FixedClock:
    """A controllable clock for tests, demos and replays."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = now

    def now(self) -> datetime:
        """The time the clock was set to."""
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by ``delta``."""
        self._now += delta

    def set(self, now: datetime) -> None:
        """Put the clock at ``now``."""
        self._now = now
