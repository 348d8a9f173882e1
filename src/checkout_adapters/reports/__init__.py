"""The daily report (the seed's "Analytics (Daily)" job): conversion and revenue.

:func:`daily_report` asks the database (PostgreSQL or SQLite) for the
figures of a period of UTC days; :func:`write_json`, :func:`write_csv` and
:func:`render_chart` keep them as files. The chart needs the extra
``checkout[reports]`` (matplotlib).
"""

from __future__ import annotations

from checkout_adapters.reports.chart import render_chart
from checkout_adapters.reports.daily import ANALYTICS_CAMPAIGN, ANALYTICS_SOURCE, daily_report
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
from checkout_adapters.reports.writers import CSV_FILES, read_json, write_csv, write_json

__all__ = [
    "ANALYTICS_CAMPAIGN",
    "ANALYTICS_SOURCE",
    "CHARGED_STATUSES",
    "CSV_FILES",
    "CouponRevenue",
    "DailyReport",
    "DayConversion",
    "DayRevenue",
    "OfferingRevenue",
    "SourceConversion",
    "SourceRevenue",
    "daily_report",
    "read_json",
    "render_chart",
    "write_csv",
    "write_json",
]
