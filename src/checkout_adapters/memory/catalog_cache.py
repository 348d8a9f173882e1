"""A catalog kept in the process for a few seconds, in front of the one in the database.

Estimates read the same offerings, sales and coupons over and over; they
change rarely. :class:`CatalogCache` keeps what was read for ``ttl``;
:meth:`CatalogCache.wrap` puts it in front of a unit of work's catalog and
:meth:`CatalogCache.wrap_discounts` in front of its coupons, so that a warm
estimate reads nothing from the database. A change reaches every process
within ``ttl`` (each process keeps its own copy): choose it as the longest a
price or a coupon may lag behind an edit. A coupon's use is kept as long:
pricing may see it up to ``ttl`` late, but the database alone decides
whether a use can be taken (``redeem`` goes straight to it), so no limit is
ever exceeded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta

from attrs import define, field, frozen

from checkout_core.domain.catalog import Offering, Sale
from checkout_core.domain.discounts import Coupon, CouponRedemption, CouponUsage, normalize_code
from checkout_core.errors import CouponInvalid
from checkout_core.ports import Catalog, Clock, DiscountRepository

__all__ = ["CachedCatalog", "CachedDiscounts", "CatalogCache"]

CouponRead = Callable[[str, str | None], tuple[Coupon, CouponUsage] | None]


@define
class CatalogCache:
    """Offerings, sales and the active list, each kept until ``ttl`` after it was read."""

    clock: Clock
    ttl: timedelta = timedelta(seconds=10)
    _offerings: dict[str, tuple[datetime, Offering]] = field(factory=dict, init=False)
    _sales: dict[str, tuple[datetime, Sale | None]] = field(factory=dict, init=False)
    _active: tuple[datetime, tuple[Offering, ...]] | None = field(default=None, init=False)
    _coupons: dict[str, tuple[datetime, tuple[Coupon, CouponUsage] | None]] = field(
        factory=dict, init=False
    )
    _lock: threading.Lock = field(factory=threading.Lock, init=False)

    def wrap(self, catalog: Catalog) -> CachedCatalog:
        """``catalog`` read through this cache."""
        return CachedCatalog(catalog, self)

    def wrap_discounts(self, discounts: DiscountRepository) -> CachedDiscounts:
        """``discounts`` with its coupons read through this cache."""
        return CachedDiscounts(discounts, self)

    def clear(self) -> None:
        """Forget everything, so that the next read goes to the database."""
        with self._lock:
            self._offerings.clear()
            self._sales.clear()
            self._active = None
            self._coupons.clear()

    def forget_coupon(self, code: str) -> None:
        """Forget the coupon ``code`` (normalized), so that the next read goes to the database."""
        with self._lock:
            self._coupons.pop(code, None)

    def coupon(
        self, code: str, user_id: str | None, read: CouponRead
    ) -> tuple[Coupon, CouponUsage] | None:
        """The coupon ``code`` (normalized) and its use, from ``read`` when not kept fresh.

        The coupon and its total use are kept (its absence too); a buyer's own
        use is read afresh whenever the coupon limits it per buyer.
        """
        now = self.clock.now()
        with self._lock:
            kept = self._coupons.get(code)
        if kept is None or now - kept[0] >= self.ttl:
            found = read(code, None)
            with self._lock:
                self._coupons[code] = (now, found)
        else:
            found = kept[1]
        if found is None or user_id is None or found[0].per_user_limit is None:
            return found
        return read(code, user_id)

    def offerings(
        self, ids: Collection[str], read: Callable[[Collection[str]], Mapping[str, Offering]]
    ) -> Mapping[str, Offering]:
        """The offerings with these ids; ``read`` is asked only for those not kept fresh."""
        now = self.clock.now()
        found: dict[str, Offering] = {}
        missing = []
        with self._lock:
            for offering_id in ids:
                kept = self._offerings.get(offering_id)
                if kept is not None and now - kept[0] < self.ttl:
                    found[offering_id] = kept[1]
                else:
                    missing.append(offering_id)
        if missing:
            fetched = read(missing)
            with self._lock:
                for offering_id, offering in fetched.items():
                    self._offerings[offering_id] = (now, offering)
            found.update(fetched)
        return found

    def active_offerings(self, read: Callable[[], Sequence[Offering]]) -> Sequence[Offering]:
        """Every offering on sale, from ``read`` when not kept fresh."""
        now = self.clock.now()
        with self._lock:
            if self._active is not None and now - self._active[0] < self.ttl:
                return self._active[1]
        fetched = tuple(read())
        with self._lock:
            self._active = (now, fetched)
        return fetched

    def sale(self, slug: str, read: Callable[[str], Sale | None]) -> Sale | None:
        """The sale ``slug`` (or its absence, kept too), from ``read`` when not kept fresh."""
        now = self.clock.now()
        with self._lock:
            kept = self._sales.get(slug)
            if kept is not None and now - kept[0] < self.ttl:
                return kept[1]
        fetched = read(slug)
        with self._lock:
            self._sales[slug] = (now, fetched)
        return fetched


@frozen
class CachedCatalog:
    """A :class:`~checkout_core.ports.Catalog` answering from a :class:`CatalogCache` first."""

    inner: Catalog
    cache: CatalogCache

    def offerings(self, ids: Collection[str]) -> Mapping[str, Offering]:
        """The offerings with these ids that exist, active or not, by id."""
        return self.cache.offerings(ids, self.inner.offerings)

    def active_offerings(self) -> Sequence[Offering]:
        """Every offering on sale now."""
        return self.cache.active_offerings(self.inner.active_offerings)

    def sale(self, slug: str) -> Sale | None:
        """The sale named ``slug``, running or not; ``None`` when there is none."""
        return self.cache.sale(slug, self.inner.sale)


@frozen
class CachedDiscounts:
    """A :class:`~checkout_core.ports.DiscountRepository` reading coupons from a cache first.

    Redemptions and their release go straight to the repository; a coupon
    added or changed here is forgotten by the cache of this process.
    """

    inner: DiscountRepository
    cache: CatalogCache

    def add_coupon(self, coupon: Coupon) -> None:
        """Store a coupon."""
        self.inner.add_coupon(coupon)
        self.cache.forget_coupon(coupon.code)

    def coupon(self, code: str, *, user_id: str | None) -> tuple[Coupon, CouponUsage] | None:
        """The coupon with ``code`` and its use, in all and by ``user_id``."""
        try:
            normalized = normalize_code(code)
        except CouponInvalid:
            return None
        return self.cache.coupon(
            normalized, user_id, lambda kept, user: self.inner.coupon(kept, user_id=user)
        )

    def redeem(self, redemption: CouponRedemption) -> None:
        """Record one use of a coupon by an order, within its limits (the database decides)."""
        self.inner.redeem(redemption)

    def release(self, coupon_code: str, order_token: str, now: datetime) -> bool:
        """Give back the use an order made of a coupon."""
        return self.inner.release(coupon_code, order_token, now)
