"""The contract of ``ports.IdempotencyCache``: exclusive claims and faithful replays.

An adapter's test module subclasses :class:`IdempotencyCacheContract` and
provides the fixture ``idempotency_cache() -> IdempotencyCache``: an empty
cache on the real clock. Records are made from the real time, because a
Redis forgets keys by its own clock; the one test of a lifetime running out
waits a tenth of a second.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from checkout_core.domain.idempotency import IdempotencyRecord
from checkout_core.ports import IdempotencyCache

__all__ = ["IdempotencyCacheContract"]

_LEASE = timedelta(seconds=60)
_PRINT = "a" * 64
_OTHER_PRINT = "b" * 64


def _completed(
    key: str = "key-1",
    *,
    body: str = '{"order_token":"ord_1","total":"₹16,983.00"}',
    started: datetime | None = None,
    ttl: timedelta = timedelta(hours=24),
) -> IdempotencyRecord:
    begun = IdempotencyRecord.begin(key, _PRINT, started or datetime.now(UTC), ttl=ttl)
    return begun.complete(201, body)


class IdempotencyCacheContract:
    """What every ``IdempotencyCache`` adapter does.

    Subclasses provide the fixture ``idempotency_cache() -> IdempotencyCache``.
    """

    @pytest.fixture
    def idempotency_cache(self) -> IdempotencyCache:
        """An empty cache on the real clock; every subclass provides it."""
        raise NotImplementedError

    def test_a_key_never_seen_has_no_completed_record(
        self, idempotency_cache: IdempotencyCache
    ) -> None:
        assert idempotency_cache.completed("key-1") is None

    def test_a_claim_is_exclusive_whatever_the_request(
        self, idempotency_cache: IdempotencyCache
    ) -> None:
        assert idempotency_cache.claim("key-1", _PRINT, _LEASE) is True

        assert idempotency_cache.claim("key-1", _PRINT, _LEASE) is False
        assert idempotency_cache.claim("key-1", _OTHER_PRINT, _LEASE) is False
        assert idempotency_cache.claim("key-2", _PRINT, _LEASE) is True

    def test_a_key_in_progress_has_no_completed_record(
        self, idempotency_cache: IdempotencyCache
    ) -> None:
        idempotency_cache.claim("key-1", _PRINT, _LEASE)

        assert idempotency_cache.completed("key-1") is None

    def test_a_completed_record_replays_with_every_field(
        self, idempotency_cache: IdempotencyCache
    ) -> None:
        idempotency_cache.claim("key-1", _PRINT, _LEASE)
        record = _completed()

        idempotency_cache.store(record)

        assert idempotency_cache.completed("key-1") == record
        assert idempotency_cache.completed("key-2") is None

    def test_a_response_without_a_body_replays_as_an_empty_body(
        self, idempotency_cache: IdempotencyCache
    ) -> None:
        record = _completed(body="")

        idempotency_cache.store(record)

        replayed = idempotency_cache.completed("key-1")
        assert replayed is not None
        assert replayed.response_body == ""

    def test_a_key_with_a_completed_record_cannot_be_claimed(
        self, idempotency_cache: IdempotencyCache
    ) -> None:
        idempotency_cache.store(_completed())

        assert idempotency_cache.claim("key-1", _PRINT, _LEASE) is False

    def test_a_released_claim_may_be_claimed_again(
        self, idempotency_cache: IdempotencyCache
    ) -> None:
        idempotency_cache.claim("key-1", _PRINT, _LEASE)

        idempotency_cache.release("key-1")

        assert idempotency_cache.claim("key-1", _OTHER_PRINT, _LEASE) is True

    def test_releasing_leaves_a_completed_record(self, idempotency_cache: IdempotencyCache) -> None:
        record = _completed()
        idempotency_cache.store(record)

        idempotency_cache.release("key-1")

        assert idempotency_cache.completed("key-1") == record
        assert idempotency_cache.claim("key-1", _PRINT, _LEASE) is False

    def test_releasing_a_key_never_claimed_does_nothing(
        self, idempotency_cache: IdempotencyCache
    ) -> None:
        idempotency_cache.release("key-1")

        assert idempotency_cache.claim("key-1", _PRINT, _LEASE) is True

    def test_only_a_completed_record_is_stored(self, idempotency_cache: IdempotencyCache) -> None:
        in_progress = IdempotencyRecord.begin("key-1", _PRINT, datetime.now(UTC))

        with pytest.raises(ValueError, match="completed"):
            idempotency_cache.store(in_progress)
        assert idempotency_cache.claim("key-1", _PRINT, _LEASE) is True

    def test_a_record_whose_time_is_over_is_not_replayed_and_frees_its_key(
        self, idempotency_cache: IdempotencyCache
    ) -> None:
        idempotency_cache.claim("key-1", _PRINT, _LEASE)
        yesterday = datetime.now(UTC) - timedelta(days=2)

        idempotency_cache.store(_completed(started=yesterday, ttl=timedelta(days=1)))

        assert idempotency_cache.completed("key-1") is None
        assert idempotency_cache.claim("key-1", _PRINT, _LEASE) is True

    def test_marks_and_records_last_only_for_their_time(
        self, idempotency_cache: IdempotencyCache
    ) -> None:
        short = timedelta(milliseconds=50)
        idempotency_cache.claim("key-1", _PRINT, short)
        idempotency_cache.store(_completed("key-2", ttl=short))
        assert idempotency_cache.completed("key-2") is not None

        time.sleep(0.12)

        assert idempotency_cache.claim("key-1", _OTHER_PRINT, _LEASE) is True
        assert idempotency_cache.completed("key-2") is None
        assert idempotency_cache.claim("key-2", _PRINT, _LEASE) is True

    @pytest.mark.parametrize("lease", [timedelta(0), timedelta(seconds=-1)])
    def test_a_claim_is_made_for_a_positive_time(
        self, idempotency_cache: IdempotencyCache, lease: timedelta
    ) -> None:
        with pytest.raises(ValueError, match="positive"):
            idempotency_cache.claim("key-1", _PRINT, lease)
