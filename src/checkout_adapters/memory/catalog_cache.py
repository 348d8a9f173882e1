"""A catalog kept in the process for a few seconds, in front of the one in the database.

Estimates read the same offerings and sales over and over; the catalog
changes rarely. :class:`CatalogCache` keeps what was read for ``ttl`` and
:meth:`CatalogCache.wrap` puts it in front of a unit of work's catalog, so
that a warm estimate reads nothing from the database. A change to the
catalog reaches every process within ``ttl`` (each process keeps its own
copy): choose it as the longest a price may lag behind an edit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta

from attrs import define, field, frozen

from checkout_core.domain.catalog import Offering, Sale
from checkout_core.ports import Catalog, Clock

__all__ = ["CachedCatalog", "CatalogCache"]


@define
class CatalogCache:
    """Offerings, sales and the active list, each kept until ``ttl`` after it was read."""

    clock: Clock
    ttl: timedelta = timedelta(seconds=10)
    _offerings: dict[str, tuple[datetime, Offering]] = field(factory=dict, init=False)
    _sales: dict[str, tuple[datetime, Sale | None]] = field(factory=dict, init=False)
    _active: tuple[datetime, tuple[Offering, ...]] | None = field(default=None, init=False)
    _lock: threading.Lock = field(factory=threading.Lock, init=False)

    def wrap(self, catalog: Catalog) -> CachedCatalog:
        """``catalog`` read through this cache."""
        return CachedCatalog(catalog, self)

    def clear(self) -> None:
        """Forget everything, so that the next read goes to the database."""
        with self._lock:
            self._offerings.clear()
            self._sales.clear()
            self._active = None

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
