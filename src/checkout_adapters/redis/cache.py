"""A cart cache in Redis, shared by every process of a host, counting its hits and misses.

A cart is one string key, ``{prefix}{token}``, holding
``<expiry in µs since the epoch>:<the cart as JSON>``. A cart is always
read and written alone, so its key needs no hash tag: on Redis Cluster each
cart lands on whatever slot its token hashes to, which spreads carts evenly.

The expiry is kept twice. Redis forgets the key after the ``ttl`` it was put
with (``SET ... PX``), which keeps memory bounded; and the value carries the
time the entry ends by the injected clock, past which a read is a miss even
if Redis still holds the key. The second is what the contract tests move
with a fixed clock; in production both agree, since the clock is the real
one.

Every read counts a hit or a miss twice over: in this process (:attr:`stats`)
and in Redis, on ``{prefix}stats:hits`` and ``{prefix}stats:misses``
(:meth:`shared_stats`), so the counts of every process add up. The shared
counts are sent in batches (``INCRBY`` every ``share_every`` reads, and on
:meth:`flush`), not one ``INCR`` per read: a counter round trip per read
would cost as much as the read itself. A value that
is not a cart entry (a counter read through a token such as ``stats:hits``,
which a client may send) is a miss, never an error.
"""

from __future__ import annotations

import contextlib
import math
import threading
from datetime import UTC, datetime, timedelta
from typing import Final

from attrs import define, field, frozen
from redis import Redis, RedisError

from checkout_adapters.redis.serialization import dump_cart, load_cart
from checkout_core.domain.cart import Cart
from checkout_core.ports import Clock

__all__ = ["CartCacheStats", "RedisCartCache"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_MILLISECOND: Final = timedelta(milliseconds=1)


@frozen
class CartCacheStats:
    """How many reads of the cache found their cart (hits) and how many did not (misses)."""

    hits: int = 0
    misses: int = 0

    @property
    def reads(self) -> int:
        """Every read counted: hits and misses."""
        return self.hits + self.misses

    @property
    def miss_rate(self) -> float:
        """The share of reads that missed, from 0.0 to 1.0 (0.0 before the first read)."""
        return self.misses / self.reads if self.reads else 0.0


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@define
class RedisCartCache:
    """Carts cached in Redis through ``client`` under ``{prefix}{token}``, timed by ``clock``."""

    client: Redis
    prefix: str = field(default="checkout:cart:", kw_only=True)
    clock: Clock = field(kw_only=True)
    share_every: int = field(default=100, kw_only=True)
    """How many reads this process counts before adding them to the shared counters."""
    _hits: int = field(default=0, init=False, repr=False)
    _misses: int = field(default=0, init=False, repr=False)
    _unshared: tuple[int, int] = field(default=(0, 0), init=False, repr=False)
    _mutex: threading.Lock = field(factory=threading.Lock, init=False, repr=False)

    @property
    def stats(self) -> CartCacheStats:
        """The hits and misses of this process's reads."""
        with self._mutex:
            return CartCacheStats(self._hits, self._misses)

    def shared_stats(self) -> CartCacheStats:
        """The hits and misses of every process's reads, as Redis counted them.

        This process's reads are all in; another process's may lag by fewer
        than its ``share_every`` reads.
        """
        self.flush()
        # Two GETs in one round trip; a pipeline, not MGET, because on Redis
        # Cluster the two counters may live on different slots.
        with self.client.pipeline(transaction=False) as pipe:
            pipe.get(self._hits_key)
            pipe.get(self._misses_key)
            hits, misses = pipe.execute()
        return CartCacheStats(int(hits or 0), int(misses or 0))

    def get(self, token: str) -> Cart | None:
        """The cached cart, or ``None`` when Redis lacks it or its time is over by the clock."""
        cart = self._read(token)
        with self._mutex:
            hits, misses = self._unshared
            if cart is None:
                self._misses += 1
                misses += 1
            else:
                self._hits += 1
                hits += 1
            self._unshared = (hits, misses)
            due = hits + misses >= self.share_every
        if due:
            # A cart read is not lost to a counter that could not be sent: the
            # counts stay in this process and go with the next batch.
            with contextlib.suppress(RedisError):
                self.flush()
        return cart

    def flush(self) -> None:
        """Add this process's reads not yet shared to the shared counters, in one round trip."""
        with self._mutex:
            hits, misses = self._unshared
            self._unshared = (0, 0)
        if not hits and not misses:
            return
        try:
            with self.client.pipeline(transaction=False) as pipe:
                if hits:
                    pipe.incrby(self._hits_key, hits)
                if misses:
                    pipe.incrby(self._misses_key, misses)
                pipe.execute()
        except BaseException:
            # Unsent counts go back, to be sent with the next batch.
            with self._mutex:
                more_hits, more_misses = self._unshared
                self._unshared = (more_hits + hits, more_misses + misses)
            raise

    def put(self, cart: Cart, ttl: timedelta) -> None:
        """Cache ``cart`` for ``ttl`` from now, replacing what was cached for its token."""
        if ttl <= timedelta(0):
            raise ValueError(f"a cart is cached for a positive time, not {ttl}")
        until = _micros(self.clock.now() + ttl)
        self.client.set(
            self._key(cart.token),
            f"{until}:{dump_cart(cart)}",
            px=max(1, math.ceil(ttl / _MILLISECOND)),
        )

    def invalidate(self, token: str) -> None:
        """Forget the cart with ``token``, if it was cached."""
        self.client.delete(self._key(token))

    def _read(self, token: str) -> Cart | None:
        stored: bytes | str | None = self.client.get(self._key(token))
        if stored is None:
            return None
        until, separator, cart = _text(stored).partition(":")
        if not separator or not until.isdigit():
            return None
        if _micros(self.clock.now()) >= int(until):
            return None
        return load_cart(cart)

    def _key(self, token: str) -> str:
        return f"{self.prefix}{token}"

    @property
    def _hits_key(self) -> str:
        return f"{self.prefix}stats:hits"

    @property
    def _misses_key(self) -> str:
        return f"{self.prefix}stats:misses"
