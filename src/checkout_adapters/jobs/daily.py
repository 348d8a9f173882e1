"""The daily report's files for one day: JSON, CSV and (with matplotlib) a chart.

Every file of a day goes to a directory of its own, named for the day
(``reports/2024-06-14/``): ``report.json``, one CSV file per breakdown and
``chart.png``. Writing a day again replaces its files, so a run repeated
after a failure leaves one consistent set.
"""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from checkout_adapters.reports import daily_report, render_chart, write_csv, write_json

__all__ = ["can_draw_charts", "write_daily_report"]


def can_draw_charts() -> bool:
    """Whether matplotlib (the extra ``checkout[reports]``) is installed."""
    return importlib.util.find_spec("matplotlib") is not None


def write_daily_report(engine: Engine, day: date, directory: Path, *, chart: bool) -> list[Path]:
    """Write the report of the 30 days ending with ``day`` under ``directory``; return the files.

    Raises:
        RuntimeError: ``chart`` is asked for and matplotlib is not installed.
    """
    report = daily_report(engine, day)
    folder = directory / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    written = [write_json(report, folder / "report.json"), *write_csv(report, folder)]
    if chart:
        written.append(render_chart(report, folder / "chart.png"))
    return written
