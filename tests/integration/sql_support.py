"""What the SQL adapter's tests share besides fixtures: URLs and values worth storing."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TypeAlias

from sqlalchemy import URL

from checkout_adapters.demo import DEMO_NOW, demo_catalog
from checkout_core.domain.cart import Cart, CartLine
from checkout_core.domain.catalog import Period
from checkout_core.domain.discounts import Coupon
from checkout_core.domain.money import Rate, Rounding
from checkout_core.domain.pricing import Estimate, price_cart
from checkout_core.domain.tax import TaxPolicy, TaxRounding

__all__ = ["ScratchDatabase", "estimate_with_every_note", "sqlite_url"]

ScratchDatabase: TypeAlias = Callable[[], AbstractContextManager[URL]]
"""Makes an empty PostgreSQL database for the length of a ``with`` block."""


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
