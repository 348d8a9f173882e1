"""The catalog in the ``offerings`` and ``sales`` tables, with what the host uses to fill it.

The checkout only reads the catalog. Inside a unit of work it reads it
through :class:`SqlCatalogReader`, on the unit of work's own connection, so
that a price and the order it goes into come from one view (and an embedded
SQLite file, whose writer holds the only write lock, is read by the
transaction holding it rather than by a second connection waiting for it).
:class:`SqlCatalog` is the catalog on its own, each read one statement in a
short transaction of its own; the host puts offerings and sales in with
:meth:`SqlCatalog.put_offering` and :meth:`SqlCatalog.put_sale`, each an upsert.

:meth:`SqlCatalog.seed_if_empty` fills an empty catalog with offerings,
sales and coupons, as a host does at its first start: in one transaction
that checks for offerings and writes only what is missing. Seeders take
turns, so replicas starting together on an empty database seed it once: on
PostgreSQL the transaction holds an advisory lock (:data:`SEED_LOCK`) until
it ends, on SQLite it begins ``IMMEDIATE``, holding the file's write lock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import cache
from typing import Any, Final

from sqlalchemy import Connection, Engine, Row, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from checkout_adapters.sqlalchemy.advisory import transaction_advisory_lock
from checkout_adapters.sqlalchemy.dialects import insert_on_conflict
from checkout_adapters.sqlalchemy.repositories.discounts import coupon_values
from checkout_adapters.sqlalchemy.serialization import (
    dump_plans,
    dump_rules,
    load_plans,
    load_rules,
)
from checkout_adapters.sqlalchemy.tables import coupons, offerings, sales
from checkout_core.domain.catalog import Offering, Sale
from checkout_core.domain.discounts import Coupon
from checkout_core.domain.money import Currency

__all__ = ["SEED_LOCK", "SqlCatalog", "SqlCatalogReader"]

SEED_LOCK: Final = "checkout.catalog:seed"
"""The PostgreSQL advisory lock a seeding transaction holds until it ends."""

_o = offerings.c
_s = sales.c
_OFFERINGS: Final = select(offerings).where(_o.id.in_(bindparam("ids", expanding=True)))
_ACTIVE: Final = select(offerings).where(_o.active.is_(True)).order_by(_o.id)
_SALE: Final = select(sales).where(_s.slug == bindparam("key"))
_ANY_OFFERING: Final = select(_o.id).limit(1)
_TABLES: Final = {table.name: table for table in (offerings, sales, coupons)}


@cache
def _upsert(dialect: str, table_name: str) -> postgresql.Insert | sqlite.Insert:
    table = _TABLES[table_name]
    statement = insert_on_conflict(dialect, table)
    return statement.on_conflict_do_update(
        index_elements=list(table.primary_key.columns),
        set_={
            column.name: statement.excluded[column.name]
            for column in table.columns
            if not column.primary_key
        },
    )


@cache
def _insert_if_absent(dialect: str, table_name: str) -> postgresql.Insert | sqlite.Insert:
    table = _TABLES[table_name]
    statement = insert_on_conflict(dialect, table)
    return statement.on_conflict_do_nothing(index_elements=list(table.primary_key.columns))


def _offering_values(offering: Offering) -> dict[str, Any]:
    return {
        "id": offering.id,
        "title": offering.title,
        "currency": offering.currency.code,
        "plans": dump_plans(offering.plans),
        "active": offering.active,
    }


def _sale_values(sale: Sale) -> dict[str, Any]:
    return {
        "slug": sale.slug,
        "starts_at": sale.starts_at,
        "ends_at": sale.ends_at,
        "rules": dump_rules(sale.rules),
    }


def _offering(row: Row[Any]) -> Offering:
    return Offering(
        id=row.id,
        title=row.title,
        currency=Currency.of(row.currency),
        plans=load_plans(row.plans),
        active=row.active,
    )


class SqlCatalogReader:
    """Offerings and sales, read in the transaction of the ``connection()`` at hand."""

    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._connection = connection

    def offerings(self, ids: Collection[str]) -> Mapping[str, Offering]:
        """The offerings with these ids that exist, active or not, by id."""
        if not ids:
            return {}
        rows = self._connection().execute(_OFFERINGS, {"ids": list(ids)})
        return {row.id: _offering(row) for row in rows}

    def active_offerings(self) -> Sequence[Offering]:
        """Every offering on sale now, by id."""
        return [_offering(row) for row in self._connection().execute(_ACTIVE)]

    def sale(self, slug: str) -> Sale | None:
        """The sale named ``slug``, running or not; ``None`` when there is none."""
        row = self._connection().execute(_SALE, {"key": slug}).one_or_none()
        if row is None:
            return None
        return Sale(
            slug=row.slug, starts_at=row.starts_at, ends_at=row.ends_at, rules=load_rules(row.rules)
        )


class SqlCatalog:
    """Offerings and sales in the database of ``engine``, each read in a transaction of its own."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def offerings(self, ids: Collection[str]) -> Mapping[str, Offering]:
        """The offerings with these ids that exist, active or not, by id."""
        if not ids:
            return {}
        with self._engine.connect() as connection:
            return SqlCatalogReader(lambda: connection).offerings(ids)

    def active_offerings(self) -> Sequence[Offering]:
        """Every offering on sale now, by id."""
        with self._engine.connect() as connection:
            return SqlCatalogReader(lambda: connection).active_offerings()

    def sale(self, slug: str) -> Sale | None:
        """The sale named ``slug``, running or not; ``None`` when there is none."""
        with self._engine.connect() as connection:
            return SqlCatalogReader(lambda: connection).sale(slug)

    def put_offering(self, offering: Offering) -> None:
        """Add ``offering``, or replace the offering with its id."""
        with self._engine.begin() as connection:
            statement = _upsert(connection.dialect.name, "offerings")
            connection.execute(statement, _offering_values(offering))

    def put_sale(self, sale: Sale) -> None:
        """Add ``sale``, or replace the sale with its slug."""
        with self._engine.begin() as connection:
            statement = _upsert(connection.dialect.name, "sales")
            connection.execute(statement, _sale_values(sale))

    def seed_if_empty(
        self,
        offerings: Iterable[Offering],
        sales: Iterable[Sale] = (),
        coupons: Iterable[Coupon] = (),
    ) -> bool:
        """Store ``offerings``, ``sales`` and ``coupons`` unless the catalog has an offering.

        Returns whether it stored them. Any offering, active or not, means
        the catalog was seeded or filled by the host, and nothing is
        written. Safe from any number of processes at once: one seeds, the
        others wait for it, then find offerings and return ``False``. Each
        row is inserted only if its key is free (``ON CONFLICT DO
        NOTHING``), so nothing there before is changed: a coupon keeps its
        uses, a sale its dates.

        Raises:
            ValueError: there is no offering to seed with.
        """
        rows = {
            "offerings": [_offering_values(offering) for offering in offerings],
            "sales": [_sale_values(sale) for sale in sales],
            "coupons": [coupon_values(coupon) for coupon in coupons],
        }
        if not rows["offerings"]:
            raise ValueError("a catalog is seeded with at least one offering")
        with self._engine.begin() as connection:
            dialect = connection.dialect.name
            if dialect == "postgresql":
                transaction_advisory_lock(connection, SEED_LOCK)
            if connection.execute(_ANY_OFFERING).first() is not None:
                return False
            for table_name, values in rows.items():
                if values:
                    connection.execute(_insert_if_absent(dialect, table_name), values)
        return True
