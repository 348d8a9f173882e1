from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from checkout_adapters.memory import FixedClock, SequentialIds
from checkout_adapters.system import RandomIds, SystemClock


def test_random_tokens_carry_128_random_bits_and_do_not_repeat() -> None:
    ids = RandomIds()
    tokens = {ids.token() for _ in range(2000)}
    assert len(tokens) == 2000
    for token in list(tokens)[:50]:
        assert uuid.UUID(token).int.bit_length() <= 128
        assert len(token) == 36
    # Were the version bits fixed (as uuid4 fixes them), one nibble would never vary.
    assert len({token[14] for token in tokens}) > 8


def test_random_ids_carry_their_prefix() -> None:
    assert re.fullmatch(r"enr_[0-9a-f]{32}", RandomIds().id("enr"))


def test_the_system_clock_is_aware_and_in_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert abs(datetime.now(UTC) - now) < timedelta(seconds=5)


def test_a_fixed_clock_moves_only_when_told() -> None:
    start = datetime(2024, 6, 15, tzinfo=UTC)
    clock = FixedClock(start)
    assert clock.now() == start
    clock.advance(timedelta(hours=1))
    assert clock.now() == start + timedelta(hours=1)
    clock.set(start)
    assert clock.now() == start


def test_a_fixed_clock_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2024, 6, 15))  # noqa: DTZ001 - the naive time is the point


def test_sequential_ids_count_from_one() -> None:
    ids = SequentialIds()
    assert ids.token() == "00000000-0000-0000-0000-000000000001"
    assert ids.id("enr") == "enr_000002"
