"""In-memory adapters: the embedded default and the fakes the tests use."""

from __future__ import annotations

from checkout_adapters.memory.clock import FixedClock
from checkout_adapters.memory.ids import SequentialIds

__all__ = ["FixedClock", "SequentialIds"]
