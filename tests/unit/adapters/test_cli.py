from __future__ import annotations

import json
import re
from typing import Any

from click.testing import CliRunner

from checkout_adapters.cli import main


def _steps(output: str) -> list[tuple[str, Any]]:
    """Each step's title and the JSON printed under it, for the steps that print JSON."""
    parts = re.split(r"^== (.*)$", output, flags=re.MULTILINE)
    decoder = json.JSONDecoder()
    return [
        (title, decoder.raw_decode(body.strip())[0])
        for title, body in zip(parts[1::2], parts[2::2], strict=True)
        if body.strip().startswith("{")
    ]


def test_the_demo_walks_the_seeds_flow_with_its_figures() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    output = result.output
    steps = _steps(output)
    estimate = next(body for title, body in steps if title == "POST /api/v1/cart/estimate")["data"]
    assert (estimate["sub_total"], estimate["tax_total"], estimate["total"]) == (
        1_677_600,
        302_000,
        1_979_600,
    )
    assert (estimate["discount_amount"], estimate["discount_percentage"]) == (2_640_000, 61)
    refused, applied = [body for title, body in steps if "/coupon" in title]
    assert refused["error"] == {
        "code": 2004,
        "message": "Coupon is invalid.",
        "validation_messages": ["Coupon is invalid."],
    }
    assert (applied["data"]["discount_amount"], applied["data"]["new_total"]) == (
        395_900,
        1_583_700,
    )
    orders = [body["data"]["order"] for title, body in steps if "/api/v1/order" in title]
    paid, replayed, free = orders
    assert (paid["status"], paid["total"], paid["tax_amount"]) == (
        "awaiting_payment",
        1_583_700,
        241_620,
    )
    assert paid["checkout_url"].endswith(f"/pay/razorpay/{paid['provider_order_id']}")
    assert replayed == paid
    assert (free["status"], free["total"]) == ("completed", 0)
    assert free["enrollment_id"].startswith("enr_")
    assert "(payment.captured, signature verified)" in output
    assert "outbox: ['order.paid']" in output
    assert f"order {paid['order_token']}: completed; enrollments ['enr_" in output
    assert f"email 'confirmation' to user_42 about order {paid['order_token']}" in output
    assert f"email 'welcome' to user_42 about order {free['order_token']}" in output
    assert "This cart belongs to another user." in output


def test_the_command_reports_its_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert "version" in result.output
