"""A throwaway ``redis-server`` of a test's own, on a free port, that the test may kill or pause."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from attrs import define, field
from redis import Redis
from redis.exceptions import RedisError

__all__ = ["RedisServer", "free_port", "running_redis"]

REDIS_SERVER = os.environ.get("CHECKOUT_TEST_REDIS_SERVER") or shutil.which("redis-server")


def free_port() -> int:
    """A TCP port nobody listens on now (the kernel's pick, closed again at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@define
class RedisServer:
    """A ``redis-server`` on ``port`` with nothing persisted, run in ``directory``.

    :meth:`start` runs it and waits until it answers ``PING``; :meth:`kill`
    ends it at once (``SIGKILL``); :meth:`pause` and :meth:`resume` stop and
    continue it (``SIGSTOP``/``SIGCONT``), so that it accepts connections but
    answers nothing, like a stalled server. :meth:`close` ends it whatever
    its state; call it from a fixture's finalizer.
    """

    directory: Path
    port: int = field(factory=free_port)
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        """The URL clients connect to."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the server process is alive (paused or not)."""
        return self._process is not None and self._process.poll() is None

    def start(self, *, timeout: float = 10.0) -> None:
        """Start the server on :attr:`port` and wait until it answers."""
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server is not installed (or set CHECKOUT_TEST_REDIS_SERVER)")
        if self.running:
            raise RuntimeError("the server is running already")
        self._process = subprocess.Popen(  # noqa: S603  # a fixed program with fixed arguments
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_until_it_answers(timeout)

    def kill(self) -> None:
        """End the server at once, as a crash would, and wait until it is gone."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        self._process = None

    def pause(self) -> None:
        """Stop the process: connections are accepted, nothing is answered."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server go on."""
        self._signal(signal.SIGCONT)

    def close(self) -> None:
        """End the server whatever its state (killing a stopped process works too)."""
        self.kill()

    def _signal(self, number: signal.Signals) -> None:
        if self._process is None or self._process.poll() is not None:
            raise RuntimeError("the server is not running")
        os.kill(self._process.pid, number)

    def _wait_until_it_answers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5)
        try:
            while True:
                try:
                    if client.ping():
                        return
                except RedisError:
                    pass
                if self._process is not None and self._process.poll() is not None:
                    raise RuntimeError(f"redis-server on port {self.port} exited at start")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {self.port} did not answer PING")
                time.sleep(0.02)
        finally:
            client.close()


@contextmanager
def running_redis(directory: Path) -> Iterator[RedisServer]:
    """A :class:`RedisServer` in ``directory``, started, and ended when the block ends."""
    server = RedisServer(directory)
    try:
        server.start()
        yield server
    finally:
        server.close()
