"""Servers, workers and schedulers started all at once on an empty database, as replicas are."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from attrs import frozen
from sqlalchemy import Engine, text

from checkout_adapters.demo import demo_catalog
from checkout_adapters.sqlalchemy import make_engine
from checkout_adapters.sqlalchemy.migrations.migrate import alembic_config
from tests.integration.sql_support import postgres_server_url, scratch_database
from tests.jobs.cli_support import cli_environment
from tests.redis_adapter.redis_server import RedisServer, free_port

REPO = Path(__file__).resolve().parents[2]
SERVERS = 4
WORKERS = 2
SCHEDULERS = 2
STARTUP_SECONDS = 60.0
STOP_SECONDS = 30.0
SEEDED_LINE = "seeded the demo's catalog"


@frozen
class Launched:
    """A ``checkout`` command started in a process of its own, its output in two files."""

    name: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    port: int | None = None

    def output(self) -> tuple[str, str]:
        return self.stdout.read_text(), self.stderr.read_text()

    def exited(self) -> str | None:
        """Why the process is gone, if it is."""
        if self.process.poll() is None:
            return None
        out, err = self.output()
        return f"{self.name} exited with {self.process.returncode}:\n{out}\n{err}"


def _environment(database_url: str, redis_url: str) -> dict[str, str]:
    inherited = {
        name: value for name, value in os.environ.items() if not name.startswith("CHECKOUT_")
    }
    # The example app ships with the sources: it is imported from the repository's root.
    path = os.pathsep.join(filter(None, [str(REPO), inherited.get("PYTHONPATH")]))
    return {
        **inherited,
        **cli_environment(database_url, CHECKOUT_REDIS_URL=redis_url),
        "PYTHONPATH": path,
        "PYTHONUNBUFFERED": "1",
    }


@contextmanager
def launched(
    directory: Path, environment: Mapping[str, str], name: str, *arguments: str
) -> Iterator[Launched]:
    stdout, stderr = directory / f"{name}.out", directory / f"{name}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "checkout_adapters.cli", *arguments],
            cwd=REPO,
            env=dict(environment),
            stdout=out,
            stderr=err,
        )
    port = int(arguments[arguments.index("--port") + 1]) if "--port" in arguments else None
    try:
        yield Launched(name, process, stdout, stderr, port)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(STOP_SECONDS)


def _ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


def _ready(server: Launched) -> bool:
    try:
        answer = httpx.get(f"http://127.0.0.1:{server.port}/readyz", timeout=2.0)
    except httpx.TransportError:
        return False
    return answer.status_code == 200


def _started(command: Launched, start_line: str) -> bool:
    return any(line.startswith(start_line) for line in command.output()[0].splitlines())


def _wait_until_all_are_up(
    servers: list[Launched], workers: list[Launched], schedulers: list[Launched]
) -> None:
    waiting: dict[str, tuple[Launched, Callable[[], bool]]] = {
        **{server.name: (server, partial(_ready, server)) for server in servers},
        **{worker.name: (worker, partial(_started, worker, "worker ")) for worker in workers},
        **{
            scheduler.name: (scheduler, partial(_started, scheduler, "scheduler running: "))
            for scheduler in schedulers
        },
    }
    deadline = time.monotonic() + STARTUP_SECONDS
    while waiting and time.monotonic() < deadline:
        for name, (command, up) in list(waiting.items()):
            if (gone := command.exited()) is not None:
                pytest.fail(gone)
            if up():
                del waiting[name]
        time.sleep(0.1)
    if waiting:
        pytest.fail(f"not up within {STARTUP_SECONDS} s: {sorted(waiting)}")


def _column(engine: Engine, sql: str) -> list[object]:
    with engine.connect() as connection:
        return list(connection.scalars(text(sql)))


def test_servers_workers_and_schedulers_started_at_once_on_an_empty_database_all_come_up(
    tmp_path: Path,
) -> None:
    redis = RedisServer(tmp_path)
    ports = _ports(SERVERS)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    demo = demo_catalog()
    with scratch_database(postgres_server_url()) as url, ExitStack() as stack:
        stack.callback(redis.close)
        redis.start()
        environment = _environment(url.render_as_string(hide_password=False), redis.url)
        servers = [
            stack.enter_context(
                launched(tmp_path, environment, f"serve-{port}", "serve", "--port", str(port))
            )
            for port in ports
        ]
        workers = [
            stack.enter_context(launched(tmp_path, environment, f"worker-{number}", "worker"))
            for number in range(WORKERS)
        ]
        schedulers = [
            stack.enter_context(
                launched(
                    tmp_path,
                    environment,
                    f"scheduler-{number}",
                    "scheduler",
                    "--now",
                    "--only",
                    "carts.cleanup",
                )
            )
            for number in range(SCHEDULERS)
        ]
        everyone = [*servers, *workers, *schedulers]

        _wait_until_all_are_up(servers, workers, schedulers)
        readiness = [
            httpx.get(f"http://127.0.0.1:{server.port}/readyz", timeout=5.0).json()
            for server in servers
        ]
        gone = [why for command in everyone if (why := command.exited()) is not None]
        engine = make_engine(url)
        try:
            versions = _column(engine, "SELECT version_num FROM alembic_version")
            offerings = _column(engine, "SELECT id FROM offerings ORDER BY id")
            sales = _column(engine, "SELECT slug FROM sales ORDER BY slug")
            coupons = _column(engine, "SELECT code FROM coupons ORDER BY code")
            uses = _column(engine, "SELECT used FROM coupons")
        finally:
            engine.dispose()
        for command in everyone:
            command.process.send_signal(signal.SIGTERM)
        for command in everyone:
            command.process.wait(STOP_SECONDS)
        outputs = {command.name: command.output() for command in everyone}

    assert gone == []
    assert [answer["data"]["checks"] for answer in readiness] == [
        {"database": True, "worker": True}
    ] * SERVERS
    assert versions == [head]
    assert offerings == sorted(demo.offerings)
    assert sales == sorted(demo.sales)
    assert coupons == sorted(demo.coupons)
    assert uses == [0] * len(demo.coupons)
    seeders = [name for name in outputs if SEEDED_LINE in "".join(outputs[name])]
    assert len(seeders) == 1, outputs
    assert [name for name, (_, err) in outputs.items() if "Traceback" in err] == [], outputs
    assert [command.process.returncode for command in [*workers, *schedulers]] == [0] * (
        WORKERS + SCHEDULERS
    ), outputs
    # uvicorn finishes the lifespan, then lets the signal end the process as it would have.
    assert {server.process.returncode for server in servers} <= {0, -signal.SIGTERM}, outputs
    assert all("Application shutdown complete." in outputs[s.name][1] for s in servers), outputs
    for worker in workers:
        lines = outputs[worker.name][0].splitlines()
        assert lines[0].endswith(" of enrollment on Redis Streams"), lines
        assert lines[-1].startswith("worker stopped after "), lines
    assert all(
        outputs[s.name][0].splitlines()[-1].startswith("scheduler stopped") for s in schedulers
    )
