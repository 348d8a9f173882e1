"""Seeding the catalog once: ``SqlCatalog.seed_if_empty`` and the demo's catalog on top of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, text
from sqlalchemy.pool import NullPool

from checkout_adapters.demo import demo_catalog, seed_demo_catalog
from checkout_adapters.sqlalchemy import SqlCatalog, SqlUnitOfWorkFactory, make_engine
from checkout_core.domain.catalog import Offering, PricePlan
from checkout_core.domain.money import Currency
from tests.contract.unit_of_work import make_coupon, make_redemption, write
from tests.integration.process_race import race_processes
from tests.integration.sql_support import sqlite_url

PROCESSES = 8
SQLITE_PROCESSES = 4
"""Fewer: SQLite's writers queue on one file lock, and four show it as well as eight."""
DEMO = demo_catalog()
HOSTS_OWN = Offering(
    id="int_900",
    title="The host's own internship",
    currency=Currency.of("INR"),
    plans=[PricePlan("month", 100_000)],
    active=False,
)


def seed_in_process(url: str) -> bool:
    engine = make_engine(url, poolclass=NullPool)
    try:
        return seed_demo_catalog(SqlCatalog(engine), demo_catalog())
    finally:
        engine.dispose()


def _rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def _catalog_rows(
    engine: Engine,
) -> tuple[list[object], list[object], list[tuple[object, ...]]]:
    return (
        [row[0] for row in _rows(engine, "SELECT id FROM offerings ORDER BY id")],
        [row[0] for row in _rows(engine, "SELECT slug FROM sales ORDER BY slug")],
        _rows(engine, "SELECT code, used FROM coupons ORDER BY code"),
    )


SEEDED = (sorted(DEMO.offerings), sorted(DEMO.sales), [(code, 0) for code in sorted(DEMO.coupons)])


def test_seeding_an_empty_catalog_stores_its_offerings_sales_and_coupons_unused(
    engine: Engine,
) -> None:
    catalog = SqlCatalog(engine)

    seeded = seed_demo_catalog(catalog, DEMO)

    assert seeded is True
    assert _catalog_rows(engine) == SEEDED
    assert catalog.offerings(list(DEMO.offerings)) == DEMO.offerings
    assert catalog.sale("summer2024") == DEMO.sales["summer2024"]
    with SqlUnitOfWorkFactory(engine)() as uow:
        found = uow.discounts.coupon("SAVE20", user_id=None)
    assert found is not None
    assert found[0] == DEMO.coupons["SAVE20"]


def test_a_seeded_catalog_is_not_seeded_again(engine: Engine) -> None:
    catalog = SqlCatalog(engine)
    seed_demo_catalog(catalog, DEMO)

    again = seed_demo_catalog(catalog, DEMO)

    assert again is False
    assert _catalog_rows(engine) == SEEDED


def test_a_catalog_with_an_offering_of_the_host_even_inactive_is_left_as_it_is(
    engine: Engine,
) -> None:
    catalog = SqlCatalog(engine)
    catalog.put_offering(HOSTS_OWN)

    seeded = seed_demo_catalog(catalog, DEMO)

    assert seeded is False
    assert _catalog_rows(engine) == (["int_900"], [], [])


def test_seeding_never_changes_a_coupon_that_exists_nor_takes_its_uses_back(
    engine: Engine,
) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    hosts_coupon = make_coupon(usage_limit=5)
    write(
        factory,
        lambda uow: uow.discounts.add_coupon(hosts_coupon),
        lambda uow: uow.discounts.redeem(make_redemption("ord_1")),
    )

    seeded = seed_demo_catalog(SqlCatalog(engine), DEMO)

    assert seeded is True
    assert _rows(engine, "SELECT code, used, usage_limit FROM coupons") == [("SAVE20", 1, 5)]


def test_a_catalog_is_not_seeded_without_an_offering(engine: Engine) -> None:
    with pytest.raises(ValueError, match="at least one offering"):
        SqlCatalog(engine).seed_if_empty([], DEMO.sales.values(), DEMO.coupons.values())

    assert _catalog_rows(engine) == ([], [], [])


def test_processes_seeding_one_postgres_database_at_once_seed_it_once(
    postgres_engine: Engine, postgres_url: URL
) -> None:
    url = postgres_url.render_as_string(hide_password=False)

    raced = race_processes(seed_in_process, [(url,)] * PROCESSES)

    assert raced.escaped == []
    assert sorted(raced.answers, key=bool) == [False] * (PROCESSES - 1) + [True]
    assert _catalog_rows(postgres_engine) == SEEDED


def test_processes_seeding_one_sqlite_file_at_once_seed_it_once(sqlite_path: Path) -> None:
    url = sqlite_url(sqlite_path)

    raced = race_processes(seed_in_process, [(url,)] * SQLITE_PROCESSES)

    assert raced.escaped == []
    assert sorted(raced.answers, key=bool) == [False] * (SQLITE_PROCESSES - 1) + [True]
    engine = make_engine(url)
    try:
        assert _catalog_rows(engine) == SEEDED
    finally:
        engine.dispose()
