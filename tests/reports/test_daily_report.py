"""The daily report's figures, on SQLite and PostgreSQL, against a history made by the services."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, event

from checkout_adapters.reports import (
    CHARGED_STATUSES,
    CouponRevenue,
    DayConversion,
    DayRevenue,
    OfferingRevenue,
    SourceConversion,
    SourceRevenue,
    daily_report,
)
from tests.reports.history import FIRST_DAY, REFUND, REPORT_DAY, REPORT_DAYS, History

INR, USD = "INR", "USD"
# A's and G's list prices: int_123 for 3 months and for 1 month.
A_GROSS, G_GROSS = 4_317_600, 1_439_200


def test_the_funnel_counts_each_cart_on_the_day_it_was_created(engine: Engine) -> None:
    report = daily_report(engine, REPORT_DAY, days=REPORT_DAYS)

    assert report.conversion == (
        DayConversion(date(2024, 6, 10), carts=3, ordered=2, paid=2),
        DayConversion(date(2024, 6, 11), carts=0, ordered=0, paid=0),
        DayConversion(date(2024, 6, 12), carts=3, ordered=3, paid=2),
        DayConversion(date(2024, 6, 13), carts=1, ordered=1, paid=1),
        DayConversion(date(2024, 6, 14), carts=0, ordered=0, paid=0),
    )
    tenth, eleventh, twelfth = report.conversion[:3]
    assert (tenth.order_rate, tenth.payment_rate, tenth.conversion_rate) == (0.6667, 1.0, 0.6667)
    assert (twelfth.order_rate, twelfth.payment_rate) == (1.0, 0.6667)
    assert eleventh.order_rate is eleventh.payment_rate is eleventh.conversion_rate is None
    assert report.first_day == FIRST_DAY


def test_revenue_by_day_keeps_each_currency_apart_and_lists_the_empty_days(engine: Engine) -> None:
    report = daily_report(engine, REPORT_DAY, days=REPORT_DAYS)

    empty = {(row.day, row.currency) for row in report.revenue if row.orders == 0}
    assert len(report.revenue) == REPORT_DAYS * 2
    assert empty == {
        (date(2024, 6, day), currency) for day in (10, 11, 12, 13, 14) for currency in (INR, USD)
    } - {(date(2024, 6, 10), INR), (date(2024, 6, 12), USD), (date(2024, 6, 14), INR)}
    sold = [row for row in report.revenue if row.orders]
    assert sold == [
        # A (paid) and B (free, completed); C was never ordered.
        DayRevenue(date(2024, 6, 10), INR, 2, A_GROSS, 2_975_520, 241_574, 1_583_654, 0),
        # D with FLAT5 and F, partly refunded; E awaits payment and is left out.
        DayRevenue(date(2024, 6, 12), USD, 2, 37_035, 500, 6_576, 43_111, REFUND),
        # G: its cart is of the 13th, its order of the 14th.
        DayRevenue(date(2024, 6, 14), INR, 1, G_GROSS, 287_840, 207_245, 1_358_605, 0),
    ]
    assert report.currencies == (INR, USD)
    assert report.totals(INR).net == 1_583_654 + 1_358_605
    assert report.totals(USD).orders == 2


def test_revenue_by_day_is_what_the_stored_orders_add_up_to(seeded: History) -> None:
    expected: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    for placed in seeded.orders.values():
        order = placed.order
        day = order.created_at.date()
        if order.status.value in CHARGED_STATUSES and FIRST_DAY <= day <= REPORT_DAY:
            pricing = order.pricing
            figures = expected[day, order.currency.code]
            for index, amount in enumerate(
                (1, pricing.base_price, pricing.discount_amount, pricing.tax_total, order.total)
            ):
                figures[index] += amount
            figures[5] += order.refunded_amount

    report = daily_report(seeded.engine, REPORT_DAY, days=REPORT_DAYS)

    found = {
        (row.day, row.currency): [
            row.orders, row.gross, row.discount, row.tax, row.net, row.refunded
        ]
        for row in report.revenue
        if row.orders
    }  # fmt: skip
    assert found == expected


def test_revenue_by_offering_adds_up_the_order_lines(engine: Engine) -> None:
    report = daily_report(engine, REPORT_DAY, days=REPORT_DAYS)

    assert report.offerings == (
        OfferingRevenue(
            "int_123", INR, 2, A_GROSS + G_GROSS, 2_640_000, 623_360, 448_819, 2_942_259
        ),
        OfferingRevenue("int_456", INR, 1, 0, 0, 0, 0, 0),
        OfferingRevenue("usd_101", USD, 2, 37_035, 0, 500, 6_576, 43_111),
    )


def test_revenue_by_coupon_says_what_each_coupon_took_off(engine: Engine) -> None:
    report = daily_report(engine, REPORT_DAY, days=REPORT_DAYS)

    assert report.coupons == (
        CouponRevenue(
            "SAVE20", INR, 2, A_GROSS + G_GROSS, 3_263_360, 623_360, 448_819, 2_942_259, 0
        ),
        CouponRevenue("FLAT5", USD, 1, 24_690, 500, 500, 4_354, 28_544, 0),
    )


def test_conversion_and_revenue_by_source_and_campaign(engine: Engine) -> None:
    report = daily_report(engine, REPORT_DAY, days=REPORT_DAYS)

    assert report.source_conversion == (
        SourceConversion("google", "summer_sale", carts=3, ordered=3, paid=3),
        SourceConversion(None, None, carts=1, ordered=1, paid=0),
        SourceConversion("facebook", "summer_sale", carts=1, ordered=0, paid=0),
        SourceConversion("google", "newsletter", carts=1, ordered=1, paid=1),
        SourceConversion("twitter", None, carts=1, ordered=1, paid=1),
    )
    assert report.sources == (
        SourceRevenue(
            "google", "summer_sale", INR, 2, A_GROSS + G_GROSS, 3_263_360, 448_819, 2_942_259, 0
        ),
        SourceRevenue("google", "newsletter", INR, 1, 0, 0, 0, 0, 0),
        SourceRevenue("google", "summer_sale", USD, 1, 24_690, 500, 4_354, 28_544, 0),
        SourceRevenue("twitter", None, USD, 1, 12_345, 0, 2_222, 14_567, REFUND),
    )


def test_a_currency_restricts_the_revenue_but_not_the_funnel(engine: Engine) -> None:
    everything = daily_report(engine, REPORT_DAY, days=REPORT_DAYS)

    report = daily_report(engine, REPORT_DAY, days=REPORT_DAYS, currency="usd")

    assert report.currency == USD
    assert report.currencies == (USD,)
    assert [row for row in report.revenue if row.orders] == [
        row for row in everything.revenue if row.orders and row.currency == USD
    ]
    assert len(report.revenue) == REPORT_DAYS
    assert {row.currency for row in report.offerings + report.coupons + report.sources} == {USD}
    assert report.conversion == everything.conversion
    assert report.source_conversion == everything.source_conversion


def test_the_days_before_and_after_are_left_out(engine: Engine) -> None:
    # The 9th's and the 15th's orders are the only ones outside the report's days.
    wider = daily_report(engine, date(2024, 6, 15), days=REPORT_DAYS + 2)

    assert (
        wider.totals(INR).orders == daily_report(engine, REPORT_DAY, days=5).totals(INR).orders + 1
    )
    assert wider.totals(USD).orders == 3
    assert wider.conversion[0] == DayConversion(date(2024, 6, 9), carts=1, ordered=1, paid=1)


def test_a_period_without_carts_or_orders_is_all_empty_days(engine: Engine) -> None:
    report = daily_report(engine, date(2023, 1, 3), days=3)

    assert report.conversion == tuple(
        DayConversion(date(2023, 1, day), 0, 0, 0) for day in (1, 2, 3)
    )
    assert report.revenue == ()
    assert report.offerings == ()
    assert report.coupons == ()
    assert report.sources == ()
    assert report.source_conversion == ()
    assert daily_report(engine, date(2023, 1, 3), days=3, currency=INR).revenue == tuple(
        DayRevenue(date(2023, 1, day), INR, 0, 0, 0, 0, 0, 0) for day in (1, 2, 3)
    )


def test_a_report_covers_one_day_at_least(engine: Engine) -> None:
    with pytest.raises(ValueError, match="one day or more"):
        daily_report(engine, REPORT_DAY, days=0)


def test_the_report_is_three_statements_in_one_transaction(engine: Engine) -> None:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        daily_report(engine, REPORT_DAY, days=REPORT_DAYS)
        daily_report(engine, REPORT_DAY, days=365)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    # Whatever the number of days or rows: three queries (funnel, revenue, lines), twice. The
    # SQLite engine begins each transaction itself (BEGIN IMMEDIATE), and on PostgreSQL the
    # report sets its transaction's planner (no JIT, no sorting to group): counted apart.
    queries = [each for each in statements if each.lstrip().upper().startswith("SELECT")]
    others = [each for each in statements if each not in queries]
    assert len(queries) == 6
    per_report = (
        ["SET LOCAL jit = off", "SET LOCAL enable_sort = off"]
        if engine.dialect.name == "postgresql"
        else ["BEGIN IMMEDIATE"]
    )
    assert others == per_report * 2
