"""What a job is, what a run of it is given, and what a run reports."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path

from attrs import field, frozen
from sqlalchemy import Engine

from checkout_core.domain.redelivery import STALLED_AFTER
from checkout_core.errors import CheckoutError
from checkout_core.ports import Clock
from checkout_core.services import Checkout

__all__ = ["Job", "JobContext", "JobFailed", "JobReport", "JobRun", "Outcome", "ProgressHook"]

ProgressHook = Callable[[int], None]
"""Told how many more items a run has processed, after each batch."""


def _ignore_progress(_items: int) -> None:
    """No one is watching."""


@frozen
class JobContext:
    """What a job's run works with: the checkout, the clock, and whom to tell of its progress.

    ``engine`` is the checkout's database (the daily report reads it);
    ``reports_dir`` is where the daily report's files go;
    ``redelivery_delay`` is how long ``orders.redeliver`` leaves a paid
    order to complete before it publishes its event again.
    """

    checkout: Checkout
    clock: Clock
    engine: Engine
    reports_dir: Path
    on_progress: ProgressHook = _ignore_progress
    redelivery_delay: timedelta = STALLED_AFTER


@frozen
class JobReport:
    """What a run did: how many items it processed, and its figures by name."""

    items: int
    figures: Mapping[str, object] = field(factory=dict)

    def summary(self) -> str:
        """The figures as ``name=value`` pairs, for a log line."""
        return ", ".join(f"{name}={value}" for name, value in self.figures.items())


class JobFailed(Exception):
    """The job could not do its work, for a reason it knows: the run fails, saying why.

    A service answering with an error (:meth:`answered`), or a run cut
    short; unlike any other exception, it is logged without a traceback.
    """

    def __init__(self, job: str, reason: str) -> None:
        super().__init__(f"{job}: {reason}")

    @classmethod
    def answered(cls, job: str, step: str, error: CheckoutError) -> JobFailed:
        """``step`` of ``job`` answered with ``error``."""
        return cls(job, f"{step} answered {error}")


@frozen
class Job:
    """A task run on a fixed ``interval`` by the scheduler, or by hand.

    Due times are the multiples of ``interval`` since the Unix epoch, so every
    scheduler agrees on them whenever it started: ``carts.cleanup`` is due at
    :00, :15, :30 and :45 of each hour, ``reports.daily`` at midnight UTC.
    """

    name: str
    interval: timedelta
    run: Callable[[JobContext], JobReport] = field(repr=False)
    description: str

    def __attrs_post_init__(self) -> None:
        if self.interval <= timedelta(0):
            raise ValueError(f"a job runs at a positive interval, not {self.interval}")


class Outcome(enum.StrEnum):
    """How a run ended."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Another instance held the job's lock: this one did nothing."""


@frozen
class JobRun:
    """One run of a job: its outcome, when it started, how long it took and what it did."""

    job: str
    outcome: Outcome
    started_at: datetime
    seconds: float
    items: int = 0
    """Items processed: the report's count, or what a failed run reported before failing."""
    report: JobReport | None = None
    """What the run did, when it ran to the end."""
    error: str | None = None
    """Why the run failed, when it did."""
