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


def test_jobs_list_names_every_job_with_its_interval() -> None:
    result = CliRunner().invoke(main, ["jobs", "list"])
    assert result.exit_code == 0
    intervals = {
        line.split()[0]: " ".join(line.split()[2:4]) for line in result.output.splitlines()
    }
    assert intervals == {
        "carts.cleanup": "15 min",
        "payments.reconcile": "30 min",
        "orders.sync": "1 h",
        "orders.redeliver": "5 min",
        "reports.daily": "1 d",
    }


def test_an_unknown_job_is_refused_with_the_names_of_the_known_ones() -> None:
    result = CliRunner().invoke(main, ["jobs", "run", "carts.clean"])
    assert result.exit_code == 2
    assert "there is no job 'carts.clean'; the jobs are: carts.cleanup, payments.reconcile" in (
        result.output
    )


def test_the_scheduler_refuses_an_interval_that_is_not_a_positive_number() -> None:
    result = CliRunner().invoke(main, ["scheduler", "--every", "carts.cleanup=soon"])
    assert result.exit_code == 2
    assert "'carts.cleanup=soon' is not NAME=SECONDS" in result.output
    unknown = CliRunner().invoke(main, ["scheduler", "--only", "nightly"])
    assert "there is no job 'nightly'" in unknown.output


def test_dlq_replay_wants_ids_or_all_and_not_both() -> None:
    for arguments in ([], ["1", "--all"]):
        result = CliRunner().invoke(main, ["dlq", "replay", *arguments])
        assert result.exit_code == 2
        assert "name the dead letters to replay" in result.output
