"""The jobs of a configured checkout: its lock chosen, its runner built.

:func:`job_lock` picks the lock by the database (see
:mod:`checkout_adapters.jobs.locks`); :func:`job_runner` makes runs of the
jobs over a :class:`~checkout_adapters.bootstrap.Served` checkout, measured
in its metrics.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Engine

from checkout_adapters.bootstrap import Served
from checkout_adapters.jobs.locks import AdvisoryJobLock, JobLock, LeasedJobLock
from checkout_adapters.jobs.model import JobContext, ProgressHook
from checkout_adapters.jobs.runner import JobRunner
from checkout_adapters.jobs.settings import JobSettings
from checkout_adapters.memory import InMemoryLock
from checkout_adapters.settings import ServerSettings
from checkout_core.ports import Clock

__all__ = ["job_lock", "job_runner"]

_REDIS_TIMEOUT: Final = 5.0
"""Seconds a call to Redis for a job's lock may take."""


def job_lock(settings: ServerSettings, engine: Engine, clock: Clock) -> JobLock:
    """The lock jobs take: advisory on PostgreSQL, else Redis's if configured, else in-process."""
    if engine.dialect.name == "postgresql":
        return AdvisoryJobLock(engine)
    if settings.redis_url is not None:
        # redis is an optional extra: only a server given a Redis URL needs it installed.
        from redis import Redis  # noqa: PLC0415

        from checkout_adapters.redis import RedisLock  # noqa: PLC0415

        # A patient client: a lock is not a cache, and a run is not taken on a guess.
        client = Redis.from_url(
            settings.redis_url, socket_timeout=_REDIS_TIMEOUT, socket_connect_timeout=_REDIS_TIMEOUT
        )
        return LeasedJobLock(RedisLock(client, clock=clock))
    return LeasedJobLock(InMemoryLock(clock))


def job_runner(
    served: Served, settings: ServerSettings, job_settings: JobSettings, clock: Clock
) -> JobRunner:
    """A runner of jobs over ``served``'s checkout, measured in its metrics."""

    def context(on_progress: ProgressHook) -> JobContext:
        return JobContext(
            checkout=served.checkout,
            clock=clock,
            engine=served.engine,
            reports_dir=job_settings.reports_dir,
            on_progress=on_progress,
            redelivery_delay=job_settings.redelivery_delay,
        )

    return JobRunner(
        context=context,
        lock=job_lock(settings, served.engine, clock),
        clock=clock,
        metrics=served.metrics,
    )
