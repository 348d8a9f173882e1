"""The daily report, computed by the database: three grouped statements, on PostgreSQL or SQLite.

Every figure is aggregated in SQL (``GROUP BY``, ``FILTER``) at the finest
grain a breakdown needs (day, currency, coupon, source, campaign); Python
only adds those grouped rows up into the coarser breakdowns, so memory grows
with the combinations sold, never with the carts or orders. Reading the
tables once for several breakdowns is what keeps a month of a million
orders under three seconds on PostgreSQL.
Amounts an order keeps only in its pricing JSON (list price, discounts,
tax, lines) are read with the database's own JSON functions: ``jsonb``
operators and ``jsonb_to_recordset`` on PostgreSQL, ``json_extract`` and
``json_each`` on SQLite. A cart's analytics pairs are grouped by as they
are stored, and the source and campaign read from each grouped document in
Python: as many documents as the distinct pairs, where reading them in SQL
meant a JSON path per cart and per order (over 1 M orders, 1.1 s of 2.9 s). A UTC day is
``timezone('UTC', t)::date`` on PostgreSQL, where times are ``timestamptz``,
and ``date(t)`` on SQLite, where times are stored as UTC text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, TypeVar

from attrs import frozen
from sqlalchemy import (
    BigInteger,
    Date,
    Engine,
    FromClause,
    Integer,
    Row,
    Select,
    String,
    and_,
    case,
    cast,
    column,
    func,
    literal_column,
    select,
    true,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement, Label

from checkout_adapters.reports.model import (
    CHARGED_STATUSES,
    CouponRevenue,
    DailyReport,
    DayConversion,
    DayRevenue,
    OfferingRevenue,
    SourceConversion,
    SourceRevenue,
)
from checkout_adapters.sqlalchemy.tables import carts, orders

__all__ = ["ANALYTICS_CAMPAIGN", "ANALYTICS_SOURCE", "daily_report"]

ANALYTICS_SOURCE: Final = "source"
"""The analytics key whose value is a cart's source (``google`` in the seed)."""
ANALYTICS_CAMPAIGN: Final = "campaign"
"""The analytics key whose value is a cart's campaign (``summer_sale`` in the seed)."""

T = TypeVar("T")

_LINE_AMOUNTS: Final = ("base_price", "sale_discount", "coupon_discount", "subtotal", "tax")


def _quoted(value: str) -> ColumnElement[Any]:
    # Constants are written into the SQL, not bound: PostgreSQL matches a
    # grouped expression only when it is the same text, and each bound
    # parameter is a placeholder of its own. The values are the module's own.
    return literal_column("'" + value.replace("'", "''") + "'")


@frozen
class _Lines:
    """The lines of an order's pricing as rows to join: the rows and each field's expression."""

    rows: FromClause
    offering_id: ColumnElement[str]
    amounts: Mapping[str, ColumnElement[int]]


@frozen
class _Dialect:
    """The expressions that PostgreSQL and SQLite write differently."""

    day: Callable[[ColumnElement[Any]], ColumnElement[date]]
    amount: Callable[[ColumnElement[Any], str], ColumnElement[int]]
    coupon_discount: Callable[[ColumnElement[Any]], ColumnElement[int]]
    lines: Callable[[ColumnElement[Any]], _Lines]


def _postgres() -> _Dialect:
    def day(moment: ColumnElement[Any]) -> ColumnElement[date]:
        return cast(func.timezone(_quoted("UTC"), moment), Date)

    def amount(document: ColumnElement[Any], key: str) -> ColumnElement[int]:
        return cast(func.jsonb_extract_path_text(document, _quoted(key)), BigInteger)

    def coupon_discount(pricing: ColumnElement[Any]) -> ColumnElement[int]:
        note = func.jsonb_path_query_first(pricing, _quoted('$.notes[*] ? (@.kind == "coupon")'))
        return cast(func.jsonb_extract_path_text(note, _quoted("amount")), BigInteger)

    def lines(pricing: ColumnElement[Any]) -> _Lines:
        # A typed record per line: each amount is read once, as a bigint.
        rows = (
            func.jsonb_to_recordset(func.jsonb_extract_path(pricing, _quoted("lines")))
            .table_valued(
                column("offering_id", String),
                *(column(name, BigInteger) for name in _LINE_AMOUNTS),
            )
            .render_derived(name="line", with_types=True)
            .lateral()
        )
        return _Lines(rows, rows.c.offering_id, {name: rows.c[name] for name in _LINE_AMOUNTS})

    return _Dialect(day, amount, coupon_discount, lines)


def _sqlite() -> _Dialect:
    def day(moment: ColumnElement[Any]) -> ColumnElement[date]:
        return type_coerce(func.date(moment), Date)

    def amount(document: ColumnElement[Any], key: str) -> ColumnElement[int]:
        return type_coerce(func.json_extract(document, _quoted(f"$.{key}")), Integer)

    def coupon_discount(pricing: ColumnElement[Any]) -> ColumnElement[int]:
        note = func.json_each(pricing, _quoted("$.notes")).table_valued("value").alias("note")
        found = select(func.json_extract(note.c.value, _quoted("$.amount"))).where(
            func.json_extract(note.c.value, _quoted("$.kind")) == _quoted("coupon")
        )
        return type_coerce(found.limit(1).scalar_subquery(), Integer)

    def lines(pricing: ColumnElement[Any]) -> _Lines:
        # SQLite has no LATERAL: a table-valued function in a join may read
        # the columns of the tables before it instead.
        rows = func.json_each(pricing, _quoted("$.lines")).table_valued("value").alias("line")

        def field(name: str) -> ColumnElement[Any]:
            return func.json_extract(rows.c.value, _quoted(f"$.{name}"))

        amounts = {name: type_coerce(field(name), Integer) for name in _LINE_AMOUNTS}
        return _Lines(rows, type_coerce(field("offering_id"), String), amounts)

    return _Dialect(day, amount, coupon_discount, lines)


def _dialect(name: str) -> _Dialect:
    if name == "postgresql":
        return _postgres()
    if name == "sqlite":
        return _sqlite()
    raise ValueError(f"the daily report runs on PostgreSQL or SQLite, not {name}")


def _total(value: ColumnElement[Any]) -> ColumnElement[int]:
    # PostgreSQL sums bigints into numeric; the report's amounts are integers.
    return cast(func.coalesce(func.sum(value), 0), BigInteger)


@frozen
class _Window:
    """The report's period as a half-open range of instants, and its currency."""

    start: datetime
    end: datetime
    currency: str | None

    def carts(self) -> ColumnElement[bool]:
        return and_(carts.c.created_at >= self.start, carts.c.created_at < self.end)

    def charged(self) -> ColumnElement[bool]:
        conditions = [
            orders.c.created_at >= self.start,
            orders.c.created_at < self.end,
            orders.c.status.in_(CHARGED_STATUSES),
        ]
        if self.currency is not None:
            conditions.append(orders.c.currency == self.currency)
        return and_(*conditions)


def _funnel(window: _Window, *keys: Label[Any]) -> Select[Any]:
    """Carts created in the window with their order, if any, counted by ``keys``."""
    charged = orders.c.status.in_(CHARGED_STATUSES)
    joined = carts.outerjoin(orders, orders.c.cart_token == carts.c.token)
    rows = (
        select(*keys, orders.c.token.label("order_token"), charged.label("charged"))
        .select_from(joined)
        .where(window.carts())
        .subquery("funnel")
    )
    grouped = [rows.c[key.name] for key in keys]
    return select(
        *grouped,
        func.count().label("carts"),
        func.count(rows.c.order_token).label("ordered"),
        func.count().filter(rows.c.charged).label("paid"),
    ).group_by(*grouped)


def _money(sql: _Dialect) -> list[ColumnElement[Any]]:
    """An order's amounts, each labelled."""
    pricing = orders.c.pricing
    return [
        sql.amount(pricing, "base_price").label("gross"),
        sql.amount(pricing, "discount_amount").label("discount"),
        sql.amount(pricing, "tax_total").label("tax"),
        orders.c.total.label("net"),
        orders.c.refunded_amount.label("refunded"),
    ]


def _revenue(
    sql: _Dialect,
    window: _Window,
    keys: Sequence[Label[Any]],
    source: FromClause,
    extra: Iterable[Label[Any]],
) -> Select[Any]:
    """The charged orders of the window in ``source``, amounts summed by ``keys`` and currency."""
    rows = (
        select(*keys, orders.c.currency, *_money(sql), *extra)
        .select_from(source)
        .where(window.charged())
        .subquery("charged")
    )
    grouped = [rows.c[key.name] for key in keys] + [rows.c.currency]
    summed = [_total(rows.c[name]).label(name) for name in ("gross", "discount", "tax", "net")]
    return select(
        *grouped,
        func.count().label("orders"),
        *summed,
        _total(rows.c.refunded).label("refunded"),
        *(_total(rows.c[each.name]).label(each.name) for each in extra),
    ).group_by(*grouped)


def _offerings(sql: _Dialect, window: _Window) -> Select[Any]:
    """The lines of the charged orders of the window, summed by offering and currency."""
    line = sql.lines(orders.c.pricing)
    amount = line.amounts
    rows = (
        select(
            line.offering_id.label("offering_id"),
            orders.c.currency,
            amount["base_price"].label("gross"),
            amount["sale_discount"].label("sale_discount"),
            amount["coupon_discount"].label("coupon_discount"),
            amount["tax"].label("tax"),
            (amount["subtotal"] + amount["tax"]).label("net"),
        )
        .select_from(orders.join(line.rows, true()))
        .where(window.charged())
        .subquery("lines")
    )
    grouped = [rows.c.offering_id, rows.c.currency]
    return select(
        *grouped,
        func.count().label("lines"),
        *(
            _total(rows.c[name]).label(name)
            for name in ("gross", "sale_discount", "coupon_discount", "tax", "net")
        ),
    ).group_by(*grouped)


def _window(day: date, days: int, currency: str | None) -> _Window:
    if days < 1:
        raise ValueError(f"a report covers one day or more, not {days}")
    end = datetime.combine(day + timedelta(days=1), time(), UTC)
    return _Window(end - timedelta(days=days), end, currency)


def _as_date(value: date | str) -> date:
    # SQLite's date() answers text, which the Date type of some drivers leaves as it is.
    return value if isinstance(value, date) else date.fromisoformat(value)


def _text_key(value: str | None) -> str:
    return "" if value is None else value


def daily_report(
    engine: Engine, day: date, *, days: int = 30, currency: str | None = None
) -> DailyReport:
    """Conversion and revenue over the ``days`` UTC days ending with ``day``, from ``engine``.

    ``currency`` (an ISO 4217 code) restricts the revenue to that currency.
    Three statements run in one repeatable-read transaction, so the
    breakdowns agree with each other: the funnel grouped by day, source and
    campaign; the revenue grouped by day, currency, coupon, source and
    campaign; the order lines grouped by offering and currency. Each of the
    first two reads its tables once for several breakdowns, which are then
    added up from its grouped rows (as many as the combinations sold, not
    the orders). See :mod:`checkout_adapters.reports.model` for what each
    figure means.
    """
    window = _window(day, days, currency.upper() if currency else None)
    sql = _dialect(engine.dialect.name)
    analytics = carts.c.analytics.label("analytics")
    coupon_discount = case(
        (orders.c.coupon_code.is_(None), 0), else_=sql.coupon_discount(orders.c.pricing)
    ).label("coupon_discount")
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as connection:
        if engine.dialect.name == "postgresql":
            # The statements spend their time in JSON functions, which JIT cannot
            # speed up: compiling them took longer (0.6 s over 1 M orders) than it saved.
            connection.exec_driver_sql("SET LOCAL jit = off")
            # The groups are few (days times analytics documents), but the planner
            # cannot tell from expressions and guesses hundreds of thousands: it sorted
            # a million rows to disk to group them, where hashing them costs a fraction.
            connection.exec_driver_sql("SET LOCAL enable_sort = off")
        funnel = _attributed(
            connection.execute(_funnel(window, sql.day(carts.c.created_at).label("day"), analytics))
        )
        revenue = _attributed(
            connection.execute(
                _revenue(
                    sql,
                    window,
                    [
                        sql.day(orders.c.created_at).label("day"),
                        orders.c.coupon_code.label("coupon_code"),
                        analytics,
                    ],
                    orders.outerjoin(carts, carts.c.token == orders.c.cart_token),
                    [coupon_discount],
                )
            )
        )
        offerings = connection.execute(_offerings(sql, window)).all()
    coupons = _add_up(
        (row for row in revenue if row["coupon_code"] is not None),
        ("coupon_code", "currency"),
        ("orders", "gross", "discount", "coupon_discount", "tax", "net", "refunded"),
    )
    return DailyReport(
        day=day,
        days=days,
        currency=window.currency,
        conversion=tuple(_every_day(window, days, _add_up(funnel, ("day",), _FUNNEL))),
        revenue=tuple(
            _every_day_revenue(window, days, _add_up(revenue, ("day", "currency"), _MONEY))
        ),
        offerings=_sorted(
            (OfferingRevenue(**row._asdict()) for row in offerings),
            key=lambda row: (row.currency, -row.net, row.offering_id),
        ),
        coupons=_sorted(
            (CouponRevenue(**row) for row in coupons),
            key=lambda row: (row.currency, -row.net, row.coupon_code),
        ),
        source_conversion=_sorted(
            (SourceConversion(**row) for row in _add_up(funnel, ("source", "campaign"), _FUNNEL)),
            key=lambda row: (-row.carts, _text_key(row.source), _text_key(row.campaign)),
        ),
        sources=_sorted(
            (
                SourceRevenue(**row)
                for row in _add_up(revenue, ("source", "campaign", "currency"), _MONEY)
            ),
            key=lambda row: (
                row.currency,
                -row.net,
                _text_key(row.source),
                _text_key(row.campaign),
            ),
        ),
    )


_FUNNEL: Final = ("carts", "ordered", "paid")
_MONEY: Final = ("orders", "gross", "discount", "tax", "net", "refunded")


def _attributed(rows: Iterable[Row[Any]]) -> list[dict[str, Any]]:
    """The grouped ``rows`` with their analytics document read into a source and a campaign."""
    attributed = []
    for row in rows:
        values = dict(row._mapping)  # noqa: SLF001 - the public mapping view of a SQLAlchemy row
        # Stored as [["source", "google"], ...], each key once (the cart checks it).
        found = dict(values.pop("analytics") or ())
        values["source"] = found.get(ANALYTICS_SOURCE)
        values["campaign"] = found.get(ANALYTICS_CAMPAIGN)
        attributed.append(values)
    return attributed


def _add_up(
    rows: Iterable[Mapping[str, Any]], keys: tuple[str, ...], figures: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The grouped ``rows`` added up by ``keys``: a coarser breakdown of the same figures."""
    sums: dict[tuple[Any, ...], dict[str, Any]] = {}
    for values in rows:
        key = tuple(values[name] for name in keys)
        found = sums.get(key)
        if found is None:
            sums[key] = {**dict(zip(keys, key, strict=True)), **{f: values[f] for f in figures}}
        else:
            for figure in figures:
                found[figure] += values[figure]
    return list(sums.values())


def _sorted(rows: Iterable[T], key: Callable[[T], Any]) -> tuple[T, ...]:
    return tuple(sorted(rows, key=key))


def _days(window: _Window, days: int) -> list[date]:
    first = window.start.date()
    return [first + timedelta(days=offset) for offset in range(days)]


def _every_day(window: _Window, days: int, rows: list[dict[str, Any]]) -> list[DayConversion]:
    counted = {_as_date(row["day"]): row for row in rows}
    every = []
    for day in _days(window, days):
        row = counted.get(day)
        every.append(
            DayConversion(day, 0, 0, 0)
            if row is None
            else DayConversion(day, row["carts"], row["ordered"], row["paid"])
        )
    return every


def _every_day_revenue(window: _Window, days: int, rows: list[dict[str, Any]]) -> list[DayRevenue]:
    found = {(_as_date(row["day"]), row["currency"]): row for row in rows}
    currencies = sorted({currency for _, currency in found})
    if window.currency is not None:
        currencies = [window.currency]
    every = []
    for day in _days(window, days):
        for currency in currencies:
            row = found.get((day, currency))
            if row is None:
                every.append(DayRevenue(day, currency, 0, 0, 0, 0, 0, 0))
            else:
                every.append(DayRevenue(**{**row, "day": day}))
    return every
