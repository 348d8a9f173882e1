"""The marketplace's catalog: the demo's internships, with the summer sale running now.

The demo's ``summer2024`` sale runs in 2024, as the demo's fixed clock does.
A server runs on the real clock, so the sale is moved to run around today,
as the flow benchmark moves it; everything else is the demo's catalog.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from attrs import evolve

from checkout_adapters.demo import DemoCatalog, demo_catalog, seed_demo_catalog
from checkout_adapters.sqlalchemy import SqlCatalog

__all__ = ["SALE_AHEAD", "SALE_BEHIND", "sales_running_around", "seed_on_first_start"]

SALE_BEHIND: Final = timedelta(days=1)
"""How long before ``now`` a moved sale started."""
SALE_AHEAD: Final = timedelta(days=90)
"""How long after ``now`` a moved sale ends."""


def sales_running_around(catalog: DemoCatalog, now: datetime) -> DemoCatalog:
    """``catalog`` with every sale moved to run from a day before ``now`` to 90 days after."""
    sales = {
        slug: evolve(sale, starts_at=now - SALE_BEHIND, ends_at=now + SALE_AHEAD)
        for slug, sale in catalog.sales.items()
    }
    return evolve(catalog, sales=sales)


def seed_on_first_start(store: SqlCatalog, now: datetime) -> bool:
    """Seed the demo's catalog, its sales running around ``now``, unless offerings exist.

    Returns whether it seeded. A database seeded before keeps its catalog as
    the host left it (its coupons' uses, too). Replicas starting together
    seed it once: the others wait for the one seeding, then find offerings.
    """
    return seed_demo_catalog(store, sales_running_around(demo_catalog(), now))
