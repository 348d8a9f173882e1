from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from sqlalchemy import Engine, event
from sqlalchemy.pool import QueuePool

import checkout_adapters.sqlalchemy as sql_adapter
from checkout_adapters.demo import demo_catalog
from checkout_adapters.memory import CatalogCache, FixedClock
from checkout_adapters.sqlalchemy import SqlCatalog, SqlUnitOfWork, SqlUnitOfWorkFactory
from checkout_core.ports import Catalog, UnitOfWork, UnitOfWorkFactory
from tests.contract.unit_of_work import NOW, make_cart, read, write


def test_the_public_names_are_pinned() -> None:
    assert sorted(sql_adapter.__all__) == [
        "OutboxEntry",
        "SqlCatalog",
        "SqlCatalogReader",
        "SqlOutboxQueue",
        "SqlOutboxReader",
        "SqlUnitOfWork",
        "SqlUnitOfWorkFactory",
        "downgrade",
        "make_engine",
        "metadata",
        "upgrade",
    ]


def test_the_adapter_fits_its_ports(sqlite_engine: Engine) -> None:
    # mypy checks the annotations; the asserts check what exists at run time.
    factory: UnitOfWorkFactory = SqlUnitOfWorkFactory(sqlite_engine)
    uow: UnitOfWork = factory()
    catalog: Catalog = SqlCatalog(sqlite_engine)

    assert isinstance(uow, SqlUnitOfWork)
    for name in (
        "catalog",
        "carts",
        "orders",
        "payments",
        "discounts",
        "enrollments",
        "idempotency",
        "outbox",
    ):
        assert hasattr(uow, name)
    assert callable(catalog.active_offerings)


def test_a_unit_of_work_cannot_be_used_outside_its_block(sqlite_engine: Engine) -> None:
    uow = SqlUnitOfWorkFactory(sqlite_engine)()

    with pytest.raises(RuntimeError, match="outside"):
        uow.carts.get("cart_1")
    with uow:
        pass
    with pytest.raises(RuntimeError, match="outside"):
        uow.carts.add(make_cart())
    with pytest.raises(RuntimeError, match="outside"):
        uow.commit()


def test_a_unit_of_work_cannot_be_entered_while_it_is_open(sqlite_engine: Engine) -> None:
    uow = SqlUnitOfWorkFactory(sqlite_engine)()

    with uow, pytest.raises(RuntimeError, match="one transaction at a time"):
        uow.__enter__()


def test_a_unit_of_work_can_be_used_again_once_its_block_is_left(engine: Engine) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    uow = factory()
    with uow:
        uow.carts.add(make_cart())
        uow.commit()

    with uow:
        uow.carts.add(make_cart("cart_2"))

    assert read(factory, lambda again: again.carts.get("cart_1")) == make_cart()
    assert read(factory, lambda again: again.carts.get("cart_2")) is None


def test_writes_after_a_commit_are_undone_when_the_block_is_left_without_another(
    engine: Engine,
) -> None:
    factory = SqlUnitOfWorkFactory(engine)

    with factory() as uow:
        uow.carts.add(make_cart("cart_1"))
        uow.commit()
        uow.carts.add(make_cart("cart_2"))
        uow.carts.update(make_cart("cart_1").convert())

    with factory() as uow:
        assert uow.carts.get("cart_1") == make_cart("cart_1")
        assert uow.carts.get("cart_2") is None


class _Fault(Exception):
    pass


def _fail_inside(factory: SqlUnitOfWorkFactory) -> None:
    with factory() as uow:
        uow.carts.get("cart_1")
        raise _Fault


def test_a_unit_of_work_gives_its_connection_back_to_the_pool(engine: Engine) -> None:
    factory = SqlUnitOfWorkFactory(engine)
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    checked_out = pool.checkedout()

    write(factory, lambda uow: uow.carts.add(make_cart()))
    with pytest.raises(_Fault):
        _fail_inside(factory)

    assert pool.checkedout() == checked_out


def test_the_catalog_replaces_an_offering_or_a_sale_put_again(engine: Engine) -> None:
    demo = demo_catalog()
    offering, sale = demo.offerings["int_123"], demo.sales["summer2024"]
    catalog = SqlCatalog(engine)
    catalog.put_offering(offering)
    catalog.put_sale(sale)
    longer = attrs.evolve(sale, ends_at=sale.ends_at + timedelta(days=30))

    catalog.put_sale(longer)
    retitled = attrs.evolve(offering, title="Backend Internship", active=False)
    catalog.put_offering(retitled)

    assert dict(catalog.offerings(["int_123"])) == {"int_123": retitled}
    assert list(catalog.active_offerings()) == []
    assert catalog.sale("summer2024") == longer


def test_a_unit_of_work_reads_the_catalog_on_its_own_connection(engine: Engine) -> None:
    demo = demo_catalog()
    catalog = SqlCatalog(engine)
    for offering in demo.offerings.values():
        catalog.put_offering(offering)
    catalog.put_sale(demo.sales["summer2024"])

    with SqlUnitOfWorkFactory(engine)() as uow:
        # The cart's insert holds SQLite's write lock: a second connection would
        # wait for it until the busy timeout; the unit of work's own does not.
        uow.carts.add(make_cart())
        found = dict(uow.catalog.offerings(["int_123", "int_404"]))
        active = list(uow.catalog.active_offerings())
        sale = uow.catalog.sale("summer2024")
        missing = uow.catalog.sale("winter2023")
        nothing = dict(uow.catalog.offerings([]))

    assert found == {"int_123": demo.offerings["int_123"]}
    assert active == [demo.offerings["int_123"], demo.offerings["int_456"]]
    assert sale == demo.sales["summer2024"]
    assert (missing, nothing) == (None, {})


def test_a_unit_of_work_answered_from_caches_takes_no_connection(engine: Engine) -> None:
    catalog = SqlCatalog(engine)
    for offering in demo_catalog().offerings.values():
        catalog.put_offering(offering)
    factory = SqlUnitOfWorkFactory(engine, CatalogCache(FixedClock(NOW)))
    checkouts: list[object] = []

    def count_checkout(*_: object) -> None:
        checkouts.append(1)

    event.listen(engine.pool, "checkout", count_checkout)
    try:
        with factory() as uow:
            assert set(uow.catalog.offerings(["int_123"])) == {"int_123"}
        first = len(checkouts)
        with factory() as uow:
            assert set(uow.catalog.offerings(["int_123"])) == {"int_123"}
            uow.commit()
    finally:
        event.remove(engine.pool, "checkout", count_checkout)
    assert (first, len(checkouts)) == (1, 1)
