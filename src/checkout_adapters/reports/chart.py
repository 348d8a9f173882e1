"""A picture of a daily report: orders and net revenue per day, as a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from checkout_adapters.reports.model import DailyReport
from checkout_core.domain.money import Currency

__all__ = ["CHART_DAYS", "CHART_DPI", "CHART_SIZE", "render_chart"]

CHART_DAYS: Final = 30
"""How many of the report's last days the chart shows."""
CHART_SIZE: Final = (12.0, 6.0)
"""The chart's size in inches; at :data:`CHART_DPI` it is 1200 x 600 pixels."""
CHART_DPI: Final = 100


def render_chart(report: DailyReport, path: Path) -> Path:
    """Draw the last 30 days of ``report`` to the PNG file ``path`` and return ``path``.

    Bars count the charged orders of each day (every currency); a line per
    currency shows the day's net revenue in major units, on its own axis
    (amounts of two currencies are never added up). Needs matplotlib: the
    extra ``checkout[reports]``.

    Raises:
        RuntimeError: matplotlib is not installed.
    """
    try:
        # Imported here: matplotlib is an optional extra, and Agg draws
        # without a display (a cron job has none).
        import matplotlib as mpl  # noqa: PLC0415

        mpl.use("Agg")
        from matplotlib.figure import Figure  # noqa: PLC0415
        from matplotlib.ticker import MaxNLocator  # noqa: PLC0415
    except ImportError as error:
        raise RuntimeError(
            "the daily report's chart needs matplotlib: install the extra checkout[reports]"
        ) from error
    days = [row.day for row in report.conversion[-CHART_DAYS:]]
    shown = set(days)
    orders = dict.fromkeys(days, 0)
    for row in report.revenue:
        if row.day in shown:
            orders[row.day] += row.orders
    figure = Figure(figsize=CHART_SIZE, dpi=CHART_DPI, layout="constrained")
    axes = figure.add_subplot()
    x = list(range(len(days)))
    axes.bar(x, [orders[day] for day in days], color="#9ecae1", label="charged orders")
    axes.set_ylabel("orders")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(f"Orders and net revenue, {days[0]} to {days[-1]} (UTC)")
    money = axes.twinx()
    for currency in report.currencies:
        per_major = Currency.of(currency).minor_per_major
        net = {row.day: row.net / per_major for row in report.revenue if row.currency == currency}
        money.plot(x, [net.get(day, 0) for day in days], marker="o", label=f"net {currency}")
    money.set_ylabel("net revenue (major units)")
    money.set_ylim(bottom=0)
    handles, labels = axes.get_legend_handles_labels()
    more_handles, more_labels = money.get_legend_handles_labels()
    axes.legend(handles + more_handles, labels + more_labels, loc="upper left")
    axes.set_xticks(x, labels=[day.strftime("%d %b") for day in days], rotation=60)
    figure.savefig(path, format="png")
    return path
