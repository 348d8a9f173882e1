"""Checkout without Redis: port wrappers that turn a Redis fault into a degradation.

Redis only ever holds copies and hints in the checkout; PostgreSQL holds the
records. So when Redis is down or slow, a request should go on without it
rather than fail. Each wrapper here takes any implementation of a port and
catches a *fault* of the world (:class:`redis.exceptions.RedisError`, which
covers ``ConnectionError`` and ``TimeoutError``, and :class:`OSError`) and
answers what is safe without Redis:

========================  ===========================  ================================
port and operation        on a fault                   why it is safe
========================  ===========================  ================================
cart cache ``get``        a miss (``None``)            the cart is read from the database
cart cache ``put``        nothing cached               the next read goes to the database
cart cache ``invalidate`` retried later (see below)    the entry must not outlive the fault
rate limiter ``hit``      allowed, or refused for a    as the host configures per limiter
                          short ``retry_after``
idempotency ``completed`` ``None``                     the database holds every record
idempotency ``claim``     ``True``                     the database's claim is exclusive
idempotency ``store``     nothing cached               replays are served by the database
idempotency ``release``   retried later                a stale mark must not block retries
lock ``acquire``          ``None``                     no instance runs the job, not two
lock ``release``          nothing                      the lease ends with its ttl
breakers ``get``          the process's own breaker    it was last copied from Redis, and
                                                       counts what this process saw since
breakers ``update``       the change is made to the    the process protects itself alone
                          process's own breaker        until Redis answers
========================  ===========================  ================================

Every degradation is counted in a :class:`Degradations` per port and
operation, and logged at ``WARNING`` (at most once per port per
``log_interval`` seconds, with the number of degradations since the last
line; the counts are always exact). Anything else an adapter raises (a
``ValueError`` for a bad argument, a bug) is not a fault of Redis and
propagates unchanged.

Writes that failed leave Redis possibly holding an entry older than the
database: the put of a cart's new state, or the invalidation after an
order, did not happen; a released idempotency mark is still there. The
wrappers remember those keys in a bounded set of *pending invalidations*
(the cart cache) or *pending releases* (the idempotency cache): while a key
is pending, the wrapper never serves it from Redis, and it retries the
invalidation (or release) first when the key is asked for and, for every
pending key, up to 20 per call, after the calls that reach Redis. Dropping an entry is
always safe (the next read goes to the database), so a retry that runs
late only costs a miss. This protects the process that saw the fault;
another process reading the same Redis meanwhile can still see the old
entry until this process's retry runs (normally the first request after
Redis comes back) or the entry's ttl ends.

:func:`redis_client` builds a client for these adapters: tens of
milliseconds of timeouts and no retries, so that a dead or stalled Redis
costs a few tens of milliseconds per call, not seconds. A request makes a
few calls (an estimate reads the cart and writes it back), so a stalled
Redis costs it a few timeouts; with ``pause`` a wrapper stops trying Redis
for that many seconds after a fault, each call then degrading at once
(counted, with the error :class:`NotTried`), so it costs one timeout per
pause instead of one per call.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import timedelta
from typing import ClassVar, Final, TypeVar

from attrs import define, field, validators
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from checkout_adapters.memory.breakers import InMemoryBreakerStore
from checkout_core.domain.cart import Cart
from checkout_core.domain.idempotency import IdempotencyRecord
from checkout_core.domain.limits import RateDecision, RateLimit
from checkout_core.domain.retry import CircuitBreaker
from checkout_core.ports import (
    BreakerStore,
    CartCache,
    IdempotencyCache,
    Lock,
    LockLease,
    RateLimiter,
)

__all__ = [
    "FAULTS",
    "Degradations",
    "DegradingBreakerStore",
    "DegradingCartCache",
    "DegradingIdempotencyCache",
    "DegradingLock",
    "DegradingRateLimiter",
    "NotTried",
    "redis_client",
]

T = TypeVar("T")

logger = logging.getLogger(__name__)

FAULTS: Final[tuple[type[Exception], ...]] = (RedisError, OSError)
"""What counts as Redis being down or slow: any error of redis-py, and socket errors."""

_MAX_PENDING: Final = 10_000
_RETRIES_PER_CALL: Final = 20


def redis_client(
    url: str, *, timeout: float = 0.05, health_check_interval: int = 5, **options: object
) -> Redis:
    """A client for ``url`` that gives up on Redis fast, for the degrading wrappers.

    ``timeout`` (seconds) bounds connecting and every read and write of a
    command; redis-py's retries are off (one attempt per call), so a dead or
    stalled Redis costs a call at most about ``timeout`` and a refused
    connection costs nothing. A connection idle for more than
    ``health_check_interval`` seconds is checked with a ``PING`` (under the
    same timeout) before it is used again; with no retries, a broken one
    then fails that call (a degradation) and the next call reconnects.
    ``options`` are passed on to
    :meth:`redis.Redis.from_url` (a password, ``max_connections``...).
    """
    if timeout <= 0:
        raise ValueError(f"a Redis timeout is a positive number of seconds, not {timeout}")
    return Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        health_check_interval=health_check_interval,
        **options,
    )


@define
class Degradations:
    """How often each port degraded, per operation: thread-safe plain counts.

    :meth:`record` counts one degradation and logs it at ``WARNING`` with the
    port, the operation and the error; a port is logged at most once per
    ``log_interval`` seconds (by ``monotonic``), the line saying how many
    degradations it had since its last one. :meth:`snapshot` gives the counts
    as plain data for an exporter.
    """

    log_interval: float = 10.0
    monotonic: Callable[[], float] = time.monotonic
    _counts: dict[tuple[str, str], int] = field(factory=dict, init=False, repr=False)
    _total: int = field(default=0, init=False, repr=False)
    _last_logged: dict[str, float] = field(factory=dict, init=False, repr=False)
    _unlogged: dict[str, int] = field(factory=dict, init=False, repr=False)
    _mutex: threading.Lock = field(factory=threading.Lock, init=False, repr=False)

    def record(self, port: str, operation: str, error: BaseException) -> None:
        """Count one degradation of ``port`` in ``operation`` caused by ``error``, and log it."""
        now = self.monotonic()
        with self._mutex:
            key = (port, operation)
            self._counts[key] = self._counts.get(key, 0) + 1
            self._total += 1
            since = self._unlogged.get(port, 0) + 1
            last = self._last_logged.get(port)
            if last is not None and now - last < self.log_interval:
                self._unlogged[port] = since
                return
            self._last_logged[port] = now
            self._unlogged[port] = 0
        logger.warning(
            "Redis degraded: %s.%s failed with %s (%s); going on without Redis "
            "(%d degradation(s) of %s since its last report)",
            port,
            operation,
            type(error).__name__,
            error,
            since,
            port,
        )

    def count(self, port: str, operation: str | None = None) -> int:
        """The degradations of ``port`` in ``operation``, or in all its operations."""
        with self._mutex:
            return sum(
                number
                for (counted_port, counted_operation), number in self._counts.items()
                if counted_port == port and operation in {None, counted_operation}
            )

    @property
    def total(self) -> int:
        """Every degradation counted, of every port."""
        with self._mutex:
            return self._total

    def snapshot(self) -> dict[str, int]:
        """The counts by ``"port.operation"``, and their sum under ``"total"``."""
        with self._mutex:
            counts = {f"{port}.{operation}": n for (port, operation), n in self._counts.items()}
            counts["total"] = self._total
        return dict(sorted(counts.items()))


@define
class _Pending:
    """Keys whose entry in Redis may be stale, oldest first, at most ``limit`` of them."""

    limit: int = _MAX_PENDING
    _keys: OrderedDict[str, None] = field(factory=OrderedDict, init=False)
    _mutex: threading.Lock = field(factory=threading.Lock, init=False)

    def add(self, key: str) -> bool:
        """Remember ``key``; ``False`` when the oldest key had to be forgotten to make room."""
        with self._mutex:
            self._keys[key] = None
            self._keys.move_to_end(key)
            if len(self._keys) <= self.limit:
                return True
            self._keys.popitem(last=False)
            return False

    def __contains__(self, key: object) -> bool:
        with self._mutex:
            return key in self._keys

    def discard(self, key: str) -> None:
        with self._mutex:
            self._keys.pop(key, None)

    def take(self, count: int) -> list[str]:
        """Remove and return up to ``count`` of the oldest keys."""
        with self._mutex:
            return [self._keys.popitem(last=False)[0] for _ in range(min(count, len(self._keys)))]

    def __len__(self) -> int:
        with self._mutex:
            return len(self._keys)


class NotTried(Exception):
    """Why a call did not go to Redis: it failed moments ago and the wrapper pauses."""


class _Degraded(Exception):
    """A call to Redis failed or was skipped; it is counted and logged already."""


@define
class _Guard:
    """Runs the calls of one wrapper: counts each fault, and pauses after one if asked to."""

    port: str
    counter: Degradations
    pause: float
    _until: float = field(default=-math.inf, init=False)

    def __attrs_post_init__(self) -> None:
        if self.pause < 0:
            raise ValueError(f"a pause after a fault is not negative, not {self.pause}")

    def call(self, operation: str, call: Callable[[], T]) -> T:
        """What ``call`` returns; raises :class:`_Degraded` on a fault or while paused."""
        if self.pause and self.counter.monotonic() < self._until:
            self.counter.record(
                self.port, operation, NotTried(f"Redis failed under {self.pause} s ago")
            )
            raise _Degraded
        try:
            return call()
        except FAULTS as error:
            self.counter.record(self.port, operation, error)
            if self.pause:
                self._until = self.counter.monotonic() + self.pause
            raise _Degraded from error

    def remember(self, pending: _Pending, key: str) -> None:
        """Make ``key`` pending; count it when that forgets the oldest pending key."""
        if not pending.add(key):
            self.counter.record(
                self.port, "forgotten", OverflowError("too many pending keys: dropped the oldest")
            )

    def retry(self, pending: _Pending, undo: Callable[[str], None]) -> None:
        """Run ``undo`` for some pending keys after a call reached Redis; stop at a fault."""
        if not len(pending):
            return
        keys = pending.take(_RETRIES_PER_CALL)
        for done, key in enumerate(keys):
            try:
                self.call("retry", functools.partial(undo, key))
            except _Degraded:
                for left in keys[done:]:
                    self.remember(pending, left)
                return


@define
class DegradingCartCache:
    """A :class:`~checkout_core.ports.CartCache` that goes on from the database when Redis fails.

    - ``get``: a fault is a miss (``None``), so the cart is read from the
      database. A cart whose invalidation is pending is a miss too: its
      invalidation is retried first, and it is not read from Redis.
    - ``put``: a fault caches nothing. Redis may still hold the cart's
      earlier state, so its token becomes a pending invalidation.
    - ``invalidate``: a fault leaves the entry in Redis; the token becomes a
      pending invalidation (never served, retried as the module says).

    After every call that reached Redis, up to 20 pending invalidations are
    retried. At most ``max_pending`` tokens are remembered; past that the
    oldest is forgotten (counted as ``cart_cache.forgotten``) and its entry
    may be served stale by Redis until the cart's ttl ends.

    With ``pause`` (seconds, 0 by default), a fault makes the next calls for
    that long degrade at once without trying Redis (counted, with the error
    :class:`NotTried`): a stalled Redis then costs one timeout per pause,
    not one per call.
    """

    inner: CartCache
    counter: Degradations
    max_pending: int = field(default=_MAX_PENDING, kw_only=True, validator=validators.ge(1))
    pause: float = field(default=0.0, kw_only=True)
    _pending: _Pending = field(init=False, repr=False)
    _guard: _Guard = field(init=False, repr=False)

    PORT: ClassVar[str] = "cart_cache"

    def __attrs_post_init__(self) -> None:
        self._pending = _Pending(self.max_pending)
        self._guard = _Guard(self.PORT, self.counter, self.pause)

    def get(self, token: str) -> Cart | None:
        """The cart Redis holds for ``token``; ``None`` on a miss, a fault, or a pending token."""
        try:
            if token in self._pending:
                self._guard.call("retry", lambda: self.inner.invalidate(token))
                self._pending.discard(token)
                cart = None
            else:
                cart = self._guard.call("get", lambda: self.inner.get(token))
        except _Degraded:
            return None
        self._guard.retry(self._pending, self.inner.invalidate)
        return cart

    def put(self, cart: Cart, ttl: timedelta) -> None:
        """Cache ``cart`` for ``ttl``; on a fault, make sure its older state is never served."""
        try:
            self._guard.call("put", lambda: self.inner.put(cart, ttl))
        except _Degraded:
            self._guard.remember(self._pending, cart.token)
            return
        # The entry now holds the newest state: nothing older is left to invalidate.
        self._pending.discard(cart.token)
        self._guard.retry(self._pending, self.inner.invalidate)

    def invalidate(self, token: str) -> None:
        """Forget ``token``'s cart; on a fault, keep trying until Redis has forgotten it."""
        try:
            self._guard.call("invalidate", lambda: self.inner.invalidate(token))
        except _Degraded:
            self._guard.remember(self._pending, token)
            return
        self._pending.discard(token)
        self._guard.retry(self._pending, self.inner.invalidate)

    @property
    def pending(self) -> int:
        """How many tokens wait for their invalidation to reach Redis."""
        return len(self._pending)


@define
class DegradingRateLimiter:
    """A :class:`~checkout_core.ports.RateLimiter` that decides by policy when Redis fails.

    On a fault nothing can be counted, so the verdict is the host's policy:
    with ``fail_open`` the attempt is allowed (``remaining`` is reported as
    ``limit - 1``, as for the first attempt of a window), which keeps the
    checkout selling while abuse goes unchecked; without it the attempt is
    refused with ``remaining`` 0 and a short ``retry_after`` (one second by
    default), which protects what the limit guards (logins, coupon guessing)
    at the cost of refusing everyone until Redis answers. Wrap each limiter
    with the policy its limits need.

    ``pause`` is as for :class:`DegradingCartCache`; with ``fail_open``
    false, a pause turns one fault into refusals for that long, so keep it
    short there.
    """

    inner: RateLimiter
    fail_open: bool = field(kw_only=True)
    counter: Degradations = field(kw_only=True)
    retry_after: timedelta = field(default=timedelta(seconds=1), kw_only=True)
    pause: float = field(default=0.0, kw_only=True)
    _guard: _Guard = field(init=False, repr=False)

    PORT: ClassVar[str] = "rate_limiter"

    def __attrs_post_init__(self) -> None:
        self._guard = _Guard(self.PORT, self.counter, self.pause)

    def hit(self, limit: RateLimit, key: str) -> RateDecision:
        """Count one attempt of ``key``; on a fault, allow or refuse it as configured."""
        try:
            return self._guard.call("hit", lambda: self.inner.hit(limit, key))
        except _Degraded:
            pass
        if self.fail_open:
            return RateDecision(allowed=True, remaining=limit.limit - 1)
        return RateDecision(allowed=False, remaining=0, retry_after=self.retry_after)


@define
class DegradingIdempotencyCache:
    """An :class:`~checkout_core.ports.IdempotencyCache` that leaves the database to decide.

    The database's idempotency records are the truth and their claim is
    exclusive, so the cache may only ever say less than it knows:

    - ``completed``: a fault is ``None``; the record is read from the database.
    - ``claim``: a fault is ``True``: the request goes on to claim the key in
      the database, which refuses a second claim.
    - ``store``: a fault caches nothing; replays are served by the database.
      An in-progress mark may be left in Redis, so the key's release becomes
      pending.
    - ``release``: a fault may leave the in-progress mark, which would make
      retries wait for its ttl; the release becomes pending.

    A key with a pending release is not read from Redis (``completed`` is
    ``None``, ``claim`` retries the release first), and pending releases are
    retried after each call that reached Redis. Releasing a mark is always
    safe: the database still refuses duplicates. ``max_pending`` and
    ``pause`` are as for :class:`DegradingCartCache`.
    """

    inner: IdempotencyCache
    counter: Degradations
    max_pending: int = field(default=_MAX_PENDING, kw_only=True, validator=validators.ge(1))
    pause: float = field(default=0.0, kw_only=True)
    _pending: _Pending = field(init=False, repr=False)
    _guard: _Guard = field(init=False, repr=False)

    PORT: ClassVar[str] = "idempotency_cache"

    def __attrs_post_init__(self) -> None:
        self._pending = _Pending(self.max_pending)
        self._guard = _Guard(self.PORT, self.counter, self.pause)

    def completed(self, key: str) -> IdempotencyRecord | None:
        """The completed record Redis holds for ``key``; ``None`` on a fault or a pending key."""
        if key in self._pending:
            return None
        try:
            record = self._guard.call("completed", lambda: self.inner.completed(key))
        except _Degraded:
            return None
        self._guard.retry(self._pending, self.inner.release)
        return record

    def claim(self, key: str, fingerprint: str, ttl: timedelta) -> bool:
        """Mark ``key`` in progress; on a fault ``True``, and the database's claim decides."""
        try:
            if key in self._pending:
                self._guard.call("retry", lambda: self.inner.release(key))
                self._pending.discard(key)
            claimed = self._guard.call("claim", lambda: self.inner.claim(key, fingerprint, ttl))
        except _Degraded:
            return True
        self._guard.retry(self._pending, self.inner.release)
        return claimed

    def store(self, record: IdempotencyRecord) -> None:
        """Cache the completed ``record``; on a fault, make sure no stale mark stays."""
        try:
            self._guard.call("store", lambda: self.inner.store(record))
        except _Degraded:
            self._guard.remember(self._pending, record.key)
            return
        self._pending.discard(record.key)
        self._guard.retry(self._pending, self.inner.release)

    def release(self, key: str) -> None:
        """Forget ``key``'s in-progress mark; on a fault, keep trying until Redis forgot it."""
        try:
            self._guard.call("release", lambda: self.inner.release(key))
        except _Degraded:
            self._guard.remember(self._pending, key)
            return
        self._pending.discard(key)
        self._guard.retry(self._pending, self.inner.release)

    @property
    def pending(self) -> int:
        """How many keys wait for their release to reach Redis."""
        return len(self._pending)


@define
class DegradingLock:
    """A :class:`~checkout_core.ports.Lock` that runs no job rather than two when Redis fails.

    - ``acquire``: a fault is ``None``, as if another instance held the lock:
      without Redis nobody can know who holds it, and a scheduled job skipped
      once runs next time, while two instances running it at once is what
      the lock exists to prevent.
    - ``release``: a fault is logged and counted; the lease ends by itself
      when its ttl is over.

    ``pause`` is as for :class:`DegradingCartCache`.
    """

    inner: Lock
    counter: Degradations
    pause: float = field(default=0.0, kw_only=True)
    _guard: _Guard = field(init=False, repr=False)

    PORT: ClassVar[str] = "lock"

    def __attrs_post_init__(self) -> None:
        self._guard = _Guard(self.PORT, self.counter, self.pause)

    def acquire(self, name: str, ttl: timedelta) -> LockLease | None:
        """Take the lock ``name`` for ``ttl``; ``None`` when it is held or Redis failed."""
        try:
            return self._guard.call("acquire", lambda: self.inner.acquire(name, ttl))
        except _Degraded:
            return None

    def release(self, lease: LockLease) -> None:
        """Give the lock back; on a fault, leave it to expire with its lease."""
        try:
            self._guard.call("release", lambda: self.inner.release(lease))
        except _Degraded:
            return


@define
class DegradingBreakerStore:
    """A :class:`~checkout_core.ports.BreakerStore` shared through Redis, kept by the process too.

    Every breaker read from Redis or written there is also copied into the
    process's own store (``local``), so the process always holds the last
    shared state it saw. When Redis fails:

    - ``get`` answers the process's own breaker: the shared one as last seen,
      with what this process saw since;
    - ``update`` makes the change to the process's own breaker, so failures
      still open it and an open breaker still refuses calls, for this
      process alone.

    Once Redis answers again the shared breaker is read and changed there,
    as before; what this process counted meanwhile stays its own (five
    failures seen by five processes during the fault do not open the
    shared breaker). ``pause`` is as for :class:`DegradingCartCache`.
    """

    inner: BreakerStore
    counter: Degradations
    local: BreakerStore = field(factory=InMemoryBreakerStore, kw_only=True)
    """The process's own breakers; give it the template the shared store has."""
    pause: float = field(default=0.0, kw_only=True)
    _guard: _Guard = field(init=False, repr=False)

    PORT: ClassVar[str] = "breakers"

    def __attrs_post_init__(self) -> None:
        self._guard = _Guard(self.PORT, self.counter, self.pause)

    def get(self, name: str) -> CircuitBreaker:
        """The shared breaker ``name``; on a fault, the process's own."""
        try:
            shared = self._guard.call("get", lambda: self.inner.get(name))
        except _Degraded:
            return self.local.get(name)
        self._keep(name, shared)
        return shared

    def update(self, name: str, change: Callable[[CircuitBreaker], tuple[T, CircuitBreaker]]) -> T:
        """Change the shared breaker ``name``; on a fault, change the process's own."""
        written: list[CircuitBreaker] = []

        def recorded(breaker: CircuitBreaker) -> tuple[T, CircuitBreaker]:
            verdict, changed = change(breaker)
            # An optimistic store may call this again after a conflict: the last call stands.
            written.append(changed)
            return verdict, changed

        try:
            verdict = self._guard.call("update", lambda: self.inner.update(name, recorded))
        except _Degraded:
            return self.local.update(name, change)
        self._keep(name, written[-1])
        return verdict

    def _keep(self, name: str, breaker: CircuitBreaker) -> None:
        self.local.update(name, lambda _own: (None, breaker))
