"""A daily report as files: one JSON document, or one CSV file per breakdown.

Amounts stay integers of their currency's minor unit, beside a ``currency``
column; a day is ISO 8601 (``2024-06-15``); an absent source or campaign is
``null`` in JSON and an empty cell in CSV.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any, Final

import attrs
from cattrs import Converter

from checkout_adapters.reports.model import (
    CouponRevenue,
    DailyReport,
    DayConversion,
    DayRevenue,
    OfferingRevenue,
    SourceConversion,
    SourceRevenue,
)

__all__ = ["CSV_FILES", "read_json", "write_csv", "write_json"]

_FORMAT: Final = "checkout.daily_report/1"

_converter: Final = Converter()
_converter.register_unstructure_hook(date, date.isoformat)
_converter.register_structure_hook(date, lambda value, _: date.fromisoformat(value))

_RATES: Final[dict[type[Any], tuple[str, ...]]] = {
    DayConversion: ("order_rate", "payment_rate", "conversion_rate"),
    SourceConversion: ("order_rate", "conversion_rate"),
}
"""The rates each funnel row derives from its counts, written beside them."""

_BREAKDOWNS: Final[dict[str, tuple[str, type[Any]]]] = {
    "conversion": ("conversion_by_day.csv", DayConversion),
    "revenue": ("revenue_by_day.csv", DayRevenue),
    "offerings": ("revenue_by_offering.csv", OfferingRevenue),
    "coupons": ("revenue_by_coupon.csv", CouponRevenue),
    "source_conversion": ("conversion_by_source.csv", SourceConversion),
    "sources": ("revenue_by_source.csv", SourceRevenue),
}
"""Each breakdown of :class:`DailyReport`: its CSV file and the type of its rows."""

CSV_FILES: Final[dict[str, str]] = {name: file for name, (file, _) in _BREAKDOWNS.items()}
"""The file :func:`write_csv` writes for each breakdown of :class:`DailyReport`."""


def _row(value: Any) -> dict[str, Any]:  # noqa: ANN401 - any row of a breakdown
    row: dict[str, Any] = _converter.unstructure(value)
    for name in _RATES.get(type(value), ()):
        row[name] = getattr(value, name)
    return row


def write_json(report: DailyReport, path: Path) -> Path:
    """Write ``report`` to ``path`` as JSON (its rates included) and return ``path``."""
    document: dict[str, Any] = {
        "format": _FORMAT,
        "day": report.day.isoformat(),
        "days": report.days,
        "first_day": report.first_day.isoformat(),
        "currency": report.currency,
        "totals": [_row(report.totals(currency)) for currency in report.currencies],
    }
    for name in CSV_FILES:
        document[name] = [_row(row) for row in getattr(report, name)]
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def read_json(path: Path) -> DailyReport:
    """The report :func:`write_json` wrote to ``path``; the derived figures are recomputed."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("format") != _FORMAT:
        raise ValueError(f"{path} is not a daily report of format {_FORMAT}")
    fields = {field.name for field in attrs.fields(DailyReport)}
    return _converter.structure({k: v for k, v in document.items() if k in fields}, DailyReport)


def write_csv(report: DailyReport, directory: Path) -> list[Path]:
    """Write each breakdown of ``report`` to a CSV file of ``directory``; return the files.

    Each file has a header row, and the files are named by :data:`CSV_FILES`.
    A breakdown with no rows is a file with its header alone.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (filename, row_type) in _BREAKDOWNS.items():
        header = [field.name for field in attrs.fields(row_type)] + list(_RATES.get(row_type, ()))
        path = directory / filename
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            for row in getattr(report, name):
                writer.writerow(
                    {key: "" if value is None else value for key, value in _row(row).items()}
                )
        written.append(path)
    return written
