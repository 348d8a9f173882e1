"""The contract of ``ports.Lock``: one holder per name, fencing tokens that only grow.

An adapter's test module subclasses :class:`LockContract` and provides the
fixture ``lock(clock: FixedClock) -> Lock``: a lock with nothing held that
reads the time from ``clock``, which the tests move.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from checkout_adapters.memory import FixedClock
from checkout_core.ports import Lock, LockLease
from tests.contract.unit_of_work import NOW

__all__ = ["LockContract"]

_TTL = timedelta(seconds=30)
_SECOND = timedelta(seconds=1)


def _granted(lease: LockLease | None) -> LockLease:
    assert lease is not None, "the lock was not granted"
    return lease


class LockContract:
    """What every ``Lock`` adapter does, with time told by a fixed clock.

    Subclasses provide the fixture ``lock(clock: FixedClock) -> Lock``;
    ``clock`` is this contract's fixture, starting at ``NOW``.
    """

    @pytest.fixture
    def clock(self) -> FixedClock:
        """The time the lock reads; tests move it."""
        return FixedClock(NOW)

    @pytest.fixture
    def lock(self, clock: FixedClock) -> Lock:
        """A lock with nothing held, reading ``clock``; every subclass provides it."""
        raise NotImplementedError

    def test_a_free_lock_is_granted_until_its_time_is_up(self, lock: Lock) -> None:
        lease = _granted(lock.acquire("jobs.expire_carts", _TTL))

        assert lease.name == "jobs.expire_carts"
        assert lease.expires_at == NOW + _TTL

    def test_a_held_lock_is_refused_to_anyone_else(self, lock: Lock, clock: FixedClock) -> None:
        _granted(lock.acquire("jobs.expire_carts", _TTL))
        clock.advance(_TTL - _SECOND)

        assert lock.acquire("jobs.expire_carts", _TTL) is None

    def test_locks_of_other_names_are_independent(self, lock: Lock) -> None:
        _granted(lock.acquire("jobs.expire_carts", _TTL))

        assert lock.acquire("jobs.daily_report", _TTL) is not None

    def test_a_released_lock_is_granted_again_with_a_greater_token(self, lock: Lock) -> None:
        first = _granted(lock.acquire("jobs.expire_carts", _TTL))

        lock.release(first)
        second = _granted(lock.acquire("jobs.expire_carts", _TTL))

        assert second.fencing_token > first.fencing_token

    def test_a_lease_whose_time_is_up_is_taken_over_with_a_greater_token(
        self, lock: Lock, clock: FixedClock
    ) -> None:
        first = _granted(lock.acquire("jobs.expire_carts", _TTL))
        clock.advance(_TTL + _SECOND)

        second = _granted(lock.acquire("jobs.expire_carts", _TTL))

        assert second.fencing_token > first.fencing_token
        assert second.expires_at == clock.now() + _TTL

    def test_a_stale_lease_releases_nothing(self, lock: Lock, clock: FixedClock) -> None:
        stale = _granted(lock.acquire("jobs.expire_carts", _TTL))
        clock.advance(_TTL + _SECOND)
        _granted(lock.acquire("jobs.expire_carts", _TTL))

        lock.release(stale)

        assert lock.acquire("jobs.expire_carts", _TTL) is None

    def test_releasing_twice_frees_only_once(self, lock: Lock) -> None:
        first = _granted(lock.acquire("jobs.expire_carts", _TTL))
        lock.release(first)
        second = _granted(lock.acquire("jobs.expire_carts", _TTL))

        lock.release(first)

        assert lock.acquire("jobs.expire_carts", _TTL) is None
        lock.release(second)
        assert lock.acquire("jobs.expire_carts", _TTL) is not None

    def test_fencing_tokens_strictly_increase_with_every_grant(
        self, lock: Lock, clock: FixedClock
    ) -> None:
        tokens = []
        for turn in range(6):
            lease = _granted(lock.acquire("jobs.expire_carts", _TTL))
            tokens.append(lease.fencing_token)
            if turn % 2:
                lock.release(lease)
            else:
                clock.advance(_TTL + _SECOND)

        assert tokens == sorted(set(tokens))
