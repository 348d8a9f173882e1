from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta

import attrs

from checkout_adapters.demo import DEMO_NOW, demo_catalog
from checkout_adapters.memory import CatalogCache, FixedClock, InMemoryCatalog
from checkout_core.domain.catalog import Offering, Sale
from checkout_core.domain.discounts import Coupon, CouponRedemption, CouponUsage

DEMO = demo_catalog()
SAVE20 = DEMO.coupons["SAVE20"]


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


class CountingDiscounts:
    """Coupons held in a dict with their uses, counting what is read."""

    def __init__(self, *coupons: Coupon) -> None:
        self.coupons = {coupon.code: coupon for coupon in coupons}
        self.uses: Counter[str] = Counter()
        self.uses_by_user: Counter[tuple[str, str | None]] = Counter()
        self.asked: Counter[tuple[str, str | None]] = Counter()

    def add_coupon(self, coupon: Coupon) -> None:
        self.coupons[coupon.code] = coupon

    def coupon(self, code: str, *, user_id: str | None) -> tuple[Coupon, CouponUsage] | None:
        self.asked[code, user_id] += 1
        coupon = self.coupons.get(code)
        if coupon is None:
            return None
        by_user = 0 if user_id is None else self.uses_by_user[code, user_id]
        return coupon, CouponUsage(self.uses[code], by_user)

    def redeem(self, redemption: CouponRedemption) -> None:
        self.uses[redemption.coupon_code] += 1
        self.uses_by_user[redemption.coupon_code, redemption.user_id] += 1

    def release(self, coupon_code: str, order_token: str, now: datetime) -> bool:
        self.uses[coupon_code] -= 1
        return True


def test_a_coupon_and_its_total_use_are_read_once_per_ttl_whoever_asks() -> None:
    clock = FixedClock(DEMO_NOW)
    counting = CountingDiscounts(SAVE20)
    cached = CatalogCache(clock, ttl=timedelta(seconds=10)).wrap_discounts(counting)
    for user_id in (None, "user_1", "user_2"):
        assert cached.coupon("save20 ", user_id=user_id) == (SAVE20, CouponUsage(0, 0))
    assert cached.coupon("NOPE", user_id=None) is None
    assert cached.coupon("NOPE", user_id=None) is None
    assert counting.asked == {("SAVE20", None): 1, ("NOPE", None): 1}
    clock.advance(timedelta(seconds=10))
    cached.coupon("SAVE20", user_id=None)
    assert counting.asked["SAVE20", None] == 2


def test_a_buyers_own_use_is_read_afresh_when_the_coupon_limits_it() -> None:
    once = attrs.evolve(SAVE20, per_user_limit=1)
    counting = CountingDiscounts(once)
    cached = CatalogCache(FixedClock(DEMO_NOW)).wrap_discounts(counting)
    assert cached.coupon("SAVE20", user_id="user_1") == (once, CouponUsage(0, 0))
    cached.redeem(CouponRedemption("SAVE20", "order_1", "user_1", DEMO_NOW))
    assert cached.coupon("SAVE20", user_id="user_1") == (once, CouponUsage(1, 1))
    assert counting.asked["SAVE20", "user_1"] == 2


def test_redemptions_go_to_the_repository_and_the_use_shows_after_the_ttl() -> None:
    clock = FixedClock(DEMO_NOW)
    counting = CountingDiscounts(SAVE20)
    cached = CatalogCache(clock, ttl=timedelta(seconds=5)).wrap_discounts(counting)
    assert cached.coupon("SAVE20", user_id=None) == (SAVE20, CouponUsage(0, 0))
    cached.redeem(CouponRedemption("SAVE20", "order_1", None, DEMO_NOW))
    assert counting.uses["SAVE20"] == 1
    assert cached.coupon("SAVE20", user_id=None) == (SAVE20, CouponUsage(0, 0))
    clock.advance(timedelta(seconds=5))
    assert cached.coupon("SAVE20", user_id=None) == (SAVE20, CouponUsage(1, 0))
    assert cached.release("SAVE20", "order_1", DEMO_NOW)
    assert counting.uses["SAVE20"] == 0


def test_a_coupon_added_through_the_cache_is_read_again() -> None:
    counting = CountingDiscounts()
    cached = CatalogCache(FixedClock(DEMO_NOW)).wrap_discounts(counting)
    assert cached.coupon("SAVE20", user_id=None) is None
    cached.add_coupon(SAVE20)
    assert cached.coupon("SAVE20", user_id=None) == (SAVE20, CouponUsage(0, 0))
