from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from checkout_adapters.jobs import (
    Job,
    JobContext,
    JobReport,
    JobRun,
    LeasedJobLock,
    Outcome,
    Scheduler,
    next_due,
)
from checkout_adapters.memory import FixedClock, InMemoryLock
from tests.jobs.fakes import START, counting_job, runner

QUARTER = timedelta(minutes=15)
HALF_HOUR = timedelta(minutes=30)


def test_due_times_are_the_multiples_of_the_interval_since_the_epoch() -> None:
    job = counting_job("tidy", QUARTER, [])
    assert next_due(job, datetime(2024, 6, 15, 10, 7, tzinfo=UTC)) == datetime(
        2024, 6, 15, 10, 15, tzinfo=UTC
    )
    assert next_due(job, datetime(2024, 6, 15, 10, 15, tzinfo=UTC)) == datetime(
        2024, 6, 15, 10, 30, tzinfo=UTC
    )
    daily = counting_job("daily", timedelta(days=1), [])
    assert next_due(daily, START) == datetime(2024, 6, 16, tzinfo=UTC)


class _Sleeper:
    """Moves the clock as a sleep would, and stops the scheduler at ``until``."""

    def __init__(self, clock: FixedClock, stop: threading.Event, until: datetime) -> None:
        self.clock = clock
        self.stop = stop
        self.until = until
        self.slept = 0.0

    def __call__(self, seconds: float) -> None:
        assert seconds > 0
        self.slept += seconds
        self.clock.advance(timedelta(seconds=seconds))
        if self.clock.now() >= self.until:
            self.stop.set()


def test_each_job_runs_at_each_of_its_due_times_and_not_before() -> None:
    clock = FixedClock(START + timedelta(minutes=7))
    runs: list[tuple[str, datetime]] = []
    jobs = [counting_job("quarter", QUARTER, runs), counting_job("half", HALF_HOUR, runs)]
    stop = threading.Event()
    sleeper = _Sleeper(clock, stop, START + timedelta(minutes=61))
    done = Scheduler(runner(clock), jobs, clock).run(stop, sleep=sleeper)
    at = sorted((moment.strftime("%H:%M"), name) for name, moment in runs)
    assert at == [
        ("10:15", "quarter"),
        ("10:30", "half"),
        ("10:30", "quarter"),
        ("10:45", "quarter"),
        ("11:00", "half"),
        ("11:00", "quarter"),
    ]
    assert [run.outcome for run in done] == [Outcome.OK] * 6


def test_run_at_start_runs_every_job_at_once_then_on_schedule() -> None:
    clock = FixedClock(START + timedelta(minutes=7))
    runs: list[tuple[str, datetime]] = []
    stop = threading.Event()
    sleeper = _Sleeper(clock, stop, START + timedelta(minutes=16))
    Scheduler(
        runner(clock), [counting_job("quarter", QUARTER, runs)], clock, run_at_start=True
    ).run(stop, sleep=sleeper)
    assert [moment.strftime("%H:%M") for _, moment in runs] == ["10:07", "10:15"]


def test_a_run_longer_than_its_interval_is_not_run_again_to_catch_up() -> None:
    clock = FixedClock(START)
    moments: list[datetime] = []

    def slow(_context: JobContext) -> JobReport:
        moments.append(clock.now())
        clock.advance(timedelta(minutes=40))
        return JobReport(items=0)

    stop = threading.Event()
    sleeper = _Sleeper(clock, stop, START + timedelta(hours=2))
    job = Job("slow", QUARTER, slow, "x")
    Scheduler(runner(clock), [job], clock, run_at_start=True).run(stop, sleep=sleeper)
    assert [moment.strftime("%H:%M") for moment in moments] == ["10:00", "10:45", "11:30"]


def test_runners_keeping_their_locks_as_schedulers_do_run_each_due_time_once() -> None:
    clock = FixedClock(START)
    lock = LeasedJobLock(InMemoryLock(clock))
    runs: list[tuple[str, datetime]] = []
    job = counting_job("quarter", QUARTER, runs)
    first, second = runner(clock, lock), runner(clock, lock)
    outcomes: list[JobRun] = []
    # However quick a run, the runner that comes second to a due time finds the lock kept.
    for step in range(1, 5):
        clock.set(START + step * QUARTER)
        early, late = (first, second) if step % 2 else (second, first)
        outcomes.extend((early.run(job, keep_lock=True), late.run(job, keep_lock=True)))
    first.close()
    second.close()
    assert [moment.strftime("%H:%M") for _, moment in runs] == ["10:15", "10:30", "10:45", "11:00"]
    assert [run.outcome for run in outcomes].count(Outcome.SKIPPED) == 4


def test_setting_stop_ends_the_scheduler_and_releases_its_locks() -> None:
    clock = FixedClock(START)
    lock = LeasedJobLock(InMemoryLock(clock))
    job = counting_job("quarter", QUARTER, [])
    stop = threading.Event()

    def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        stop.set()

    runs = Scheduler(runner(clock, lock), [job], clock, run_at_start=True).run(stop, sleep=sleep)
    assert [run.outcome for run in runs] == [Outcome.OK]
    assert lock.try_acquire("quarter", QUARTER) is not None
