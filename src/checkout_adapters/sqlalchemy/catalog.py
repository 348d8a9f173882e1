"""The catalog in the ``offerings`` and ``sales`` tables, with what the host uses to fill it.

The checkout only reads the catalog. Inside a unit of work it reads it
through :class:`SqlCatalogReader`, on the unit of work's own connection, so
that a price and the order it goes into come from one view (and an embedded
SQLite file, whose writer holds the only write lock, is read by the
transaction holding it rather than by a second connection waiting for it).
:class:`SqlCatalog` is the catalog on its own, each read one statement in a
short transaction of its own; the host puts offerings and sales in with
:meth:`SqlCatalog.put_offering` and :meth:`SqlCatalog.put_sale`, each an upsert.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from functools import cache
from typing import Any, Final

from sqlalchemy import Connection, Engine, Row, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from checkout_adapters.sqlalchemy.dialects import insert_on_conflict
from checkout_adapters.sqlalchemy.serialization import (
    dump_plans,
    dump_rules,
    load_plans,
    load_rules,
)
from checkout_adapters.sqlalchemy.tables import offerings, sales
from checkout_core.domain.catalog import Offering, Sale
from checkout_core.domain.money import Currency

__all__ = ["SqlCatalog", "SqlCatalogReader"]

_o = offerings.c
_s = sales.c
_OFFERINGS: Final = select(offerings).where(_o.id.in_(bindparam("ids", expanding=True)))
_ACTIVE: Final = select(offerings).where(_o.active.is_(True)).order_by(_o.id)
_SALE: Final = select(sales).where(_s.slug == bindparam("key"))


@cache
def _upsert(dialect: str, table_name: str) -> postgresql.Insert | sqlite.Insert:
    table = offerings if table_name == "offerings" else sales
    statement = insert_on_conflict(dialect, table)
    return statement.on_conflict_do_update(
        index_elements=list(table.primary_key.columns),
        set_={
            column.name: statement.excluded[column.name]
            for column in table.columns
            if not column.primary_key
        },
    )


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
            connection.execute(
                statement,
                {
                    "id": offering.id,
                    "title": offering.title,
                    "currency": offering.currency.code,
                    "plans": dump_plans(offering.plans),
                    "active": offering.active,
                },
            )

    def put_sale(self, sale: Sale) -> None:
        """Add ``sale``, or replace the sale with its slug."""
        with self._engine.begin() as connection:
            statement = _upsert(connection.dialect.name, "sales")
            connection.execute(
                statement,
                {
                    "slug": sale.slug,
                    "starts_at": sale.starts_at,
                    "ends_at": sale.ends_at,
                    "rules": dump_rules(sale.rules),
                },
            )
