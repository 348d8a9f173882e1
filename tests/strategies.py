"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from attrs import frozen
from hypothesis import strategies as st

from checkout_core.domain.cart import Cart, CartLine
from checkout_core.domain.catalog import (
    Offering,
    Period,
    PricePlan,
    Sale,
    SalePercentage,
    SalePrice,
    SaleRule,
)
from checkout_core.domain.discounts import Coupon
from checkout_core.domain.money import Currency, Rate, Rounding
from checkout_core.domain.redelivery import RedeliveryPolicy, RelayedEvent
from checkout_core.domain.tax import TaxMode, TaxPolicy, TaxRounding

_EARLIEST = datetime(2000, 1, 1)  # noqa: DTZ001 - hypothesis takes naive bounds
_LATEST = datetime(2100, 1, 1)  # noqa: DTZ001 - hypothesis takes naive bounds
_OFFSETS = (UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8)))


def aware_datetimes() -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes at a fixed offset, a century away from datetime's limits."""
    return st.datetimes(min_value=_EARLIEST, max_value=_LATEST, timezones=st.sampled_from(_OFFSETS))


_JSON_SCALARS: st.SearchStrategy[object] = st.none() | st.booleans() | st.integers() | st.text()


def json_values() -> st.SearchStrategy[object]:
    """Float-free JSON values: what a request body may hold once money is integers."""
    return st.recursive(
        _JSON_SCALARS,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=20,
    )


def json_requests() -> st.SearchStrategy[dict[str, object]]:
    """Float-free JSON objects, as a decoded request body."""
    return st.dictionaries(st.text(max_size=8), json_values(), max_size=6)


# Orders and payments: priced snapshots to place orders at, and provider events.
# The imports sit here because this shared file grows by appending.

from checkout_core.domain.catalog import PeriodUnit  # noqa: E402
from checkout_core.domain.pricing import Estimate, EstimateLine  # noqa: E402
from checkout_core.domain.tax import GST_RATE  # noqa: E402

_ORDER_CURRENCIES = ("INR", "USD", "JPY", "KWD")


def build_estimate(
    subtotals: list[int], currency: Currency | None = None, *, coupon_code: str | None = None
) -> Estimate:
    """An estimate with a line per subtotal (offerings ``off_0``, ``off_1``...), GST on top."""
    lines = tuple(
        EstimateLine(
            offering_id=f"off_{index}",
            period=Period(index % 12 + 1, PeriodUnit.MONTH),
            base_price=subtotal,
            sale_discount=0,
            coupon_discount=0,
            subtotal=subtotal,
            tax=GST_RATE.of(subtotal),
        )
        for index, subtotal in enumerate(subtotals)
    )
    return Estimate(
        currency=currency or Currency.of("INR"),
        tax_rate=GST_RATE,
        tax_mode=TaxMode.EXCLUSIVE,
        base_price=sum(line.base_price for line in lines),
        discount_amount=0,
        sub_total=sum(line.subtotal for line in lines),
        tax_total=sum(line.tax for line in lines),
        lines=lines,
        notes=(),
        coupon_code=coupon_code,
    )


def order_currencies() -> st.SearchStrategy[Currency]:
    """A few currencies with zero, two and three decimals."""
    return st.sampled_from(_ORDER_CURRENCIES).map(Currency.of)


def estimates(*, free: bool = False) -> st.SearchStrategy[Estimate]:
    """Estimates of one to five lines: all free, or every line costing something."""
    amounts = st.just(0) if free else st.integers(min_value=1, max_value=10_000_000)
    return st.builds(
        build_estimate,
        st.lists(amounts, min_size=1, max_size=5),
        order_currencies(),
        coupon_code=st.none() | st.sampled_from(("WELCOME10", "SUMMER")),
    )


def refund_ids() -> st.SearchStrategy[str]:
    """Provider refund ids from a small pool, so that the same id comes back often."""
    return st.sampled_from(("rfnd_a", "rfnd_b", "rfnd_c", "rfnd_d"))


def failure_codes() -> st.SearchStrategy[str | None]:
    """What a provider may say when a payment fails."""
    return st.none() | st.sampled_from(("BAD_REQUEST_ERROR", "card_declined", "GATEWAY_ERROR"))


@frozen
class PricingCase:
    """Everything price_cart takes, drawn at random."""

    cart: Cart
    offerings: dict[str, Offering]
    sale: Sale | None
    coupon: Coupon | None
    tax: TaxPolicy
    now: datetime


PRICING_NOW = datetime(2024, 6, 15, tzinfo=UTC)


def currencies() -> st.SearchStrategy[Currency]:
    """Currencies with 0, 2 and 3 decimals."""
    return st.sampled_from([Currency.of(code) for code in ("INR", "USD", "JPY", "KWD")])


def rates(max_percent: int = 100) -> st.SearchStrategy[Rate]:
    """Rates from 0% to ``max_percent``, to the ppm."""
    return st.integers(0, max_percent * 10_000).map(Rate)


def tax_policies() -> st.SearchStrategy[TaxPolicy]:
    """Any tax policy, rates up to 40%."""
    return st.builds(
        TaxPolicy,
        rate=rates(40),
        mode=st.sampled_from(TaxMode),
        rounding=st.sampled_from(TaxRounding),
        rounding_mode=st.sampled_from([Rounding.HALF_UP, Rounding.HALF_EVEN]),
    )


@st.composite
def pricing_cases(
    draw: st.DrawFn, *, tax: st.SearchStrategy[TaxPolicy] | None = None
) -> PricingCase:
    """A cart of 1 to 20 lines with its catalog, maybe a running sale and maybe a coupon."""
    currency = draw(currencies())
    count = draw(st.integers(1, 20))
    offerings = {
        f"int_{i}": Offering(
            f"int_{i}", "x", currency, [PricePlan("month", draw(st.integers(0, 10**8)), 1, 24)]
        )
        for i in range(count)
    }
    lines = [
        CartLine(offering_id, Period(draw(st.integers(1, 24)), "month"))
        for offering_id in offerings
    ]
    rules: list[SaleRule] = []
    for offering_id in offerings:
        kind = draw(st.sampled_from(["none", "price", "percent"]))
        if kind == "price":
            rules.append(SalePrice(offering_id, "month", draw(st.integers(0, 10**8))))
        elif kind == "percent":
            rules.append(SalePercentage(offering_id, draw(rates())))
    sale = Sale("sale", PRICING_NOW - timedelta(days=1), PRICING_NOW + timedelta(days=1), rules)
    coupon = draw(
        st.none()
        | st.builds(
            Coupon,
            code=st.just("CODE"),
            percent_off=rates().filter(lambda rate: rate.ppm > 0),
            currency=st.just(currency),
            max_discount=st.none() | st.integers(1, 10**9),
            min_subtotal=st.none() | st.integers(0, 10**9),
            offering_ids=st.none() | st.frozensets(st.sampled_from(sorted(offerings))),
            stacks_with_sale=st.booleans(),
        )
        | st.builds(
            Coupon,
            code=st.just("CODE"),
            amount_off=st.integers(1, 10**9),
            currency=st.just(currency),
            stacks_with_sale=st.booleans(),
        )
    )
    cart = Cart.open(
        token="t",
        lines=lines,
        offerings=offerings,
        now=PRICING_NOW,
        sale_slug=draw(st.sampled_from([None, "sale"])),
    )
    if coupon is not None:
        cart = cart.with_coupon(coupon.code)
    policy = draw(tax if tax is not None else tax_policies())
    return PricingCase(cart, offerings, sale, coupon, policy, PRICING_NOW)


def spans(min_seconds: int = 0, max_seconds: int = 30 * 86_400) -> st.SearchStrategy[timedelta]:
    """Spans of time to the microsecond, from ``min_seconds`` to ``max_seconds``."""
    return st.integers(min_seconds * 10**6, max_seconds * 10**6).map(
        lambda microseconds: timedelta(microseconds=microseconds)
    )


@st.composite
def redelivery_policies(draw: st.DrawFn) -> RedeliveryPolicy:
    """Policies waiting a second to a day before a first copy, looking back up to a year."""
    stalled_after = draw(spans(1, 86_400))
    return RedeliveryPolicy(
        stalled_after=stalled_after,
        lookback=stalled_after + draw(spans(1, 365 * 86_400)),
    )


@st.composite
def relayed_events(draw: st.DrawFn) -> RelayedEvent:
    """``order.paid`` events relayed up to 30 days after they happened, or a little before.

    A relay on another machine, whose clock is behind, may mark an event
    sent before the time it says it happened.
    """
    occurred_at = draw(aware_datetimes())
    sent_at = occurred_at + draw(spans(0, 30 * 86_400)) - draw(spans(0, 60))
    return RelayedEvent("evt_1", "ord_1", occurred_at, sent_at)
