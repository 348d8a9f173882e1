"""The operations commands end to end, in-process, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, update

from checkout_adapters.reports import CSV_FILES
from checkout_adapters.sqlalchemy import make_engine
from checkout_adapters.sqlalchemy.tables import orders
from tests.integration.fulfilment_support import pay_orders
from tests.integration.sql_support import postgres_server_url, scratch_database, sqlite_url
from tests.jobs.cli_support import (
    cli_environment,
    dead_letter_everything,
    invoke,
    place_free_order,
    redis_database,
    server_for,
    stale_carts,
)

YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).date()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, not migrated: a SQLite file, or a scratch PostgreSQL database."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "checkout.db")
        return
    with scratch_database(postgres_server_url()) as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture
def environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_environment(database_url, CHECKOUT_REPORTS_DIR=str(tmp_path / "reports"))


def test_db_upgrade_migrates_the_database_to_the_newest_schema(
    environment: dict[str, str], database_url: str
) -> None:
    result = invoke(environment, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert result.output.endswith(": at the newest schema\n")
    engine = make_engine(database_url)
    try:
        assert {"carts", "orders", "outbox", "alembic_version"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
    assert invoke(environment, "db", "upgrade").exit_code == 0


def test_jobs_run_cleans_up_the_carts_printing_plain_progress_lines(
    environment: dict[str, str],
) -> None:
    stale_carts(environment, 3)
    result = invoke(environment, "jobs", "run", "carts.cleanup")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "carts.cleanup: 3 items" in lines
    assert lines[-1].startswith("carts.cleanup: ok in ")
    assert (
        "3 items (expired=3, deleted=0, abandoned_last_day=0, abandoned_last_week=3)" in lines[-1]
    )
    again = invoke(environment, "jobs", "run", "carts.cleanup")
    assert "0 items (expired=0, deleted=0" in again.output


@pytest.mark.parametrize("name", ["payments.reconcile", "orders.sync"])
def test_the_payment_and_order_jobs_run_by_hand(environment: dict[str, str], name: str) -> None:
    result = invoke(environment, "jobs", "run", name)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith(f"{name}: ok in ")
    assert "payments_checked=0" in result.output


def test_orders_redeliver_run_by_hand_counts_paid_orders_left_uncompleted_past_the_delay(
    environment: dict[str, str],
) -> None:
    with server_for(environment) as server:
        pay_orders(server.engine, 1)
        with server.engine.begin() as connection:
            connection.execute(
                update(orders).values(updated_at=datetime.now(UTC) - timedelta(minutes=20))
            )

    patient = invoke(
        {**environment, "CHECKOUT_REDELIVERY_DELAY": "3600"}, "jobs", "run", "orders.redeliver"
    )
    result = invoke(environment, "jobs", "run", "orders.redeliver")

    assert patient.exit_code == 0, patient.output
    assert "0 items (stalled=0, unfinished=0, republished=0)" in patient.output.splitlines()[-1]
    assert result.exit_code == 0, result.output
    # The outbox table is the queue here: nothing was relayed, so nothing is published again.
    assert "1 items (stalled=1, unfinished=0, republished=0)" in result.output.splitlines()[-1]


@pytest.mark.parametrize("delay", ["soon", "0", "-60", "604800"])
def test_a_redelivery_delay_out_of_bounds_stops_the_job_in_one_line_naming_it(
    environment: dict[str, str], delay: str
) -> None:
    result = invoke(
        {**environment, "CHECKOUT_REDELIVERY_DELAY": delay}, "jobs", "run", "orders.redeliver"
    )

    assert result.exit_code == 1
    assert result.output == (
        f"Error: configuration: CHECKOUT_REDELIVERY_DELAY is {delay!r}: it takes a number of "
        "seconds above 0 and below 604800 (a week)\n"
    )


def test_the_daily_report_job_writes_yesterdays_files(
    environment: dict[str, str], tmp_path: Path
) -> None:
    with server_for(environment) as server:
        place_free_order(server)
    result = invoke(environment, "jobs", "run", "reports.daily")
    assert result.exit_code == 0, result.output
    day = tmp_path / "reports" / YESTERDAY.isoformat()
    assert {path.name for path in day.iterdir()} == {
        "report.json",
        "chart.png",
        *CSV_FILES.values(),
    }
    report = json.loads((day / "report.json").read_text())
    assert report["day"] == YESTERDAY.isoformat()


def test_a_failed_run_exits_non_zero_saying_why(
    environment: dict[str, str], tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    result = invoke(
        {**environment, "CHECKOUT_REPORTS_DIR": str(blocked)}, "jobs", "run", "reports.daily"
    )
    assert result.exit_code == 1
    assert "reports.daily: failed after" in result.output
    assert "FileExistsError" in result.output or "NotADirectoryError" in result.output


def test_dlq_lists_the_dead_letters_and_replays_those_named(environment: dict[str, str]) -> None:
    with server_for(environment) as server:
        place_free_order(server)
        dead = dead_letter_everything(server)
    assert dead
    listed = invoke(environment, "dlq", "list")
    assert listed.exit_code == 0, listed.output
    assert len(listed.output.splitlines()) == len(dead)
    assert "RuntimeError: the test gave up" in listed.output
    assert listed.output.split()[0] == dead[0]
    assert len(invoke(environment, "dlq", "list", "--limit", "1").output.splitlines()) == 1

    replayed = invoke(environment, "dlq", "replay", dead[0])
    assert (replayed.exit_code, replayed.output) == (0, "1 dead letters replayed\n")
    rest = invoke(environment, "dlq", "replay", "--all")
    assert rest.output == f"{len(dead) - 1} dead letters replayed\n"
    assert invoke(environment, "dlq", "list").output == "no dead letters in enrollment\n"
    with server_for(environment) as server:
        # Delivered again, now handled: the worker's queue is empty afterwards.
        assert server.worker.run_once(wait=timedelta(milliseconds=100)) == len(dead)


def test_dlq_on_redis_streams_when_redis_is_configured(environment: dict[str, str]) -> None:
    with redis_database() as redis_url:
        redis_environment = {**environment, "CHECKOUT_REDIS_URL": redis_url}
        with server_for(redis_environment) as server:
            place_free_order(server)
            dead = dead_letter_everything(server)
        assert dead
        listed = invoke(redis_environment, "dlq", "list")
        assert listed.exit_code == 0, listed.output
        # Dead letters live in a stream of their own, under ids of their own.
        assert len(listed.output.splitlines()) == len(dead)
        assert "RuntimeError: the test gave up" in listed.output
        replayed = invoke(redis_environment, "dlq", "replay", "--all")
        assert replayed.output == f"{len(dead)} dead letters replayed\n"
        # The outbox-table queue of the same database holds none: the Redis stream was read.
        assert invoke(environment, "dlq", "list").output == "no dead letters in enrollment\n"


def test_report_daily_writes_the_day_asked_to_the_directory_asked(
    environment: dict[str, str], tmp_path: Path
) -> None:
    with server_for(environment) as server:
        place_free_order(server)
    out = tmp_path / "elsewhere"
    today = datetime.now(UTC).date().isoformat()
    result = invoke(
        environment, "report", "daily", "--date", today, "--out", str(out), "--no-chart"
    )
    assert result.exit_code == 0, result.output
    written = [Path(line) for line in result.output.splitlines()]
    assert {path.name for path in written} == {"report.json", *CSV_FILES.values()}
    assert all(path.parent == out / today for path in written)
    report = json.loads((out / today / "report.json").read_text())
    assert sum(day["ordered"] for day in report["conversion"]) == 1

    charted = invoke(environment, "report", "daily")
    assert charted.exit_code == 0, charted.output
    assert (tmp_path / "reports" / YESTERDAY.isoformat() / "chart.png").stat().st_size > 0


def test_a_configuration_error_is_one_line_naming_the_variable(
    environment: dict[str, str],
) -> None:
    for command in (["jobs", "run", "carts.cleanup"], ["dlq", "list"], ["db", "upgrade"]):
        result = invoke({**environment, "CHECKOUT_DATABASE_URL": "mysql://db/x"}, *command)
        assert result.exit_code == 1
        assert result.output.startswith("Error: configuration: CHECKOUT_DATABASE_URL names mysql")
        assert len(result.output.splitlines()) == 1
