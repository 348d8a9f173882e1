"""The contract of ``ports.Catalog``: what is for sale, as it was given.

An adapter's test module subclasses :class:`CatalogContract` and provides
the fixture ``make_catalog() -> CatalogFactory``: a function that builds the
adapter's catalog holding exactly the offerings and sales it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeAlias

import attrs
import pytest

from checkout_adapters.demo import demo_catalog
from checkout_core.domain.catalog import Offering, PricePlan, Sale, SalePercentage, SalePrice
from checkout_core.domain.money import Currency, Rate, Rounding
from checkout_core.ports import Catalog

__all__ = ["CatalogContract", "CatalogFactory"]

CatalogFactory: TypeAlias = Callable[[Sequence[Offering], Sequence[Sale]], Catalog]
"""Builds a catalog from its offerings and its sales."""

_USD = Currency.of("USD")
_DEMO = demo_catalog()
_INT_123 = _DEMO.offerings["int_123"]
_INT_456 = _DEMO.offerings["int_456"]
_SUMMER = _DEMO.sales["summer2024"]
_RETIRED = Offering(
    id="int_001",
    title="Retired Data Internship",
    currency=_USD,
    plans=[PricePlan("week", 25_00, 2, 12), PricePlan("month", 90_00, 1, 3)],
    active=False,
)
_ZEBRA = Offering(
    id="int_999", title="Zebra Studies", currency=_USD, plans=[PricePlan("day", 5_00)]
)
_PAST_SALE = Sale(
    slug="winter2023",
    starts_at=datetime(2023, 12, 1, tzinfo=UTC),
    ends_at=datetime(2024, 1, 1, tzinfo=UTC),
    rules=[
        SalePercentage("int_001", Rate.percent("12.5"), Rounding.HALF_EVEN),
        SalePrice("int_001", "week", 20_00),
    ],
)
_EVERYTHING = (_ZEBRA, _INT_456, _RETIRED, _INT_123)


class CatalogContract:
    """What every ``Catalog`` adapter answers, for the offerings and sales it was given.

    Subclasses provide the fixture ``make_catalog() -> CatalogFactory``.
    """

    @pytest.fixture
    def make_catalog(self) -> CatalogFactory:
        """Builds the adapter's catalog from offerings and sales; every subclass provides it."""
        raise NotImplementedError

    def test_offerings_are_read_back_as_given_by_id(self, make_catalog: CatalogFactory) -> None:
        catalog = make_catalog(_EVERYTHING, [])

        found = catalog.offerings(["int_123", "int_001"])

        assert dict(found) == {"int_123": _INT_123, "int_001": _RETIRED}

    def test_offerings_that_do_not_exist_are_left_out(self, make_catalog: CatalogFactory) -> None:
        catalog = make_catalog(_EVERYTHING, [])

        assert dict(catalog.offerings(["int_456", "int_404"])) == {"int_456": _INT_456}
        assert dict(catalog.offerings(["int_404"])) == {}
        assert dict(catalog.offerings([])) == {}

    def test_inactive_offerings_are_found_by_id(self, make_catalog: CatalogFactory) -> None:
        catalog = make_catalog(_EVERYTHING, [])

        assert dict(catalog.offerings({"int_001"})) == {"int_001": _RETIRED}

    def test_the_active_offerings_are_listed_by_id(self, make_catalog: CatalogFactory) -> None:
        catalog = make_catalog(_EVERYTHING, [])

        assert list(catalog.active_offerings()) == [_INT_123, _INT_456, _ZEBRA]

    def test_an_empty_catalog_offers_nothing(self, make_catalog: CatalogFactory) -> None:
        catalog = make_catalog([], [])

        assert list(catalog.active_offerings()) == []
        assert dict(catalog.offerings(["int_123"])) == {}
        assert catalog.sale("summer2024") is None

    def test_a_sale_is_found_by_slug_running_or_not(self, make_catalog: CatalogFactory) -> None:
        catalog = make_catalog(_EVERYTHING, [_SUMMER, _PAST_SALE])

        assert catalog.sale("summer2024") == _SUMMER
        assert catalog.sale("winter2023") == _PAST_SALE

    def test_an_unknown_sale_is_none(self, make_catalog: CatalogFactory) -> None:
        catalog = make_catalog(_EVERYTHING, [_SUMMER])

        assert catalog.sale("winter2023") is None
        assert catalog.sale("") is None

    def test_an_offering_deactivated_before_building_is_not_listed(
        self, make_catalog: CatalogFactory
    ) -> None:
        paused = attrs.evolve(_INT_123, active=False)
        catalog = make_catalog([paused, _INT_456], [])

        assert list(catalog.active_offerings()) == [_INT_456]
        assert dict(catalog.offerings(["int_123"])) == {"int_123": paused}
