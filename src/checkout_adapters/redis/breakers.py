"""Circuit breakers kept in Redis, so that every process of a host sees one breaker.

A breaker is one Redis hash of plain fields. A change is an optimistic
transaction: ``WATCH`` the key, read the breaker, compute the new one, and
write it in ``MULTI``/``EXEC``; if another process changed it meanwhile,
the transaction is refused and the change is computed again from what that
process wrote. Five failures seen by five different processes open the
breaker for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Final, TypeVar

from attrs import define, field
from redis import Redis, WatchError
from redis.typing import EncodableT, FieldT

from checkout_core.domain.retry import BreakerState, CircuitBreaker

__all__ = ["RedisBreakerStore"]

T = TypeVar("T")

_ATTEMPTS: Final = 50


def _dump(breaker: CircuitBreaker) -> dict[FieldT, EncodableT]:
    return {
        "failure_threshold": str(breaker.failure_threshold),
        "recovery_timeout": str(breaker.recovery_timeout.total_seconds()),
        "state": breaker.state.value,
        "consecutive_failures": str(breaker.consecutive_failures),
        "opened_at": breaker.opened_at.isoformat() if breaker.opened_at else "",
        "probe_started_at": breaker.probe_started_at.isoformat()
        if breaker.probe_started_at
        else "",
    }


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _load(stored: Mapping[bytes | str, bytes | str], template: CircuitBreaker) -> CircuitBreaker:
    if not stored:
        return template
    fields = {_text(key): _text(value) for key, value in stored.items()}

    def moment(name: str) -> datetime | None:
        return datetime.fromisoformat(fields[name]) if fields[name] else None

    return CircuitBreaker(
        failure_threshold=int(fields["failure_threshold"]),
        recovery_timeout=timedelta(seconds=float(fields["recovery_timeout"])),
        state=BreakerState(fields["state"]),
        consecutive_failures=int(fields["consecutive_failures"]),
        opened_at=moment("opened_at"),
        probe_started_at=moment("probe_started_at"),
    )


@define
class RedisBreakerStore:
    """Breakers shared by every process through ``client`` under keys ``{prefix}{name}``."""

    client: Redis
    prefix: str = "checkout:breaker:"
    template: CircuitBreaker = field(factory=CircuitBreaker)
    """What a breaker never stored starts as (the seed's 5 failures and 60 seconds)."""

    def get(self, name: str) -> CircuitBreaker:
        """The breaker called ``name`` as every process sees it."""
        return _load(self.client.hgetall(self._key(name)), self.template)

    def update(self, name: str, change: Callable[[CircuitBreaker], tuple[T, CircuitBreaker]]) -> T:
        """Change the breaker in one optimistic transaction; return the verdict ``change`` gave.

        Raises:
            RuntimeError: other processes changed the breaker every time, 50 times in a row.
        """
        key = self._key(name)
        with self.client.pipeline() as pipe:
            for _ in range(_ATTEMPTS):
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                    verdict, changed = change(_load(pipe.hgetall(key), self.template))
                    pipe.multi()
                    pipe.hset(key, mapping=_dump(changed))
                    pipe.execute()
                except WatchError:
                    continue
                return verdict
        raise RuntimeError(f"breaker {name} kept changing under this process")

    def _key(self, name: str) -> str:
        # The braces make the key its own hash slot on Redis Cluster.
        return f"{self.prefix}{{{name}}}"
