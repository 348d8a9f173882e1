"""The scheduler: every job on its interval, one process, one job at a time.

A job is due at each multiple of its interval since the Unix epoch
(:func:`next_due`), so schedulers started at different moments agree on the
due times. :meth:`Scheduler.run` keeps the next due time of each job, sleeps
until the earliest, runs what is due (keeping each job's lock until the job
is next due, see :mod:`checkout_adapters.jobs.runner`) and looks again. A
run that takes longer than its interval is not run twice to catch up: the
next due time is the first one after the run ended.

It stops when its ``stop`` event is set or, in the main thread, on SIGTERM
or SIGINT: the job at hand is finished first, then the kept locks are
released. A second signal acts as it would without the scheduler.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Final

from attrs import define, field

from checkout_adapters.jobs.model import Job, JobRun
from checkout_adapters.jobs.runner import JobRunner
from checkout_adapters.signals import stopping_on_signals
from checkout_core.ports import Clock

__all__ = ["Scheduler", "next_due"]

logger = logging.getLogger(__name__)

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_POLL_SECONDS: Final = 0.2
"""The longest a sleep goes without looking at the signals received."""


def next_due(job: Job, after: datetime) -> datetime:
    """The first due time of ``job`` strictly after ``after``: the next multiple of its interval."""
    periods = (after - _EPOCH) // job.interval
    return _EPOCH + (periods + 1) * job.interval


@define
class Scheduler:
    """Runs ``jobs`` through ``runner`` whenever they are due by ``clock``.

    ``sleep`` waits up to the seconds given and returns early when told to
    stop; it is ``stop.wait`` unless a test moves a clock instead.
    ``run_at_start`` runs every job once at start, before its first due time.
    """

    runner: JobRunner
    jobs: Sequence[Job]
    clock: Clock
    run_at_start: bool = False
    on_run: Callable[[JobRun], None] = field(default=lambda _run: None, repr=False)
    """Told of each run as it ends (the command prints it)."""

    def run(
        self, stop: threading.Event, *, sleep: Callable[[float], object] | None = None
    ) -> list[JobRun]:
        """Run the jobs as they fall due until ``stop`` is set or a signal comes; return runs."""
        wait = sleep or stop.wait
        now = self.clock.now()
        due = {job.name: now if self.run_at_start else next_due(job, now) for job in self.jobs}
        runs: list[JobRun] = []
        self.runner.expose(self.jobs)
        try:
            with stopping_on_signals() as signalled:
                while not stop.is_set() and not signalled:
                    now = self.clock.now()
                    ready = [job for job in self.jobs if due[job.name] <= now]
                    if not ready:
                        earliest = min(due.values())
                        wait(min(_POLL_SECONDS, (earliest - now).total_seconds()))
                        continue
                    job = min(ready, key=lambda job: due[job.name])
                    run = self.runner.run(job, keep_lock=True)
                    runs.append(run)
                    self.on_run(run)
                    due[job.name] = next_due(job, self.clock.now())
            if signalled:
                logger.info("scheduler stopped by %s", signal.Signals(signalled[0]).name)
        finally:
            self.runner.close()
        return runs
