"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

_EARLIEST = datetime(2000, 1, 1)  # noqa: DTZ001 - hypothesis takes naive bounds
_LATEST = datetime(2100, 1, 1)  # noqa: DTZ001 - hypothesis takes naive bounds
_OFFSETS = (UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)))


def aware_datetimes() -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes at a fixed offset, a century away from datetime's limits."""
    return st.datetimes(min_value=_EARLIEST, max_value=_LATEST, timezones=st.sampled_from(_OFFSETS))


_JSON_SCALARS: st.SearchStrategy[object] = st.none() | st.booleans() | st.integers() | st.text()


def json_values() -> st.SearchStrategy[object]:
    """Float-free JSON values: what a request body may hold once money is integers."""
    return st.recursive(
        _JSON_SCALARS,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=20,
    )


def json_requests() -> st.SearchStrategy[dict[str, object]]:
    """Float-free JSON objects, as a decoded request body."""
    return st.dictionaries(st.text(max_size=8), json_values(), max_size=6)
