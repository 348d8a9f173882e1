"""Circuit breakers kept in the process: one per name, changed under a lock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from attrs import define, field

from checkout_core.domain.retry import CircuitBreaker

__all__ = ["InMemoryBreakerStore"]

T = TypeVar("T")


@define
class InMemoryBreakerStore:
    """Breakers of this process; several processes each keep their own (Redis shares them)."""

    template: CircuitBreaker = field(factory=CircuitBreaker)
    """What a breaker never stored starts as (the seed's 5 failures and 60 seconds)."""
    _breakers: dict[str, CircuitBreaker] = field(factory=dict, init=False)
    _lock: threading.Lock = field(factory=threading.Lock, init=False)

    def get(self, name: str) -> CircuitBreaker:
        """The breaker called ``name`` as it stands."""
        with self._lock:
            return self._breakers.get(name, self.template)

    def update(self, name: str, change: Callable[[CircuitBreaker], tuple[T, CircuitBreaker]]) -> T:
        """Change the breaker under the lock; return the verdict ``change`` gave."""
        with self._lock:
            verdict, changed = change(self._breakers.get(name, self.template))
            self._breakers[name] = changed
            return verdict
