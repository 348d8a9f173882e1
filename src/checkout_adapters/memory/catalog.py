"""A catalog held in memory: the offerings and sales a host hands over at start-up."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from types import MappingProxyType

from attrs import Factory, field, frozen

from checkout_core.domain.catalog import Offering, Sale

__all__ = ["InMemoryCatalog"]


def _offerings_by_id(
    offerings: Iterable[Offering] | Mapping[str, Offering],
) -> Mapping[str, Offering]:
    by_id: dict[str, Offering] = {}
    for offering in offerings.values() if isinstance(offerings, Mapping) else offerings:
        if offering.id in by_id:
            raise ValueError(f"offering {offering.id} is given twice")
        by_id[offering.id] = offering
    return MappingProxyType(by_id)


def _sales_by_slug(sales: Iterable[Sale] | Mapping[str, Sale]) -> Mapping[str, Sale]:
    by_slug: dict[str, Sale] = {}
    for sale in sales.values() if isinstance(sales, Mapping) else sales:
        if sale.slug in by_slug:
            raise ValueError(f"sale {sale.slug} is given twice")
        by_slug[sale.slug] = sale
    return MappingProxyType(by_slug)


def _active_sorted(catalog: InMemoryCatalog) -> tuple[Offering, ...]:
    return tuple(
        sorted(
            (offering for offering in catalog.offerings_by_id.values() if offering.active),
            key=lambda offering: offering.id,
        )
    )


@frozen
class InMemoryCatalog:
    """What is for sale, fixed when the catalog is made.

    ``InMemoryCatalog(offerings, sales)`` takes the offerings and the sales
    (each once; as iterables, or as mappings whose values they are) and keeps
    them by id and by slug. It never changes afterwards.
    """

    offerings_by_id: Mapping[str, Offering] = field(converter=_offerings_by_id, alias="offerings")
    sales_by_slug: Mapping[str, Sale] = field(converter=_sales_by_slug, alias="sales", default=())
    # Browsing asks for the active offerings on every page: sorted once, not per call.
    _active: tuple[Offering, ...] = field(
        init=False, repr=False, eq=False, default=Factory(_active_sorted, takes_self=True)
    )

    def offerings(self, ids: Collection[str]) -> Mapping[str, Offering]:
        """The offerings with these ids that exist, active or not, by id."""
        return {
            offering_id: self.offerings_by_id[offering_id]
            for offering_id in ids
            if offering_id in self.offerings_by_id
        }

    def active_offerings(self) -> Sequence[Offering]:
        """Every active offering, by id."""
        return self._active

    def sale(self, slug: str) -> Sale | None:
        """The sale named ``slug``, running or not; ``None`` when there is none."""
        return self.sales_by_slug.get(slug)
