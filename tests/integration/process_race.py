"""Races of real processes: each calls one function, all released together by a barrier.

A racer is a process of its own (started with ``spawn``, so nothing is
inherited but what it is given) that imports what it calls, waits at the
barrier for the others, then calls. Whatever escapes a racer is sent back
with its traceback, never lost, so a test can assert that nothing did.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any, Generic, TypeVar

from attrs import frozen

__all__ = ["ProcessRace", "race_processes"]

T = TypeVar("T")

BARRIER_TIMEOUT = 60.0
"""How long a racer waits for the others before the race is declared broken."""


@frozen
class ProcessRace(Generic[T]):
    """The answers in the order of the racers, what escaped them, and their exit codes."""

    answers: list[T | None]
    escaped: list[str]
    exit_codes: list[int | None]


def _racer(
    call: Callable[..., Any],
    arguments: tuple[Any, ...],
    barrier: Barrier,
    results: Queue[Any],
    index: int,
) -> None:
    try:
        barrier.wait(timeout=BARRIER_TIMEOUT)
        results.put((index, call(*arguments), None))
    except BaseException:  # noqa: BLE001 - sent to the parent, which asserts there is none
        barrier.abort()
        results.put((index, None, traceback.format_exc()))


def race_processes(
    call: Callable[..., T], arguments: Sequence[tuple[Any, ...]], *, timeout: float = 120.0
) -> ProcessRace[T]:
    """Call ``call`` once per tuple of ``arguments``, each in a process, all at once.

    ``call`` must be importable by name (a module-level function) and its
    arguments and answer picklable.
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(arguments))
    results: Queue[Any] = context.Queue()
    processes = [
        context.Process(
            target=_racer,
            args=(call, given, barrier, results, index),
            name=f"racer-process-{index}",
        )
        for index, given in enumerate(arguments)
    ]
    for process in processes:
        process.start()
    answers: list[T | None] = [None] * len(processes)
    escaped: list[str] = []
    try:
        for _ in processes:
            index, answer, trace = results.get(timeout=timeout)
            answers[index] = answer
            if trace is not None:
                escaped.append(f"racer {index}:\n{trace}")
    finally:
        for process in processes:
            process.join(timeout=30)
        for process in processes:
            if process.is_alive():
                escaped.append(f"{process.name} still running: terminated")
                process.terminate()
                process.join()
        results.close()
        results.join_thread()
    return ProcessRace(answers, escaped, [process.exitcode for process in processes])
