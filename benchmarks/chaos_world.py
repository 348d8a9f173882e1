"""The chaos suite's world: a database, a redis-server and the checkout's processes, for real.

Everything here runs as its own operating-system process, started the way
an operator starts it (``checkout serve``, ``checkout worker``,
``checkout scheduler``, ``redis-server``), so that a fault is a signal to a
process and a connection ended by PostgreSQL, never a mock. Each process
writes its standard output and error to files, read for the books at the
end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import httpx
from attrs import define
from sqlalchemy import URL, text
from sqlalchemy.pool import NullPool

from checkout_adapters.sqlalchemy import make_engine

__all__ = [
    "REPOSITORY",
    "CheckoutProcess",
    "Fault",
    "RedisProcess",
    "checkout_environment",
    "free_port",
    "terminate_connections",
    "wait_until_busy",
]

REPOSITORY: Final = Path(__file__).resolve().parents[1]
_START_TIMEOUT: Final = 60.0
_STOP_TIMEOUT: Final = 30.0
_POLL: Final = 0.05
_BUSY_POLL: Final = 0.002


def free_port() -> int:
    """A TCP port nobody listens on now (the kernel's pick, closed again at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


_TERMINATE_ALL_WHEN_BUSY: Final = text(
    "WITH busy AS (SELECT count(*) AS n FROM pg_stat_activity WHERE datname = :name "
    "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction') "
    "AND application_name LIKE 'checkout-%') "
    "SELECT count(*) FILTER (WHERE pg_terminate_backend(a.pid)), "
    "count(*) FILTER (WHERE a.state IN ('active', 'idle in transaction')) "
    "FROM pg_stat_activity a, busy WHERE busy.n > 0 AND a.datname = :name "
    "AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'"
)
_BUSY: Final = text(
    "SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid() "
    "AND state IN ('active', 'idle in transaction') AND application_name LIKE :application "
    "AND query ILIKE :doing"
)


def terminate_connections(database: URL, *, within: float) -> tuple[int, int]:
    """End every connection to ``database`` at once, as soon as one is seen mid-transaction.

    Looks every few milliseconds, for ``within`` seconds at most; then ends
    them all whatever they do. Returns how many were ended, and how many of
    those were in the middle of a statement or a transaction.
    """
    admin = make_engine(database, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    deadline = time.monotonic() + within
    parameters = {"name": database.database}
    try:
        with admin.connect() as connection:
            while time.monotonic() < deadline:
                ended, busy = connection.execute(_TERMINATE_ALL_WHEN_BUSY, parameters).one()
                if ended:
                    return int(ended), int(busy)
                time.sleep(_BUSY_POLL)
            ended = connection.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'"
                ),
                parameters,
            ).scalar_one()
    finally:
        admin.dispose()
    return int(ended), 0


def wait_until_busy(database: URL, application: str, *, doing: str, within: float) -> bool:
    """Wait until the process named ``application`` is in the middle of a transaction.

    One whose statement at hand matches ``doing`` (an ``ILIKE`` pattern).
    ``False`` when it was not, within ``within`` seconds.
    """
    admin = make_engine(database, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    deadline = time.monotonic() + within
    parameters = {"name": database.database, "application": application, "doing": doing}
    try:
        with admin.connect() as connection:
            while time.monotonic() < deadline:
                if connection.execute(_BUSY, parameters).first() is not None:
                    return True
                time.sleep(_BUSY_POLL)
    finally:
        admin.dispose()
    return False


@define
class Fault:
    """One fault made to happen: what, when (seconds into the run), and how long until mended."""

    name: str
    at: float
    mended_at: float | None = None
    detail: str = ""

    def as_json(self) -> dict[str, object]:
        """The fault as the report shows it."""
        mended = None if self.mended_at is None else round(self.mended_at - self.at, 3)
        return {"fault": self.name, "at_s": round(self.at, 3), "mended_after_s": mended} | (
            {"detail": self.detail} if self.detail else {}
        )


class RedisProcess:
    """A ``redis-server`` on ``port`` keeping nothing on disk, so a restart comes back empty."""

    def __init__(self, directory: Path, port: int) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            raise SystemExit("redis-server is not installed: the chaos suite runs its own")
        self._command = [
            executable,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(directory),
        ]  # fmt: skip
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where the checkout's processes find it."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it answers ``PING``."""
        self._process = subprocess.Popen(  # noqa: S603 - redis-server, with fixed arguments
            self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"redis-server on port {self.port} did not start")
            time.sleep(_POLL)

    def kill(self) -> None:
        """End it at once (``SIGKILL``), as a crash would; what it held is gone."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(_STOP_TIMEOUT)
            self._process = None


class CheckoutProcess:
    """One ``checkout`` command run as a process of its own, its output kept in files.

    ``ready`` is the line its standard output prints once it runs, or a URL
    that answers 200 once it serves.
    """

    def __init__(
        self,
        name: str,
        arguments: Sequence[str],
        environment: Mapping[str, str],
        logs: Path,
        *,
        ready: str,
    ) -> None:
        self.name = name
        self._arguments = [sys.executable, "-m", "checkout_adapters.cli", *arguments]
        self._environment = dict(environment)
        self._logs = logs
        self._ready = ready
        self._process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def alive(self) -> bool:
        """Whether the process runs now."""
        return self._process is not None and self._process.poll() is None

    def output_files(self) -> list[Path]:
        """Every file this process (and its earlier lives) wrote its output to."""
        return sorted(self._logs.glob(f"{self.name}.*.log"))

    def start(self) -> None:
        """Start it, without waiting for it to be ready."""
        self.starts += 1
        life = f"{self.name}.{self.starts}"
        with (
            (self._logs / f"{life}.out.log").open("wb") as out,
            (self._logs / f"{life}.err.log").open("wb") as err,
        ):
            self._process = subprocess.Popen(  # noqa: S603 - this interpreter, our arguments
                self._arguments, cwd=REPOSITORY, env=self._environment, stdout=out, stderr=err
            )

    def wait_until_ready(self) -> float:
        """Wait until it is ready; the seconds it took. A process that exits stops the suite."""
        started = time.monotonic()
        deadline = started + _START_TIMEOUT
        while not self.ready():
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.name} was not ready in {_START_TIMEOUT} s")
            time.sleep(_POLL)
        return time.monotonic() - started

    def ready(self) -> bool:
        """Whether it is ready now. A process that exited stops the suite."""
        if not self.alive:
            raise SystemExit(f"{self.name} exited at start-up: see {self._logs}")
        if self._ready.startswith("http"):
            try:
                return httpx.get(self._ready, timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        out = self._logs / f"{self.name}.{self.starts}.out.log"
        return out.exists() and self._ready in out.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """End it at once (``SIGKILL``): no request finished, no lock released, no goodbye."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(_STOP_TIMEOUT)

    def stop(self) -> int | None:
        """Stop it as an operator does (``SIGTERM``) and wait; its exit status."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            return self._process.wait(_STOP_TIMEOUT)


def checkout_environment(
    name: str, database_url: URL, redis_url: str, variables: Mapping[str, str]
) -> dict[str, str]:
    """The environment of the checkout's process ``name``: this one's, no stray ``CHECKOUT_*``.

    Its database connections carry the ``application_name`` ``checkout-<name>``,
    so that the suite can tell whose they are.
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CHECKOUT_")}
    named = database_url.update_query_dict({"application_name": f"checkout-{name}"})
    return inherited | {
        "CHECKOUT_DATABASE_URL": named.render_as_string(hide_password=False),
        "CHECKOUT_REDIS_URL": redis_url,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")])
        ),
        "PYTHONUNBUFFERED": "1",
        **variables,
    }
