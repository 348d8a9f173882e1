"""A cart cache in this process's memory, with lifetimes read from an injected clock."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from attrs import define, field, frozen

from checkout_core.domain.cart import Cart
from checkout_core.ports import Clock

__all__ = ["InMemoryCartCache"]


@frozen
class _Entry:
    cart: Cart
    expires_at: datetime


@define
class InMemoryCartCache:
    """Carts by token, each kept for the time it was put with.

    An entry is a miss from the moment its lifetime is over by ``clock``.
    At most ``max_entries`` carts are kept: when a put would exceed that,
    the expired entries go first and then the oldest ones, so an
    embedded process never grows without bound.
    """

    clock: Clock
    max_entries: int = 10_000
    _entries: dict[str, _Entry] = field(factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(factory=threading.Lock, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.max_entries < 1:
            raise ValueError(f"a cache keeps at least one entry, not {self.max_entries}")

    def get(self, token: str) -> Cart | None:
        """The cached cart, or ``None`` when it is absent or its lifetime is over."""
        now = self.clock.now()
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if now >= entry.expires_at:
                del self._entries[token]
                return None
            return entry.cart

    def put(self, cart: Cart, ttl: timedelta) -> None:
        """Cache ``cart`` for ``ttl`` from now, replacing what was cached for its token."""
        if ttl <= timedelta(0):
            raise ValueError(f"a cart is cached for a positive time, not {ttl}")
        now = self.clock.now()
        with self._lock:
            # Re-inserting moves the token to the end, where the newest entries are.
            self._entries.pop(cart.token, None)
            self._entries[cart.token] = _Entry(cart, now + ttl)
            if len(self._entries) > self.max_entries:
                self._evict(now)

    def invalidate(self, token: str) -> None:
        """Forget the cart with ``token``, if it was cached."""
        with self._lock:
            self._entries.pop(token, None)

    def _evict(self, now: datetime) -> None:
        expired = [token for token, entry in self._entries.items() if now >= entry.expires_at]
        for token in expired:
            del self._entries[token]
        # Dicts keep insertion order, so the first tokens are the ones put longest ago.
        while len(self._entries) > self.max_entries:
            del self._entries[next(iter(self._entries))]
