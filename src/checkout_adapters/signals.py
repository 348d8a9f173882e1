"""Stopping a long-running loop cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Final

__all__ = ["stopping_on_signals"]

_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def stopping_on_signals() -> Iterator[list[int]]:
    """Record SIGTERM and SIGINT in the list yielded, in the main thread; elsewhere, nothing.

    A loop checks the list between its steps and ends when it is not empty.
    The handler only appends (it takes no lock, which the interrupted code
    may hold) and puts the previous handlers back, so a second signal acts
    as it would without the loop.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)

    def record(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        restore()

    for signum in _SIGNALS:
        signal.signal(signum, record)
    try:
        yield received
    finally:
        restore()
