"""A daily report as files: JSON that reads back the same, CSV per breakdown, a PNG chart."""

from __future__ import annotations

import csv
import json
import struct
import sys
from pathlib import Path

import matplotlib.image
import pytest
from sqlalchemy import Engine

from checkout_adapters.reports import (
    CSV_FILES,
    DailyReport,
    daily_report,
    read_json,
    render_chart,
    write_csv,
    write_json,
)
from tests.reports.history import REPORT_DAY, REPORT_DAYS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def report(engine: Engine) -> DailyReport:
    return daily_report(engine, REPORT_DAY, days=REPORT_DAYS)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_the_json_reads_back_as_the_same_report(report: DailyReport, tmp_path: Path) -> None:
    path = write_json(report, tmp_path / "report.json")

    assert read_json(path) == report
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["first_day"] == "2024-06-10"
    assert document["conversion"][0] == {
        "day": "2024-06-10",
        "carts": 3,
        "ordered": 2,
        "paid": 2,
        "order_rate": 0.6667,
        "payment_rate": 1.0,
        "conversion_rate": 0.6667,
    }
    assert [(row["currency"], row["orders"], row["net"]) for row in document["totals"]] == [
        ("INR", 3, 2_942_259),
        ("USD", 2, 43_111),
    ]


def test_a_file_that_is_no_report_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"day": "2024-06-14"}', encoding="utf-8")

    with pytest.raises(ValueError, match="not a daily report"):
        read_json(path)


def test_each_breakdown_is_a_csv_file_with_a_header(report: DailyReport, tmp_path: Path) -> None:
    written = write_csv(report, tmp_path / "csv")

    assert [path.name for path in written] == list(CSV_FILES.values())
    coupons = _rows(tmp_path / "csv" / "revenue_by_coupon.csv")
    assert coupons == [
        {
            "coupon_code": "SAVE20",
            "currency": "INR",
            "orders": "2",
            "gross": "5756800",
            "discount": "3263360",
            "coupon_discount": "623360",
            "tax": "448819",
            "net": "2942259",
            "refunded": "0",
        },
        {
            "coupon_code": "FLAT5",
            "currency": "USD",
            "orders": "1",
            "gross": "24690",
            "discount": "500",
            "coupon_discount": "500",
            "tax": "4354",
            "net": "28544",
            "refunded": "0",
        },
    ]
    days = _rows(tmp_path / "csv" / "conversion_by_day.csv")
    assert [row["day"] for row in days] == [f"2024-06-{day}" for day in range(10, 15)]
    assert days[1] == {
        "day": "2024-06-11",
        "carts": "0",
        "ordered": "0",
        "paid": "0",
        "order_rate": "",
        "payment_rate": "",
        "conversion_rate": "",
    }
    sources = _rows(tmp_path / "csv" / "revenue_by_source.csv")
    assert sources[-1]["source"] == "twitter"
    assert sources[-1]["campaign"] == ""
    revenue = _rows(tmp_path / "csv" / "revenue_by_day.csv")
    assert len(revenue) == 10
    assert all(row["currency"] in {"INR", "USD"} for row in revenue)


def test_an_empty_breakdown_is_a_header_alone(engine: Engine, tmp_path: Path) -> None:
    empty = daily_report(engine, REPORT_DAY.replace(year=2023), days=2)

    write_csv(empty, tmp_path)

    assert (tmp_path / "revenue_by_offering.csv").read_text(encoding="utf-8") == (
        "offering_id,currency,lines,gross,sale_discount,coupon_discount,tax,net\n"
    )


def test_the_chart_is_a_png_of_1200_by_600_pixels(report: DailyReport, tmp_path: Path) -> None:
    path = render_chart(report, tmp_path / "chart.png")

    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (1200, 600)
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (600, 1200)
    # Something was drawn: not one flat colour.
    assert pixels.min() < pixels.max()


def test_the_chart_without_matplotlib_names_the_extra(
    report: DailyReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)

    with pytest.raises(RuntimeError, match=r"checkout\[reports\]"):
        render_chart(report, tmp_path / "chart.png")
    assert not (tmp_path / "chart.png").exists()
