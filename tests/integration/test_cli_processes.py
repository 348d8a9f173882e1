"""``checkout scheduler`` and ``checkout worker`` as processes, stopped by signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.integration.sql_support import postgres_server_url, scratch_database, sqlite_url
from tests.integration.test_serve_command import free_port
from tests.jobs.cli_support import cli_environment, place_free_order, server_for

REPO = Path(__file__).resolve().parents[2]
STOP_SECONDS = 30.0
EVERY = 2


@contextmanager
def command(environment: Mapping[str, str], *arguments: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "checkout_adapters.cli", *arguments],
        cwd=REPO,
        env={**_inherited(), **environment, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(STOP_SECONDS)
        for stream in (process.stdout, process.stderr):
            assert stream is not None
            stream.close()


def _inherited() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if not name.startswith("CHECKOUT_")}


def stop(process: subprocess.Popen[str], signum: signal.Signals) -> tuple[str, str]:
    process.send_signal(signum)
    out, err = process.communicate(timeout=STOP_SECONDS)
    return out, err


def test_two_schedulers_on_one_postgresql_run_each_due_time_once() -> None:
    options = ["--now", "--only", "carts.cleanup", "--every", f"carts.cleanup={EVERY}"]
    port = free_port()
    with scratch_database(postgres_server_url()) as url, ExitStack() as stack:
        environment = cli_environment(url.render_as_string(hide_password=False))
        first = stack.enter_context(
            command(environment, "scheduler", *options, "--metrics-port", str(port))
        )
        time.sleep(1.5)
        second = stack.enter_context(command(environment, "scheduler", *options))
        time.sleep(4 * EVERY + 1)
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        outputs = [stop(first, signal.SIGTERM), stop(second, signal.SIGINT)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    runs = [line for out, _ in outputs for line in out.splitlines() if "carts.cleanup: " in line]
    ok = [datetime.fromisoformat(line.split()[0]) for line in runs if ": ok in " in line]
    skipped = [line for line in runs if ": skipped, another instance holds its lock" in line]
    # One run per due time: the slots of the runs that ran are all different.
    slots = Counter(int(moment.timestamp()) // EVERY for moment in ok)
    assert len(ok) >= 4, outputs
    assert max(slots.values()) == 1, outputs
    assert len(skipped) >= 3, outputs
    for out, err in outputs:
        assert "scheduler running: carts.cleanup every 2 s" in out
        assert out.splitlines()[-1].startswith("scheduler stopped after ")
        assert "Traceback" not in err
    assert 'checkout_job_runs_total{job="carts.cleanup",outcome="ok"}' in scraped
    assert "checkout_job_last_success_timestamp_seconds" in scraped


def test_the_worker_delivers_the_outbox_and_stops_on_sigterm(tmp_path: Path) -> None:
    environment = cli_environment(sqlite_url(tmp_path / "checkout.db"))
    with server_for(environment) as server:
        order = place_free_order(server)
    with command(environment, "worker") as worker:
        deadline = time.monotonic() + STOP_SECONDS
        with server_for(environment) as server:
            while time.monotonic() < deadline:
                with server.engine.connect() as connection:
                    pending = connection.execute(
                        text("SELECT count(*) FROM outbox_deliveries WHERE status != 'done'")
                    ).scalar_one()
                    done = connection.execute(
                        text("SELECT count(*) FROM outbox_deliveries WHERE status = 'done'")
                    ).scalar_one()
                if done and not pending:
                    break
                if worker.poll() is not None:
                    pytest.fail(f"the worker exited: {worker.communicate()}")
                time.sleep(0.2)
        out, err = stop(worker, signal.SIGTERM)
    assert worker.returncode == 0, (out, err)
    assert out.splitlines()[0].startswith("worker worker-")
    assert "of enrollment on the outbox table" in out.splitlines()[0]
    assert out.splitlines()[-1].startswith("worker stopped after ")
    assert f"notification welcome to user user_42 about order {order}" in err
    assert "stopped by SIGTERM" in err
    assert "Traceback" not in err
