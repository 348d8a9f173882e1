from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from checkout_core.domain.redelivery import (
    LOOKBACK,
    STALLED_AFTER,
    RedeliveryPolicy,
    RelayedEvent,
)

PAID_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _relayed(sent_after: timedelta) -> RelayedEvent:
    return RelayedEvent("evt_1", "ord_1", PAID_AT, PAID_AT + sent_after)


def test_by_default_an_order_is_looked_after_from_ten_minutes_to_a_week_after_its_payment() -> None:
    policy = RedeliveryPolicy()

    assert (policy.stalled_after, policy.lookback) == (STALLED_AFTER, LOOKBACK)
    assert STALLED_AFTER == 10 * MINUTE
    assert policy.stalled_window(PAID_AT) == (PAID_AT - timedelta(days=7), PAID_AT - 10 * MINUTE)


def test_an_event_relayed_at_once_is_due_again_ten_minutes_later() -> None:
    policy = RedeliveryPolicy()
    event = _relayed(timedelta(seconds=1))

    assert policy.due_at(event) == event.sent_at + 10 * MINUTE
    assert not policy.is_due(event, event.sent_at + 10 * MINUTE - timedelta.resolution)
    assert policy.is_due(event, event.sent_at + 10 * MINUTE)


def test_an_event_sent_an_hour_after_the_payment_waits_another_hour() -> None:
    event = _relayed(timedelta(hours=1))

    assert RedeliveryPolicy().due_at(event) == PAID_AT + timedelta(hours=2)


def test_an_order_never_completed_is_published_again_ten_times_in_its_week() -> None:
    # The job every five minutes, the relay at once: copies at 15 min, 30 min, 1 h, 2 h, ...
    policy = RedeliveryPolicy()
    sent_at, copies = PAID_AT, []
    now = PAID_AT
    while now < PAID_AT + timedelta(days=8):
        now += 5 * MINUTE
        updated_from, updated_before = policy.stalled_window(now)
        event = RelayedEvent("evt_1", "ord_1", PAID_AT, sent_at)
        if updated_from <= PAID_AT < updated_before and policy.is_due(event, now):
            copies.append(now - PAID_AT)
            sent_at = now

    assert copies == [
        15 * MINUTE,
        30 * MINUTE,
        *(timedelta(hours=2**doubling) for doubling in range(8)),
    ]


@pytest.mark.parametrize("stalled_after", [timedelta(0), -MINUTE])
def test_a_delay_that_is_not_positive_is_refused(stalled_after: timedelta) -> None:
    with pytest.raises(ValueError, match="stalled_after is a positive time"):
        RedeliveryPolicy(stalled_after=stalled_after)


def test_a_lookback_no_longer_than_the_delay_is_refused() -> None:
    week = timedelta(days=7)
    with pytest.raises(ValueError, match=re.escape(f"lookback ({week}) must be longer than")):
        RedeliveryPolicy(stalled_after=week, lookback=week)


def test_naive_times_are_refused() -> None:
    naive = datetime(2026, 3, 1, 12, 0)  # noqa: DTZ001 - the mistake under test
    with pytest.raises(ValueError, match="sent_at must be a timezone-aware datetime"):
        RelayedEvent("evt_1", "ord_1", PAID_AT, naive)
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime"):
        RedeliveryPolicy().is_due(_relayed(MINUTE), naive)
