"""What the SQL adapter's tests share besides fixtures: URLs and values worth storing."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Final, TypeAlias

import pytest
from sqlalchemy import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from checkout_adapters.demo import DEMO_NOW, demo_catalog
from checkout_adapters.sqlalchemy import make_engine
from checkout_core.domain.cart import Cart, CartLine
from checkout_core.domain.catalog import Period
from checkout_core.domain.discounts import Coupon
from checkout_core.domain.money import Rate, Rounding
from checkout_core.domain.pricing import Estimate, price_cart
from checkout_core.domain.tax import TaxPolicy, TaxRounding

__all__ = [
    "POSTGRES_URL_VARIABLE",
    "ScratchDatabase",
    "estimate_with_every_note",
    "postgres_server_url",
    "scratch_database",
    "sqlite_url",
]

DEFAULT_POSTGRES_URL: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POSTGRES_URL_VARIABLE: Final = "CHECKOUT_TEST_DATABASE_URL"

ScratchDatabase: TypeAlias = Callable[[], AbstractContextManager[URL]]
"""Makes an empty PostgreSQL database for the length of a ``with`` block."""


def postgres_server_url() -> URL:
    """The PostgreSQL server of the tests: ``CHECKOUT_TEST_DATABASE_URL``, else the local one."""
    return make_url(os.environ.get(POSTGRES_URL_VARIABLE) or DEFAULT_POSTGRES_URL)


@contextmanager
def scratch_database(server: URL) -> Iterator[URL]:
    """A new, empty database on ``server`` with a unique name, dropped when the block ends.

    When the server cannot be reached the test fails, saying so: it never skips.
    """
    name = f"checkout_test_{uuid.uuid4().hex[:16]}"
    admin = make_engine(
        server.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except OperationalError as error:
        unreachable: OperationalError | None = error
    else:
        unreachable = None
    if unreachable is not None:
        admin.dispose()
        # Failed outside the except block, so the report is this message and not a chain.
        pytest.fail(
            f"PostgreSQL at {server.render_as_string()} cannot be reached "
            f"({unreachable.orig}). Start it, or point {POSTGRES_URL_VARIABLE} at a server "
            "whose user may create databases.",
            pytrace=False,
        )
    try:
        yield server.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def sqlite_url(path: Path) -> str:
    """The URL of a SQLite database in the file ``path``."""
    return f"sqlite:///{path}"


def estimate_with_every_note() -> Estimate:
    """The demo's cart of two internships, priced under its sale with a 12.5% coupon."""
    demo = demo_catalog()
    cart = Cart.open(
        token="cart_1",
        lines=[CartLine("int_123", Period(3, "month")), CartLine("int_456", Period(1, "month"))],
        offerings=demo.offerings,
        now=DEMO_NOW,
        sale_slug="summer2024",
    ).with_coupon("SAVE20")
    coupon = Coupon(code="SAVE20", percent_off=Rate.percent("12.5"), rounding=Rounding.HALF_EVEN)
    return price_cart(
        cart,
        demo.offerings,
        tax=TaxPolicy(rounding=TaxRounding.TOTAL_TO_MAJOR_UNIT),
        now=DEMO_NOW,
        sale=demo.sales["summer2024"],
        coupon=coupon,
    )
