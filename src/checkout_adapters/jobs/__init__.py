"""The seed's cron jobs, the lock that keeps each to one instance, and their scheduler.

A :class:`Job` has a name, an interval and a function of a
:class:`JobContext` (the checkout, the clock, a progress hook). :data:`JOBS`
holds the seed's four: ``carts.cleanup`` (15 min), ``payments.reconcile``
(30 min), ``orders.sync`` (1 h) and ``reports.daily`` (1 day), and
``orders.redeliver`` (5 min), which publishes again the ``order.paid`` of
paid orders a broker's lost message left uncompleted.
:class:`JobRunner` runs one under its lock (a PostgreSQL advisory lock, or
a lease through the :class:`~checkout_core.ports.Lock` port: see
:mod:`checkout_adapters.jobs.locks`), logs and measures the run, and skips
it when another instance holds the lock. :class:`Scheduler` runs them all
as they fall due. The ``checkout jobs`` and ``checkout scheduler`` commands
drive them from the environment's settings.
"""

from __future__ import annotations

from checkout_adapters.jobs.locks import (
    AdvisoryJobLock,
    HeldLock,
    JobLock,
    LeasedJobLock,
    advisory_key,
)
from checkout_adapters.jobs.model import (
    Job,
    JobContext,
    JobFailed,
    JobReport,
    JobRun,
    Outcome,
    ProgressHook,
)
from checkout_adapters.jobs.registry import BATCH_SIZE, JOBS, UnknownJob, job_named
from checkout_adapters.jobs.runner import ContextFactory, JobMetrics, JobRunner
from checkout_adapters.jobs.scheduler import Scheduler, next_due
from checkout_adapters.jobs.settings import (
    DEFAULT_REDELIVERY_DELAY,
    DEFAULT_REPORTS_DIR,
    JobSettings,
)

__all__ = [
    "BATCH_SIZE",
    "DEFAULT_REDELIVERY_DELAY",
    "DEFAULT_REPORTS_DIR",
    "JOBS",
    "AdvisoryJobLock",
    "ContextFactory",
    "HeldLock",
    "Job",
    "JobContext",
    "JobFailed",
    "JobLock",
    "JobMetrics",
    "JobReport",
    "JobRun",
    "JobRunner",
    "JobSettings",
    "LeasedJobLock",
    "Outcome",
    "ProgressHook",
    "Scheduler",
    "UnknownJob",
    "advisory_key",
    "job_named",
    "next_due",
]
