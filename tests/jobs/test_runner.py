from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import pytest

from checkout_adapters.jobs import Job, JobContext, JobFailed, JobReport, LeasedJobLock, Outcome
from checkout_adapters.memory import FixedClock, InMemoryLock
from checkout_adapters.observability import Metrics
from checkout_core.errors import OrderNotFound
from tests.jobs.fakes import START, counting_job, runner
from tests.observability.exposition import value

MINUTE = timedelta(minutes=1)


def test_a_run_that_ends_is_ok_with_its_items_and_figures_measured_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FixedClock(START)
    metrics = Metrics()
    runs: list[tuple[str, datetime]] = []
    job = counting_job("tidy", MINUTE, runs, items=4)
    progress: list[int] = []
    with caplog.at_level(logging.INFO):
        run = runner(clock, metrics=metrics).run(job, on_progress=progress.append)
    assert run.outcome is Outcome.OK
    assert (run.items, run.started_at, run.error) == (4, START, None)
    assert run.report == JobReport(items=4, figures={"seen": 4})
    assert progress == [1, 1, 1, 1]
    assert value(metrics, "checkout_job_runs_total", job="tidy", outcome="ok") == 1
    assert value(metrics, "checkout_job_items_total", job="tidy") == 4
    assert value(metrics, "checkout_job_duration_seconds_count", job="tidy", outcome="ok") == 1
    assert value(metrics, "checkout_job_last_success_timestamp_seconds", job="tidy") == (
        START.timestamp()
    )
    assert "job tidy ok in" in caplog.text
    assert "4 items: seen=4" in caplog.text


def test_a_service_error_fails_the_run_with_its_code_and_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def refuse(context: JobContext) -> JobReport:
        context.on_progress(2)
        raise JobFailed.answered("refusing", "expire_stale", OrderNotFound("ord_1"))

    metrics = Metrics()
    with caplog.at_level(logging.INFO):
        run = runner(FixedClock(START), metrics=metrics).run(Job("refusing", MINUTE, refuse, "x"))
    assert run.outcome is Outcome.FAILED
    assert run.items == 2
    assert run.error is not None
    assert run.error == "refusing: expire_stale answered [3001] Order not found. ord_1"
    assert value(metrics, "checkout_job_runs_total", job="refusing", outcome="failed") == 1
    assert value(metrics, "checkout_job_last_success_timestamp_seconds", job="refusing") is None
    assert "Traceback" not in caplog.text


def test_an_exception_fails_the_run_logged_with_its_traceback_and_is_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def crash(_context: JobContext) -> JobReport:
        raise ConnectionError("database down")

    run = runner(FixedClock(START)).run(Job("crashing", MINUTE, crash, "x"))
    assert run.outcome is Outcome.FAILED
    assert run.error == "ConnectionError: database down"
    assert "Traceback" in caplog.text
    assert "job crashing failed" in caplog.text


def test_a_job_whose_lock_is_held_elsewhere_is_skipped_and_does_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FixedClock(START)
    lock = LeasedJobLock(InMemoryLock(clock))
    runs: list[tuple[str, datetime]] = []
    job = counting_job("tidy", MINUTE, runs)
    metrics = Metrics()
    held = lock.try_acquire("tidy", MINUTE)
    assert held is not None
    with caplog.at_level(logging.INFO):
        run = runner(clock, lock, metrics).run(job)
    assert run.outcome is Outcome.SKIPPED
    assert runs == []
    assert "job tidy skipped: another instance holds its lock" in caplog.text
    assert value(metrics, "checkout_job_runs_total", job="tidy", outcome="skipped") == 1
    assert value(metrics, "checkout_job_duration_seconds_count", job="tidy", outcome="skipped") is (
        None
    )
    held.release()
    assert runner(clock, lock).run(job).outcome is Outcome.OK


def test_a_run_by_hand_releases_its_lock_and_a_kept_lock_lasts_until_the_next_run() -> None:
    clock = FixedClock(START)
    lock = LeasedJobLock(InMemoryLock(clock))
    job = counting_job("tidy", MINUTE, [])
    first = runner(clock, lock)
    assert first.run(job).outcome is Outcome.OK
    assert runner(clock, lock).run(job).outcome is Outcome.OK

    assert first.run(job, keep_lock=True).outcome is Outcome.OK
    assert runner(clock, lock).run(job).outcome is Outcome.SKIPPED
    assert first.run(job, keep_lock=True).outcome is Outcome.OK  # its own kept lock, let go first
    first.close()
    assert runner(clock, lock).run(job).outcome is Outcome.OK


def test_a_lock_that_cannot_be_taken_fails_the_run() -> None:
    class Broken:
        def try_acquire(self, job: str, hold_for: timedelta) -> None:
            raise ConnectionError("redis down")

    run = runner(FixedClock(START), Broken()).run(counting_job("tidy", MINUTE, []))
    assert (run.outcome, run.error) == (Outcome.FAILED, "lock: redis down")


def test_expose_shows_every_job_at_zero_before_it_runs() -> None:
    metrics = Metrics()
    runner(FixedClock(START), metrics=metrics).expose([counting_job("tidy", MINUTE, [])])
    for outcome in ("ok", "failed", "skipped"):
        assert value(metrics, "checkout_job_runs_total", job="tidy", outcome=outcome) == 0


def test_two_threads_running_one_job_at_once_in_process_one_runs_one_skips() -> None:
    clock = FixedClock(START)
    lock = LeasedJobLock(InMemoryLock(clock))
    inside = threading.Event()
    release = threading.Event()

    def slow(_context: JobContext) -> JobReport:
        inside.set()
        assert release.wait(10)
        return JobReport(items=1)

    job = Job("slow", MINUTE, slow, "x")
    outcomes: list[Outcome] = []
    first = threading.Thread(target=lambda: outcomes.append(runner(clock, lock).run(job).outcome))
    first.start()
    assert inside.wait(10)
    outcomes.append(runner(clock, lock).run(job).outcome)
    release.set()
    first.join(10)
    assert outcomes == [Outcome.SKIPPED, Outcome.OK]
