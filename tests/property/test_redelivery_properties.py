from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta

import attrs
from hypothesis import given
from hypothesis import strategies as st

from checkout_core.domain.redelivery import RedeliveryPolicy, RelayedEvent
from tests.strategies import aware_datetimes, redelivery_policies, relayed_events, spans

# How late a sweep may find a due event, and how late the relay may then send it.
lags = st.lists(st.tuples(spans(0, 3_600), spans(0, 3_600)), min_size=1, max_size=25)
fractions = st.floats(0, 1, exclude_max=True)


def _short_of(span: timedelta, fraction: float) -> timedelta:
    """Some time shorter than ``span``: a product with a float is rounded to the microsecond."""
    return (span - timedelta.resolution) * fraction


@given(redelivery_policies(), relayed_events(), fractions)
def test_an_event_is_never_published_again_sooner_than_stalled_after_since_its_last_relay(
    policy: RedeliveryPolicy, event: RelayedEvent, fraction: float
) -> None:
    assert not policy.is_due(event, event.sent_at + _short_of(policy.stalled_after, fraction))


@given(redelivery_policies(), relayed_events(), fractions)
def test_an_event_is_never_published_again_sooner_than_it_had_waited_when_last_sent(
    policy: RedeliveryPolicy, event: RelayedEvent, fraction: float
) -> None:
    assert not policy.is_due(event, event.sent_at + _short_of(event.waited, fraction))


@given(redelivery_policies(), relayed_events(), spans())
def test_an_event_is_due_once_its_wait_is_over_and_stays_due(
    policy: RedeliveryPolicy, event: RelayedEvent, later: timedelta
) -> None:
    due_at = policy.due_at(event)

    assert due_at - event.sent_at == max(policy.stalled_after, event.waited)
    assert policy.is_due(event, due_at)
    assert policy.is_due(event, due_at + later)


@given(redelivery_policies(), relayed_events())
def test_a_relay_whose_clock_is_behind_gets_no_earlier_copy_than_stalled_after(
    policy: RedeliveryPolicy, event: RelayedEvent
) -> None:
    skewed = attrs.evolve(event, sent_at=event.occurred_at - timedelta(seconds=1))

    assert policy.due_at(skewed) == skewed.sent_at + policy.stalled_after


def _republishes(
    policy: RedeliveryPolicy,
    occurred_at: datetime,
    first_relay: timedelta,
    lags: list[tuple[timedelta, timedelta]],
) -> list[timedelta]:
    """When, after the event happened, copies of an event never handled were decided.

    Each copy is decided ``lag`` after it fell due and relayed ``relay_lag``
    after that; the event is relayed the first time ``first_relay`` after it
    happened.
    """
    sent_at = occurred_at + first_relay
    decided: list[timedelta] = []
    for lag, relay_lag in lags:
        event = RelayedEvent("evt_1", "ord_1", occurred_at, sent_at)
        decided_at = policy.due_at(event) + lag
        assert policy.is_due(event, decided_at)
        decided.append(decided_at - occurred_at)
        sent_at = decided_at + relay_lag
    return decided


@given(redelivery_policies(), aware_datetimes(), spans(0, 3_600), lags)
def test_each_copy_comes_at_least_twice_as_long_after_the_event_as_the_one_before(
    policy: RedeliveryPolicy,
    occurred_at: datetime,
    first_relay: timedelta,
    lags: list[tuple[timedelta, timedelta]],
) -> None:
    decided = _republishes(policy, occurred_at, first_relay, lags)

    assert decided[0] >= policy.stalled_after
    for earlier, later in itertools.pairwise(decided):
        assert later >= 2 * earlier
    gaps = [later - earlier for earlier, later in itertools.pairwise(decided)]
    assert gaps == sorted(gaps)


@given(redelivery_policies(), aware_datetimes(), spans(0, 3_600), lags)
def test_an_order_never_completed_gets_at_most_log2_lookback_over_stalled_after_copies(
    policy: RedeliveryPolicy,
    occurred_at: datetime,
    first_relay: timedelta,
    lags: list[tuple[timedelta, timedelta]],
) -> None:
    decided = _republishes(policy, occurred_at, first_relay, lags)

    within = [after for after in decided if after < policy.lookback]
    assert len(within) <= math.ceil(math.log2(policy.lookback / policy.stalled_after))
