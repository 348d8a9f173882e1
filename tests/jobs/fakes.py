"""Jobs, contexts and runners for the tests, on fakes: no database is touched."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from checkout_adapters.jobs import (
    Job,
    JobContext,
    JobLock,
    JobReport,
    JobRunner,
    LeasedJobLock,
    ProgressHook,
)
from checkout_adapters.memory import FixedClock, InMemoryLock
from checkout_adapters.observability import Metrics

START = datetime(2024, 6, 15, 10, 0, tzinfo=UTC)


def context_factory(clock: FixedClock) -> Callable[[ProgressHook], JobContext]:
    # The jobs of these tests read neither the checkout nor the engine.
    def make(on_progress: ProgressHook) -> JobContext:
        return JobContext(
            checkout=cast("Any", None),
            clock=clock,
            engine=cast("Any", None),
            reports_dir=Path("reports"),
            on_progress=on_progress,
        )

    return make


def runner(
    clock: FixedClock, lock: JobLock | None = None, metrics: Metrics | None = None
) -> JobRunner:
    return JobRunner(
        context=context_factory(clock),
        lock=lock or LeasedJobLock(InMemoryLock(clock)),
        clock=clock,
        metrics=metrics,
    )


def counting_job(
    name: str, interval: timedelta, runs: list[tuple[str, datetime]], items: int = 3
) -> Job:
    def run(context: JobContext) -> JobReport:
        runs.append((name, context.clock.now()))
        for _ in range(items):
            context.on_progress(1)
        return JobReport(items=items, figures={"seen": items})

    return Job(name, interval, run, f"counts its runs ({name})")
