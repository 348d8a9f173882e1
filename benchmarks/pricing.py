"""Benchmark of the pricing engine against a Decimal reference written with ``prices``.

It measures how many estimates per second :func:`checkout_core.domain.pricing.price_cart`
makes for carts of 1, 3, 10 and 100 lines, each line on a sale, the cart with a
20% coupon and GST at 18% (exclusive, rounded per line). Beside it, in the same
process and with interleaved batches, it times the same computation written the
way a Saleor-style codebase would write it, with ``prices`` (Saleor's Decimal
money library): the same checks of each line against the catalog, the same
coupon rules, the same arithmetic and a note on what each discount did. It
checks once, before timing, that both give the same figures to the paisa and
the same notes.

Figures are medians over batches; the speedup is the reference's median
divided by ours, both measured in this run. The script prints a table and
writes ``benchmarks/results/pricing.json``. A missed target is reported, not
an error; only a mismatch between the two computations fails the run.

Run it with ``nox -s bench`` or ``python benchmarks/pricing.py`` (add
``--quick`` for a short smoke run with fewer, shorter batches).
"""

from __future__ import annotations

import argparse
import functools
import gc
import itertools
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypedDict

import prices
from prices import Money, TaxedMoney, flat_tax

from checkout_core.domain.cart import DEFAULT_CART_TTL, MAX_LINES, Cart, CartLine
from checkout_core.domain.catalog import Offering, Period, PricePlan, Sale, SalePrice
from checkout_core.domain.discounts import Coupon, CouponUsage
from checkout_core.domain.money import Currency, Rate
from checkout_core.domain.pricing import DiscountKind, Estimate, price_cart
from checkout_core.domain.tax import TaxPolicy
from reporting import machine, print_targets, target, write_report

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

LINE_COUNTS: Final = (1, 3, 10, 100)
RESULTS: Final = Path(__file__).resolve().parent / "results" / "pricing.json"

TARGET_RATE_3_LINES: Final = 50_000
"""Estimates per second wanted for a 3-line cart, on one core."""
TARGET_SPEEDUP_3_LINES: Final = 3.0
"""How many times faster than the Decimal reference, for a 3-line cart."""
TARGET_LINEARITY: Final = 1.5
"""Most the time per line may grow from 10 to 100 lines."""

INR: Final = Currency.of("INR")
NOW: Final = datetime(2024, 6, 1, tzinfo=UTC)
MONTHS: Final = 3
CART_TOKEN: Final = "bench-cart"  # noqa: S105 - a cart token, made up, not a secret
SALE_SLUG: Final = "summer2024"
COUPON_CODE: Final = "SAVE20"
COUPON_USAGE: Final = CouponUsage(total=42)
USAGE_LIMIT: Final = 1_000_000
COUPON_CAP: Final = 10**12
"""A cap on the coupon, in paise, far above any cart here, so that it never binds."""
TAX: Final = TaxPolicy()
"""The default policy: GST 18%, exclusive, each line's tax rounded half-up."""


# ---------------------------------------------------------------- the scenario


@dataclass(frozen=True, slots=True)
class Scenario:
    """One cart of ``n`` lines and everything needed to price it, both ways."""

    n: int
    cart: Cart
    offerings: Mapping[str, Offering]
    sale: Sale
    coupon: Coupon
    ref_cart: RefCart
    ref_catalog: Mapping[str, RefOffering]
    ref_sale: RefSale
    ref_coupon: RefCoupon


def _list_unit_price(i: int) -> int:
    return 1_439_200 + i * 1_700


def _sale_unit_price(i: int) -> int:
    return 559_200 + i * 900


def _as_field(items: Iterable[object]) -> Any:  # noqa: ANN401 - on purpose, see below
    """A tuple for an attrs field declared with ``converter=tuple``.

    mypy's attrs plugin cannot type such a field's argument (it expects
    ``Iterable[_T_co]``); handing it ``Any`` keeps this file type-checked either way.
    """
    return tuple(items)


def _offering(offering_id: str, unit_price: int) -> Offering:
    plans = _as_field([PricePlan("month", unit_price, 1, 12)])
    return Offering(offering_id, f"Offering {offering_id}", INR, plans)


def _rupees(paise: int) -> Decimal:
    return Decimal(paise).scaleb(-2)


def build_scenario(n: int) -> Scenario:
    """Build a deterministic cart of ``n`` INR lines, a running sale and a 20% coupon."""
    ids = [f"off_{i:03d}" for i in range(n)]
    offerings = {oid: _offering(oid, _list_unit_price(i)) for i, oid in enumerate(ids)}
    sale = Sale(
        SALE_SLUG,
        NOW - timedelta(days=1),
        NOW + timedelta(days=60),
        _as_field(SalePrice(oid, "month", _sale_unit_price(i)) for i, oid in enumerate(ids)),
    )
    lines = tuple(CartLine(oid, Period(MONTHS, "month")) for oid in ids)
    if n <= MAX_LINES:
        cart = Cart.open(
            token=CART_TOKEN, lines=lines, offerings=offerings, now=NOW, sale_slug=SALE_SLUG
        )
    else:
        # Cart.open refuses more than MAX_LINES lines; the constructor does not
        # check. This cart is not one a buyer could make: it is here to measure
        # how the engine's time scales with the number of lines.
        cart = Cart(
            token=CART_TOKEN,
            lines=_as_field(lines),
            created_at=NOW,
            expires_at=NOW + DEFAULT_CART_TTL,
            sale_slug=SALE_SLUG,
        )
    cart = cart.with_coupon(COUPON_CODE.lower())
    coupon = Coupon(
        code=COUPON_CODE,
        percent_off=Rate.percent(20),
        currency=INR,
        max_discount=COUPON_CAP,
        usage_limit=USAGE_LIMIT,
    )
    # The reference reads the same catalog, held the way a Decimal codebase
    # holds it: prices in rupees, as prices.Money.
    ref_catalog = {
        oid: RefOffering(Money(_rupees(_list_unit_price(i)), INR.code), True, 1, 12)
        for i, oid in enumerate(ids)
    }
    ref_sale = RefSale(
        SALE_SLUG,
        sale.starts_at,
        sale.ends_at,
        {oid: Money(_rupees(_sale_unit_price(i)), INR.code) for i, oid in enumerate(ids)},
    )
    ref_coupon = RefCoupon(
        COUPON_CODE,
        Decimal(20) / 100,
        Money(_rupees(COUPON_CAP), INR.code),
        USAGE_LIMIT,
        COUPON_USAGE.total,
    )
    ref_cart = RefCart(tuple((oid, MONTHS) for oid in ids), SALE_SLUG, COUPON_CODE)
    return Scenario(n, cart, offerings, sale, coupon, ref_cart, ref_catalog, ref_sale, ref_coupon)


def ours(scenario: Scenario) -> Estimate:
    """Price the scenario's cart with the engine."""
    return price_cart(
        scenario.cart,
        scenario.offerings,
        tax=TAX,
        now=NOW,
        sale=scenario.sale,
        coupon=scenario.coupon,
        coupon_usage=COUPON_USAGE,
    )


# ------------------------------------------------- the reference, with prices


@dataclass(frozen=True, slots=True)
class RefOffering:
    """A catalog entry of the reference: the list price of one month, and its rules."""

    unit_price: Money
    active: bool
    min_months: int
    max_months: int


@dataclass(frozen=True, slots=True)
class RefSale:
    """A sale of the reference: its window and a sale price per month by offering."""

    slug: str
    starts_at: datetime
    ends_at: datetime
    unit_prices: Mapping[str, Money]


@dataclass(frozen=True, slots=True)
class RefCoupon:
    """A percentage coupon of the reference, with the same rules as the engine's coupons."""

    code: str
    fraction: Decimal
    max_discount: Money
    usage_limit: int
    used: int
    active: bool = True
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    min_subtotal: Money | None = None
    offering_ids: frozenset[str] | None = None
    stacks_with_sale: bool = True


@dataclass(frozen=True, slots=True)
class RefNote:
    """What a discount rule did, or why it did nothing, as the engine's notes say."""

    kind: str
    name: str
    applied: bool
    amount: Money
    reason: str
    offering_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RefCart:
    """A cart of the reference: (offering id, months) lines, a sale and a coupon code."""

    lines: tuple[tuple[str, int], ...]
    sale_slug: str | None
    coupon_code: str | None


@dataclass(frozen=True, slots=True)
class RefLine:
    """One priced line of the reference."""

    offering_id: str
    base: Money
    discount: Money
    subtotal: Money
    tax: Money
    total: Money


@dataclass(frozen=True, slots=True)
class RefEstimate:
    """A priced cart of the reference: its lines and totals."""

    lines: tuple[RefLine, ...]
    base: Money
    discount: Money
    subtotal: Money
    tax: Money
    total: Money
    notes: tuple[RefNote, ...]


REF_TAX_RATE: Final = Decimal("0.18")
REF_MINOR_PER_MAJOR: Final = Decimal(100)


def _ref_allocate(amount: Money, weights: Sequence[Money]) -> list[Money]:
    """Split ``amount`` over ``weights`` by largest remainder, in Decimal minor units."""
    currency = amount.currency
    minor = [weight.amount * REF_MINOR_PER_MAJOR for weight in weights]
    total = sum(minor, Decimal(0))
    to_split = amount.amount * REF_MINOR_PER_MAJOR
    shares: list[Decimal] = []
    remainders: list[Decimal] = []
    for weight in minor:
        share, remainder = divmod(to_split * weight, total)
        shares.append(share)
        remainders.append(remainder)
    left = int(to_split - sum(shares, Decimal(0)))
    for index in sorted(range(len(shares)), key=remainders.__getitem__, reverse=True)[:left]:
        shares[index] += 1
    return [Money(share / REF_MINOR_PER_MAJOR, currency) for share in shares]


def _ref_coupon_refusal(  # noqa: PLR0911 - one return per rule, as the engine checks them
    coupon: RefCoupon | None,
    cart: RefCart,
    after_sale: Sequence[Money],
    sale_on_line: Sequence[bool],
    now: datetime,
) -> str | None:
    """Why the cart's coupon cannot be used, or ``None``: the engine's rules, in its order."""
    if coupon is None or coupon.code != cart.coupon_code or not coupon.active:
        return "Coupon is invalid."
    if coupon.valid_from is not None and now < coupon.valid_from:
        return "Coupon is not valid yet."
    if coupon.valid_until is not None and now >= coupon.valid_until:
        return "Coupon has expired."
    if coupon.used >= coupon.usage_limit:
        return "Coupon has been used up."
    if coupon.max_discount.currency != after_sale[0].currency:
        return "the coupon is for another currency"
    eligible = [
        (coupon.offering_ids is None or offering_id in coupon.offering_ids)
        and (coupon.stacks_with_sale or not on_sale)
        for (offering_id, _), on_sale in zip(cart.lines, sale_on_line, strict=True)
    ]
    if not any(eligible):
        return "the coupon does not cover these products"
    if coupon.min_subtotal is not None and prices.sum(after_sale) < coupon.min_subtotal:
        return "the cart does not reach the coupon's minimum"
    return None


def reference(  # noqa: C901, PLR0915 - the whole computation, written out in one function
    cart: RefCart,
    catalog: Mapping[str, RefOffering],
    sale: RefSale | None,
    coupon: RefCoupon | None,
    now: datetime,
) -> RefEstimate:
    """Price ``cart`` in Decimal with ``prices``, as a Saleor-style codebase would.

    The same computation as the engine's: each line checked against the
    catalog (known, active, one currency, a period it is sold for), the list
    price, then the sale price if the sale is running, then the coupon's rules
    and its discount on the subtotal after the sale (rounded half-up, capped,
    spread over the lines by largest remainder), then 18% tax per line with
    ``flat_tax`` (half-up); and a note on what each discount did.
    """
    sale_on = (
        sale is not None and sale.slug == cart.sale_slug and sale.starts_at <= now < sale.ends_at
    )
    bases: list[Money] = []
    after_sale: list[Money] = []
    sale_on_line: list[bool] = []
    currency: str | None = None
    for offering_id, months in cart.lines:
        offering = catalog.get(offering_id)
        if offering is None or not offering.active:
            raise SystemExit(f"{offering_id} cannot be sold")
        if currency is None:
            currency = offering.unit_price.currency
        elif offering.unit_price.currency != currency:
            raise SystemExit("mixed currencies")
        if not offering.min_months <= months <= offering.max_months:
            raise SystemExit(f"{offering_id} is not sold for {months} months")
        base = offering.unit_price * months
        price = base
        if sale_on and sale is not None:
            sale_unit = sale.unit_prices.get(offering_id)
            if sale_unit is not None:
                price = min(sale_unit * months, base)
        bases.append(base)
        after_sale.append(price)
        sale_on_line.append(price < base)
    if currency is None:
        raise SystemExit("empty cart")
    zero = Money(0, currency)
    notes: list[RefNote] = []
    if sale_on and sale is not None:
        on_sale = tuple(
            oid for (oid, _), flag in zip(cart.lines, sale_on_line, strict=True) if flag
        )
        sale_total = prices.sum(bases) - prices.sum(after_sale)
        notes.append(RefNote("sale", sale.slug, True, sale_total, "sale price", on_sale))
    refusal = _ref_coupon_refusal(coupon, cart, after_sale, sale_on_line, now)
    if coupon is not None and refusal is None:
        eligible = prices.sum(after_sale)
        wanted = (eligible * coupon.fraction).quantize(rounding=ROUND_HALF_UP)
        coupon_total = min(wanted, coupon.max_discount, eligible)
        coupon_lines = _ref_allocate(coupon_total, after_sale)
        covered = tuple(
            oid for (oid, _), share in zip(cart.lines, coupon_lines, strict=True) if share
        )
        notes.append(RefNote("coupon", coupon.code, True, coupon_total, "20% off", covered))
    else:
        coupon_lines = [zero] * len(after_sale)
        every_line = tuple(oid for oid, _ in cart.lines)
        notes.append(
            RefNote("coupon", cart.coupon_code or "", False, zero, refusal or "", every_line)
        )
    lines: list[RefLine] = []
    taxed: list[TaxedMoney] = []
    for (offering_id, _), base, price, coupon_line in zip(
        cart.lines, bases, after_sale, coupon_lines, strict=True
    ):
        line_price = flat_tax(price - coupon_line, REF_TAX_RATE)
        taxed.append(line_price)
        lines.append(
            RefLine(
                offering_id=offering_id,
                base=base,
                discount=base - line_price.net,
                subtotal=line_price.net,
                tax=line_price.tax,
                total=line_price.gross,
            )
        )
    total = prices.sum(taxed)
    base_total = prices.sum(bases)
    return RefEstimate(
        lines=tuple(lines),
        base=base_total,
        discount=base_total - total.net,
        subtotal=total.net,
        tax=total.tax,
        total=total.gross,
        notes=tuple(notes),
    )


def run_reference(scenario: Scenario) -> RefEstimate:
    """Price the scenario's cart with the reference."""
    return reference(
        scenario.ref_cart, scenario.ref_catalog, scenario.ref_sale, scenario.ref_coupon, NOW
    )


# ------------------------------------------------------------------- checking

Figures = tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]


def _paise(money: Money) -> int:
    minor = money.amount * REF_MINOR_PER_MAJOR
    if minor != minor.to_integral_value():
        raise SystemExit(f"reference amount {money!r} is not a whole number of paise")
    return int(minor)


def figures_of_ours(estimate: Estimate) -> Figures:
    """Base, discount, subtotal, tax and total of every line and of the cart, in paise."""
    lines = tuple(
        (line.base_price, line.discount, line.subtotal, line.tax, line.total)
        for line in estimate.lines
    )
    totals = (
        estimate.base_price,
        estimate.discount_amount,
        estimate.sub_total,
        estimate.tax_total,
        estimate.total,
    )
    return lines, totals


def figures_of_reference(estimate: RefEstimate) -> Figures:
    """The same figures as :func:`figures_of_ours`, from the reference's Decimal amounts."""
    lines = tuple(
        tuple(_paise(m) for m in (line.base, line.discount, line.subtotal, line.tax, line.total))
        for line in estimate.lines
    )
    totals = tuple(
        _paise(m)
        for m in (estimate.base, estimate.discount, estimate.subtotal, estimate.tax, estimate.total)
    )
    return lines, totals


def check_same(scenario: Scenario) -> tuple[int, ...]:
    """Refuse to time two computations that disagree; return the cart's totals.

    Exits non-zero when the sale or the coupon did not apply (the benchmark
    would time the wrong path) or when any line or total differs.
    """
    estimate = ours(scenario)
    sale_applied = any(note.applied and note.kind is DiscountKind.SALE for note in estimate.notes)
    if not (sale_applied and estimate.coupon_applied):
        raise SystemExit(
            f"{scenario.n} lines: the sale or the coupon did not apply: {estimate.notes}"
        )
    mine = figures_of_ours(estimate)
    ref_estimate = run_reference(scenario)
    theirs = figures_of_reference(ref_estimate)
    my_notes = [(str(n.kind), n.applied, n.amount, n.offering_ids) for n in estimate.notes]
    their_notes = [
        (n.kind, n.applied, _paise(n.amount), n.offering_ids) for n in ref_estimate.notes
    ]
    if my_notes != their_notes:
        raise SystemExit(f"{scenario.n} lines: the notes differ\n  {my_notes}\n  {their_notes}")
    if mine != theirs:
        raise SystemExit(
            f"{scenario.n} lines: the engine and the reference disagree\n"
            f"  ours:      {mine[1]}\n  reference: {theirs[1]}"
        )
    return mine[1]


# -------------------------------------------------------------------- timing


def _batch_ns(fn: Callable[[], object], size: int) -> int:
    """Time ``size`` calls of ``fn``; the garbage collector stays on, emptied first."""
    gc.collect()
    start = time.perf_counter_ns()
    for _ in itertools.repeat(None, size):
        fn()
    return time.perf_counter_ns() - start


def calibrate(fn: Callable[[], object], batch_seconds: float) -> int:
    """Warm ``fn`` up and return the batch size that takes about ``batch_seconds``."""
    size = 1
    while True:
        elapsed = _batch_ns(fn, size)
        if elapsed >= 20_000_000 or size >= 1 << 24:
            break
        size *= 2
    per_call = elapsed / size
    return max(1, round(batch_seconds * 1e9 / per_call))


class Summary(TypedDict):
    """One implementation's figures for one cart size."""

    median_us: float
    estimates_per_s: float
    us_per_line: float
    batches: int


class Result(TypedDict):
    """Both implementations' figures for one cart size."""

    lines: int
    cart_total_paise: int
    batch_size: dict[str, int]
    ours: Summary
    reference: Summary
    speedup: float


def summarize(per_call_ns: Sequence[float], n: int) -> Summary:
    """The median time per estimate, as estimates/s, µs per estimate and µs per line."""
    median_ns = statistics.median(per_call_ns)
    return {
        "median_us": round(median_ns / 1e3, 3),
        "estimates_per_s": round(1e9 / median_ns, 1),
        "us_per_line": round(median_ns / 1e3 / n, 4),
        "batches": len(per_call_ns),
    }


def measure(scenario: Scenario, repeats: int, batch_seconds: float) -> Result:
    """Time both implementations on one scenario, batch by batch, interleaved."""
    totals = check_same(scenario)
    contenders: dict[str, Callable[[], object]] = {
        "ours": functools.partial(ours, scenario),
        "reference": functools.partial(run_reference, scenario),
    }
    sizes = {name: calibrate(fn, batch_seconds) for name, fn in contenders.items()}
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            samples[name].append(_batch_ns(fn, sizes[name]) / sizes[name])
    ours_summary = summarize(samples["ours"], scenario.n)
    ref_summary = summarize(samples["reference"], scenario.n)
    return {
        "lines": scenario.n,
        "cart_total_paise": totals[-1],
        "batch_size": sizes,
        "ours": ours_summary,
        "reference": ref_summary,
        "speedup": round(ref_summary["median_us"] / ours_summary["median_us"], 2),
    }


# -------------------------------------------------------------------- report


def _table(results: Sequence[Result]) -> str:
    head = (
        f"{'lines':>5} | {'ours est/s':>11} {'µs':>8} {'µs/line':>8} | "
        f"{'prices est/s':>12} {'µs':>8} {'µs/line':>8} | {'speedup':>7}"
    )
    rows = [head, "-" * len(head)]
    for result in results:
        mine = result["ours"]
        theirs = result["reference"]
        rows.append(
            f"{result['lines']:>5} | {mine['estimates_per_s']:>11,.0f} {mine['median_us']:>8.2f} "
            f"{mine['us_per_line']:>8.3f} | {theirs['estimates_per_s']:>12,.0f} "
            f"{theirs['median_us']:>8.2f} {theirs['us_per_line']:>8.3f} | "
            f"{result['speedup']:>6.2f}x"
        )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print its table and write ``benchmarks/results/pricing.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    repeats, batch_seconds = (3, 0.02) if args.quick else (15, 0.2)

    results = []
    for n in LINE_COUNTS:
        result = measure(build_scenario(n), repeats, batch_seconds)
        results.append(result)
    by_lines = {result["lines"]: result for result in results}

    three = by_lines[3]
    rate_3 = three["ours"]["estimates_per_s"]
    speedup_3 = three["speedup"]
    linearity = {
        who: round(by_lines[100][who]["us_per_line"] / by_lines[10][who]["us_per_line"], 3)
        for who in ("ours", "reference")
    }
    targets = [
        target(
            "estimates per second, 3 lines",
            f">= {TARGET_RATE_3_LINES}",
            rate_3,
            met=rate_3 >= TARGET_RATE_3_LINES,
        ),
        target(
            "speedup over the prices reference, 3 lines",
            f">= {TARGET_SPEEDUP_3_LINES}",
            speedup_3,
            met=speedup_3 >= TARGET_SPEEDUP_3_LINES,
        ),
        target(
            "linearity: per-line time at 100 lines / at 10 lines",
            f"<= {TARGET_LINEARITY}",
            linearity["ours"],
            met=linearity["ours"] <= TARGET_LINEARITY,
        ),
    ]

    print(
        f"\npricing: price_cart vs prices {metadata.version('prices')} (Decimal), "
        f"sale + 20% coupon + GST 18% per line; medians of {repeats} batches of ~{batch_seconds} s"
    )
    print(_table(results))
    print(
        f"linearity (µs/line at 100 / at 10): ours {linearity['ours']}, "
        f"reference {linearity['reference']}"
    )
    print_targets(targets)

    report = {
        "benchmark": "pricing",
        **machine(quick=args.quick),
        "prices_version": metadata.version("prices"),
        "scenario": {
            "currency": INR.code,
            "months": MONTHS,
            "sale": SALE_SLUG,
            "coupon": f"{COUPON_CODE}, 20% off, cap not binding",
            "tax": "GST 18% exclusive, per line, half-up",
        },
        "method": {
            "repeats": repeats,
            "batch_seconds": batch_seconds,
            "statistic": "median per-estimate time over batches; batches interleaved",
            "gc": "enabled; gc.collect() before each batch",
        },
        "results": {str(result["lines"]): result for result in results},
        "linearity": linearity,
        "targets": targets,
    }
    write_report(RESULTS, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
