"""``checkout serve`` as a process: it answers on its port and stops cleanly on a signal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30.0
STOP_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    inherited = {
        name: value for name, value in os.environ.items() if not name.startswith("CHECKOUT_")
    }
    return {
        **inherited,
        "CHECKOUT_DATABASE_URL": f"sqlite:///{tmp_path / 'checkout.db'}",
        "PYTHONUNBUFFERED": "1",
        **variables,
    }


@contextmanager
def serving(tmp_path: Path, port: int, *options: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "checkout_adapters.cli", "serve", "--port", str(port), *options],
        cwd=REPO,
        env=_environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(STOP_SECONDS)
        assert process.stdout is not None
        process.stdout.close()


def wait_until_healthy(process: subprocess.Popen[str], base: str) -> httpx.Response:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            assert process.stdout is not None
            pytest.fail(
                f"checkout serve exited with {process.returncode}:\n{process.stdout.read()}"
            )
        try:
            return httpx.get(f"{base}/healthz", timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"checkout serve did not answer on {base} within {STARTUP_SECONDS} s")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_answers_and_a_signal_stops_it_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(tmp_path, port) as process:
        health = wait_until_healthy(process, base)
        assert health.status_code == 200
        assert health.json()["success"] is True
        ready = httpx.get(f"{base}/readyz", timeout=5.0).json()
        assert ready["data"]["checks"] == {"database": True, "worker": True}
        offerings = httpx.get(f"{base}/api/v1/internships", timeout=5.0).json()
        ids = [offering["internship_id"] for offering in offerings["data"]["internships"]]
        assert ids == ["int_123", "int_456"]
        assert httpx.get(f"{base}/checkout", timeout=5.0).status_code == 200
        exposition = httpx.get(f"{base}/metrics", timeout=5.0).text
        assert 'checkout_http_request_duration_seconds_count{method="GET"' in exposition
        assert "checkout_db_pool_size" in exposition

        process.send_signal(stop)
        process.wait(STOP_SECONDS)
        assert process.stdout is not None
        output = process.stdout.read()
    # uvicorn finishes the lifespan (the worker and the sandbox stop), then lets
    # the signal end the process as it would have: killed by SIGTERM, or exit 0.
    assert process.returncode in {0, -stop}, output
    assert "Application shutdown complete." in output
    assert "Traceback" not in output
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/healthz", timeout=1.0)


def test_json_logs_are_one_object_a_line_with_correlation_ids(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(tmp_path, port, "--log-format", "json") as process:
        wait_until_healthy(process, base)
        asked = httpx.get(
            f"{base}/healthz", headers={"X-Correlation-ID": "e2e-corr-1"}, timeout=5.0
        )
        assert asked.status_code == 200
        process.send_signal(signal.SIGTERM)
        process.wait(STOP_SECONDS)
        assert process.stdout is not None
        lines = [json.loads(line) for line in process.stdout.read().splitlines() if line.strip()]
    events = [line["event"] for line in lines]
    assert any(event.startswith("DEMO sign-in") for event in events)
    assert "Application shutdown complete." in events
    assert any(line.get("correlation_id") == "e2e-corr-1" for line in lines)


def test_a_configuration_error_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    finished = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "checkout_adapters.cli", "serve", "--port", str(free_port())],
        cwd=REPO,
        env=_environment(tmp_path, CHECKOUT_GATEWAY="paypal"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 1
    assert "configuration: CHECKOUT_GATEWAY is 'paypal'" in finished.stderr
    assert "Traceback" not in finished.stderr


def test_serve_outside_the_repository_says_where_the_example_app_is(tmp_path: Path) -> None:
    environment = _environment(tmp_path)
    environment.pop("PYTHONPATH", None)
    finished = subprocess.run(
        [sys.executable, "-c", "from checkout_adapters.cli import main; main()", "serve"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 1
    assert "examples.fastapi_app cannot be imported" in finished.stderr
    assert "Traceback" not in finished.stderr
