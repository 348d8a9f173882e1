from __future__ import annotations

import json
import re

from click.testing import CliRunner

from checkout_adapters.cli import main


def _blocks(output: str) -> dict[str, dict[str, object]]:
    parts = re.split(r"^== (.*)$", output, flags=re.MULTILINE)
    return {
        title: json.loads(body)
        for title, body in zip(parts[1::2], parts[2::2], strict=True)
        if body.strip().startswith("{")
    }


def test_the_demo_prints_the_seeds_estimate_and_coupon_figures() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    blocks = _blocks(result.output.split("\nPayment required")[0])
    estimate = blocks["POST /api/v1/cart/estimate"]["data"]
    assert isinstance(estimate, dict)
    assert (estimate["sub_total"], estimate["tax_total"], estimate["total"]) == (
        1_677_600,
        302_000,
        1_979_600,
    )
    assert (estimate["discount_amount"], estimate["discount_percentage"]) == (2_640_000, 61)
    coupon = blocks["POST /api/v1/cart/{token}/coupon  {'coupon': 'SAVE20'}"]["data"]
    assert coupon == {
        "coupon_applied": True,
        "coupon_code": "SAVE20",
        "currency_code": "INR",
        "discount_amount": 395_900,
        "new_total": 1_583_700,
    }
    refused = blocks["POST /api/v1/cart/{token}/coupon  {'coupon': 'NOPE10'}"]
    assert refused["error"] == {
        "code": 2004,
        "message": "Coupon is invalid.",
        "validation_messages": ["Coupon is invalid."],
    }
    assert "Payment required: paid cart True, free cart False" in result.output


def test_the_command_reports_its_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert "version" in result.output
