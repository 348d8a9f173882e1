from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta

from checkout_adapters.demo import DEMO_NOW, demo_catalog
from checkout_adapters.memory import CatalogCache, FixedClock, InMemoryCatalog
from checkout_core.domain.catalog import Offering, Sale

DEMO = demo_catalog()


class CountingCatalog:
    """The demo's catalog, counting what is asked of it."""

    def __init__(self) -> None:
        self.inner = InMemoryCatalog(DEMO.offerings, DEMO.sales)
        self.asked: Counter[str] = Counter()

    def offerings(self, ids: Collection[str]) -> Mapping[str, Offering]:
        self.asked.update(f"offering {offering_id}" for offering_id in ids)
        return self.inner.offerings(ids)

    def active_offerings(self) -> Sequence[Offering]:
        self.asked["active"] += 1
        return self.inner.active_offerings()

    def sale(self, slug: str) -> Sale | None:
        self.asked[f"sale {slug}"] += 1
        return self.inner.sale(slug)


def test_a_warm_catalog_is_read_once_per_ttl() -> None:
    clock = FixedClock(DEMO_NOW)
    counting = CountingCatalog()
    cached = CatalogCache(clock, ttl=timedelta(seconds=10)).wrap(counting)
    for _ in range(3):
        assert set(cached.offerings(["int_123", "int_456"])) == {"int_123", "int_456"}
        assert cached.sale("summer2024") == DEMO.sales["summer2024"]
        assert cached.sale("winter") is None
        assert len(cached.active_offerings()) == 2
    assert counting.asked == {
        "offering int_123": 1,
        "offering int_456": 1,
        "sale summer2024": 1,
        "sale winter": 1,
        "active": 1,
    }
    clock.advance(timedelta(seconds=10))
    cached.offerings(["int_123"])
    cached.sale("summer2024")
    assert counting.asked["offering int_123"] == 2
    assert counting.asked["sale summer2024"] == 2


def test_only_the_offerings_not_kept_are_read() -> None:
    counting = CountingCatalog()
    cached = CatalogCache(FixedClock(DEMO_NOW)).wrap(counting)
    cached.offerings(["int_123"])
    cached.offerings(["int_123", "int_456", "int_999"])
    assert counting.asked == {"offering int_123": 1, "offering int_456": 1, "offering int_999": 1}


def test_a_cleared_cache_reads_again() -> None:
    counting = CountingCatalog()
    cache = CatalogCache(FixedClock(DEMO_NOW))
    cached = cache.wrap(counting)
    cached.sale("summer2024")
    cache.clear()
    cached.sale("summer2024")
    assert counting.asked["sale summer2024"] == 2
