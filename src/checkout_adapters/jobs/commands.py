"""``checkout jobs list``, ``checkout jobs run NAME`` and ``checkout scheduler``."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Final

import click
from attrs import evolve

from checkout_adapters.jobs.model import Job, JobRun, Outcome, ProgressHook
from checkout_adapters.jobs.operated import (
    logging_to_stderr,
    operated,
    read_job_settings,
    read_settings,
)
from checkout_adapters.jobs.registry import JOBS, UnknownJob, job_named
from checkout_adapters.jobs.scheduler import Scheduler
from checkout_adapters.jobs.wiring import job_runner
from checkout_adapters.system import SystemClock

if TYPE_CHECKING:
    # An optional extra's: imported when the metrics are served, named here for the types.
    from prometheus_client import CollectorRegistry

__all__ = ["describe", "jobs", "scheduler"]

_LOG_FORMAT: Final = click.Choice(["text", "json"])


def describe(run: JobRun) -> str:
    """One line telling how a run ended."""
    match run.outcome:
        case Outcome.SKIPPED:
            return f"{run.job}: skipped, another instance holds its lock"
        case Outcome.FAILED:
            return f"{run.job}: failed after {run.seconds:.3f} s, {run.items} items: {run.error}"
        case Outcome.OK:
            summary = "" if run.report is None else run.report.summary()
            return f"{run.job}: ok in {run.seconds:.3f} s, {run.items} items ({summary})"


@click.group()
def jobs() -> None:
    """The scheduled jobs: list them, or run one now by hand."""


@jobs.command("list")
def list_jobs() -> None:
    """Every job, its interval and what it does."""
    for job in JOBS.values():
        click.echo(f"{job.name:<20} every {_interval(job.interval):<8} {job.description}")


@jobs.command("run")
@click.argument("name")
def run_job(name: str) -> None:
    """Run the job NAME once now, under its lock, as the scheduler would.

    Exits with 1 when the run failed; a run skipped because another
    instance holds the job's lock is no failure.
    """
    try:
        job = job_named(name)
    except UnknownJob as unknown:
        raise click.BadParameter(str(unknown), param_hint="NAME") from None
    settings = read_settings()
    clock = SystemClock()
    with operated(settings) as server:
        runner = job_runner(server, settings, read_job_settings(), clock)
        with _progress(job) as on_progress:
            run = runner.run(job, on_progress=on_progress)
    click.echo(describe(run))
    if run.outcome is Outcome.FAILED:
        raise SystemExit(1)


@contextmanager
def _progress(job: Job) -> Iterator[ProgressHook]:
    """A progress bar at a terminal; a plain line per batch otherwise (a log, a pipe)."""
    if not sys.stdout.isatty():
        done = 0

        def line(items: int) -> None:
            nonlocal done
            done += items
            click.echo(f"{job.name}: {done} items")

        yield line
        return
    # How many items a run will find is not known beforehand: the bar counts without a length.
    with click.progressbar(_unsized(), label=job.name, show_pos=True, show_eta=False) as bar:
        yield bar.update


def _unsized() -> Iterator[int]:
    """Nothing, with no length to tell: the progress bar counts what it is told, open-ended."""
    yield from ()


@click.command()
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    help="Serve the jobs' Prometheus metrics on this port, at /metrics.",
)
@click.option(
    "--now",
    "run_at_start",
    is_flag=True,
    help="Run every job once at start, then on its schedule.",
)
@click.option(
    "--only",
    multiple=True,
    metavar="NAME",
    help="Run only this job (repeat for more); by default every job.",
)
@click.option(
    "--every",
    multiple=True,
    metavar="NAME=SECONDS",
    help="Run the job NAME at this interval instead of its own (repeat for more).",
)
@click.option("--log-format", type=_LOG_FORMAT, default="text", show_default=True)
def scheduler(
    metrics_port: int | None,
    run_at_start: bool,  # noqa: FBT001 - a click flag
    only: tuple[str, ...],
    every: tuple[str, ...],
    log_format: str,
) -> None:
    """Run every job on its schedule in this process, until SIGTERM or Ctrl-C.

    Several schedulers may run against one PostgreSQL database (or one
    Redis): each due time of a job is run by one of them, the others skip
    it. A signal stops the scheduler once the job at hand is done.
    """
    chosen = _chosen_jobs(only, _intervals(every))
    logging_to_stderr(log_format)
    settings = read_settings()
    clock = SystemClock()
    with operated(settings) as server:
        runner = job_runner(server, settings, read_job_settings(), clock)
        if metrics_port is not None:
            _serve_metrics(server.metrics.registry, metrics_port)
        names = ", ".join(f"{job.name} every {_interval(job.interval)}" for job in chosen)
        click.echo(f"scheduler running: {names}")
        loop = Scheduler(
            runner,
            chosen,
            clock,
            run_at_start=run_at_start,
            on_run=lambda run: click.echo(
                f"{run.started_at:%Y-%m-%dT%H:%M:%S.%fZ} {describe(run)}"
            ),
        )
        runs = loop.run(threading.Event())
    click.echo(f"scheduler stopped after {len(runs)} runs")


def _serve_metrics(registry: CollectorRegistry, port: int) -> None:
    # prometheus-client is part of the fastapi extra, which the served checkout needs anyway.
    from prometheus_client import start_http_server  # noqa: PLC0415

    start_http_server(port, registry=registry)
    click.echo(f"metrics at http://0.0.0.0:{port}/metrics")


def _intervals(every: tuple[str, ...]) -> dict[str, timedelta]:
    intervals: dict[str, timedelta] = {}
    for given in every:
        name, _, seconds = given.partition("=")
        try:
            interval = timedelta(seconds=float(seconds))
        except ValueError:
            interval = timedelta(0)
        if interval <= timedelta(0):
            raise click.BadParameter(
                f"{given!r} is not NAME=SECONDS with a positive number", param_hint="--every"
            )
        intervals[name] = interval
    return intervals


def _chosen_jobs(only: tuple[str, ...], intervals: Mapping[str, timedelta]) -> list[Job]:
    try:
        chosen = [job_named(name) for name in only] if only else list(JOBS.values())
        for name in intervals:
            job_named(name)
    except UnknownJob as unknown:
        raise click.BadParameter(str(unknown)) from None
    return [
        evolve(job, interval=intervals[job.name]) if job.name in intervals else job
        for job in chosen
    ]


def _interval(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{interval.total_seconds():g} s"
