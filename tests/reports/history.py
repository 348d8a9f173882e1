"""Five days of carts and orders, made through the checkout's services as buyers would.

Days are UTC, the report's period is 10-14 June 2024 (``REPORT_DAY`` and 5
days); one order before it and one after it must be left out.

====== ======= =================================================================
day    cart    what happens
====== ======= =================================================================
09 Jun before  int_123 (INR), google/summer_sale, ordered and paid: outside
10 Jun A       int_123 3 months under summer2024 + SAVE20, google/summer_sale, paid
10 Jun B       int_456 (free), google/newsletter, ordered: completed at once
10 Jun C       int_123 1 month, facebook/summer_sale, abandoned
11 Jun         nothing at all
12 Jun D       usd_101 2 months + FLAT5 (USD), google/summer_sale, paid
12 Jun E       int_123 2 months + int_456, no analytics, ordered, never paid
12 Jun F       usd_101 1 month, twitter (no campaign), paid, then 1,000 refunded
13 Jun G       int_123 1 month + SAVE20, google/summer_sale, created at 23:00 ...
14 Jun G       ... ordered at 01:00 and paid: its cart counts on the 13th
15 Jun after   usd_101 1 month, twitter, paid: outside
====== ======= =================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final, TypeVar

from attrs import frozen
from returns.result import Result
from sqlalchemy import Engine

from checkout_adapters.demo import demo_catalog
from checkout_adapters.memory import (
    FakeGateway,
    FixedClock,
    RecordingAlertSink,
    RecordingAnalyticsTracker,
    RecordingNotificationSender,
)
from checkout_adapters.sqlalchemy import SqlCatalog, SqlUnitOfWorkFactory
from checkout_adapters.system import RandomIds
from checkout_core.domain.cart import CartLine
from checkout_core.domain.catalog import Offering, Period, PricePlan
from checkout_core.domain.discounts import Coupon
from checkout_core.domain.money import Currency
from checkout_core.domain.orders import Order
from checkout_core.domain.payment_events import PaymentEvent
from checkout_core.domain.tax import TaxPolicy
from checkout_core.errors import CheckoutError
from checkout_core.services import Checkout, CheckoutPorts, CheckoutSettings

__all__ = ["FIRST_DAY", "REPORT_DAY", "REPORT_DAYS", "History", "seed_history"]

T = TypeVar("T")

REPORT_DAY: Final = date(2024, 6, 14)
REPORT_DAYS: Final = 5
FIRST_DAY: Final = date(2024, 6, 10)
REFUND: Final = 1000

USD_OFFERING: Final = Offering(
    id="usd_101",
    title="Data Science Internship (USD)",
    currency=Currency.of("USD"),
    plans=[PricePlan("month", 12_345, min_value=1, max_value=6)],
)
FLAT5: Final = Coupon(code="FLAT5", amount_off=500, currency=Currency.of("USD"))

GOOGLE_SUMMER: Final = (("source", "google"), ("campaign", "summer_sale"))


@frozen
class Seeded:
    """An order placed by the history, and its cart's day."""

    order: Order
    cart_day: date


@frozen
class History:
    """The seeded database and every order placed in it, as stored."""

    engine: Engine
    orders: dict[str, Seeded]
    """By cart letter (``A`` to ``G``, ``before`` and ``after``)."""


def _ok(result: Result[T, CheckoutError]) -> T:
    return result.unwrap()


def _at(day: int, hour: int = 10) -> datetime:
    return datetime(2024, 6, day, hour, tzinfo=UTC)


class _Buyers:
    def __init__(self, engine: Engine) -> None:
        self.clock = FixedClock(_at(9))
        self.gateway = FakeGateway("whsec_reports", clock=self.clock)
        ports = CheckoutPorts(
            unit_of_work=SqlUnitOfWorkFactory(engine),
            gateway=self.gateway,
            clock=self.clock,
            ids=RandomIds(),
            notifications=RecordingNotificationSender(),
            analytics=RecordingAnalyticsTracker(),
            alerts=RecordingAlertSink(),
        )
        self.checkout = Checkout.build(ports, CheckoutSettings(tax=TaxPolicy()))
        self.carts: dict[str, tuple[str, date]] = {}
        self.orders: dict[str, str] = {}

    def cart(
        self,
        name: str,
        lines: Sequence[CartLine],
        *,
        analytics: tuple[tuple[str, str], ...] = (),
        sale: str | None = None,
        coupon: str | None = None,
    ) -> None:
        created = self.checkout.carts.create_cart(lines, sale_slug=sale, analytics_data=analytics)
        token = _ok(created).token
        user = f"user_{name}"
        if coupon is None:
            _ok(self.checkout.auth.validate_cart_access(token, user))
        else:
            _ok(self.checkout.discounts.apply(token, coupon, user))
        self.carts[name] = (token, self.clock.now().date())

    def order(self, name: str, *, pay: bool = True) -> None:
        token, _ = self.carts[name]
        placed = _ok(self.checkout.orders.create_from_cart(token, f"idem_{name}", f"user_{name}"))
        receipt = placed.receipt
        self.orders[name] = receipt.order_token
        if pay and receipt.provider_ref is not None:
            _ok(self.checkout.payments.mark_paid("fake", receipt.provider_ref, receipt.total))

    def refund(self, name: str, amount: int) -> None:
        with self.checkout.ports.unit_of_work() as uow:
            payment = uow.payments.latest_for_order(self.orders[name])
        assert payment is not None
        assert payment.provider_ref is not None
        event = PaymentEvent.refunded(f"rfnd_{name}", amount, self.clock.now())
        _ok(self.checkout.payments.update_status("fake", payment.provider_ref, event))


def seed_history(engine: Engine) -> History:
    """Seed the catalog and the history of the module's table into ``engine``'s database."""
    buyers = _Buyers(engine)
    demo = demo_catalog()
    catalog = SqlCatalog(engine)
    for offering in [*demo.offerings.values(), USD_OFFERING]:
        catalog.put_offering(offering)
    for sale in demo.sales.values():
        catalog.put_sale(sale)
    with buyers.checkout.ports.unit_of_work() as uow:
        for coupon in [*demo.coupons.values(), FLAT5]:
            uow.discounts.add_coupon(coupon)
        uow.commit()

    paid_line = CartLine("int_123", Period(3, "month"))
    usd_line = CartLine("usd_101", Period(1, "month"))
    buyers.cart("before", [paid_line], analytics=GOOGLE_SUMMER)
    buyers.order("before")

    buyers.clock.set(_at(10))
    buyers.cart("A", [paid_line], analytics=GOOGLE_SUMMER, sale="summer2024", coupon="SAVE20")
    buyers.order("A")
    buyers.cart(
        "B",
        [CartLine("int_456", Period(1, "month"))],
        analytics=(("source", "google"), ("campaign", "newsletter")),
    )
    buyers.order("B")
    buyers.cart(
        "C",
        [CartLine("int_123", Period(1, "month"))],
        analytics=(("source", "facebook"), ("campaign", "summer_sale")),
    )

    buyers.clock.set(_at(12))
    buyers.cart(
        "D", [CartLine("usd_101", Period(2, "month"))], analytics=GOOGLE_SUMMER, coupon="FLAT5"
    )
    buyers.order("D")
    buyers.cart(
        "E", [CartLine("int_123", Period(2, "month")), CartLine("int_456", Period(1, "month"))]
    )
    buyers.order("E", pay=False)
    buyers.cart("F", [usd_line], analytics=(("source", "twitter"),))
    buyers.order("F")
    buyers.clock.set(_at(12, 18))
    buyers.refund("F", REFUND)

    buyers.clock.set(_at(13, 23))
    buyers.cart(
        "G", [CartLine("int_123", Period(1, "month"))], analytics=GOOGLE_SUMMER, coupon="SAVE20"
    )
    buyers.clock.advance(timedelta(hours=2))
    buyers.order("G")

    buyers.clock.set(_at(15))
    buyers.cart("after", [usd_line], analytics=(("source", "twitter"),))
    buyers.order("after")

    stored: dict[str, Seeded] = {}
    with buyers.checkout.ports.unit_of_work() as uow:
        for name, order_token in buyers.orders.items():
            order = uow.orders.get(order_token)
            assert order is not None
            stored[name] = Seeded(order, buyers.carts[name][1])
    return History(engine, stored)
