"""Running a job once: its lock taken, the run timed, its outcome logged and measured.

:meth:`JobRunner.run` takes the job's lock without waiting. When another
instance holds it the run is *skipped*: nothing is done, and the log says
so. Otherwise the job runs; a service's error (:class:`JobFailed`) or any
exception makes the run *failed*, logged with its cause, and never escapes:
a scheduler goes on with its other jobs. Each run ends with one log line and,
given :class:`JobMetrics`, the runs counter, the duration histogram, the
items counter and the last success gauge.

A run by hand releases the lock when it ends. A scheduler asks to ``keep``
it until the job is next due (:meth:`JobRunner.close` lets every kept lock
go): a second scheduler that comes a little late for the same due time finds
it taken and skips, so each due time runs once however quick the run was.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

from attrs import define, field

from checkout_adapters.jobs.locks import HeldLock, JobLock
from checkout_adapters.jobs.model import (
    Job,
    JobContext,
    JobFailed,
    JobRun,
    Outcome,
    ProgressHook,
)
from checkout_core.ports import Clock

__all__ = ["ContextFactory", "JobMetrics", "JobRunner"]

logger = logging.getLogger(__name__)


class JobMetrics(Protocol):
    """Where runs are measured: :class:`~checkout_adapters.observability.Metrics` will do."""

    def prepare_job(self, job: str) -> None:
        """Expose the job's series before its first run."""
        ...

    def observe_job(
        self, job: str, *, outcome: str, seconds: float, items: int, finished_at: float
    ) -> None:
        """Record one run."""
        ...


ContextFactory = Callable[[ProgressHook], JobContext]
"""Makes the context of a run, given the hook its progress goes to."""


def _ignore(_items: int) -> None:
    """No one is watching."""


@define
class JobRunner:
    """Runs jobs under ``lock``, in contexts from ``context``, measured in ``metrics``."""

    context: ContextFactory
    lock: JobLock
    clock: Clock
    metrics: JobMetrics | None = None
    _kept: dict[str, HeldLock] = field(factory=dict, init=False, repr=False)

    def run(
        self, job: Job, *, on_progress: ProgressHook = _ignore, keep_lock: bool = False
    ) -> JobRun:
        """Run ``job`` once if its lock is free; skipped when not. Never raises for the job.

        With ``keep_lock`` the lock is kept after the run, until this runner
        runs the job again or is closed.
        """
        self._let_go(job.name)
        started_at = self.clock.now()
        # A lease lasts the job's interval: a holder that died frees the job by its next due time.
        try:
            held = self.lock.try_acquire(job.name, job.interval)
        except Exception as failure:
            logger.exception("job %s failed: its lock could not be taken", job.name)
            run = JobRun(job.name, Outcome.FAILED, started_at, 0.0, error=f"lock: {failure}")
            self._observe(run)
            return run
        if held is None:
            logger.info("job %s skipped: another instance holds its lock", job.name)
            run = JobRun(job.name, Outcome.SKIPPED, started_at, 0.0)
            self._observe(run)
            return run
        try:
            run = self._run(job, on_progress, started_at)
        finally:
            if keep_lock:
                self._kept[job.name] = held
            else:
                held.release()
        self._observe(run)
        return run

    def expose(self, jobs: Iterable[Job]) -> None:
        """Show every one of ``jobs`` in the metrics at zero, before it first runs."""
        if self.metrics is not None:
            for job in jobs:
                self.metrics.prepare_job(job.name)

    def close(self) -> None:
        """Release every lock kept by :meth:`run` with ``keep_lock``."""
        for name in list(self._kept):
            self._let_go(name)

    def _let_go(self, name: str) -> None:
        held = self._kept.pop(name, None)
        if held is not None:
            held.release()

    def _run(self, job: Job, on_progress: ProgressHook, started_at: datetime) -> JobRun:
        progressed = 0

        def progress(items: int) -> None:
            nonlocal progressed
            progressed += items
            on_progress(items)

        start = time.perf_counter()
        try:
            report = job.run(self.context(progress))
        except JobFailed as failure:
            # The service answered with an error: its code says it all, no traceback.
            error = str(failure)
            logger.error("job %s failed: %s", job.name, error)  # noqa: TRY400
        except Exception as failure:
            error = f"{type(failure).__name__}: {failure}"
            logger.exception("job %s failed", job.name)
        else:
            seconds = time.perf_counter() - start
            logger.info(
                "job %s ok in %.3f s, %d items: %s",
                job.name, seconds, report.items, report.summary(),
            )  # fmt: skip
            return JobRun(job.name, Outcome.OK, started_at, seconds, report.items, report)
        seconds = time.perf_counter() - start
        return JobRun(job.name, Outcome.FAILED, started_at, seconds, progressed, error=error)

    def _observe(self, run: JobRun) -> None:
        if self.metrics is None:
            return
        self.metrics.observe_job(
            run.job,
            outcome=run.outcome.value,
            seconds=run.seconds,
            items=run.items,
            finished_at=self.clock.now().timestamp(),
        )
