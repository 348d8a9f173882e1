from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import Engine, text

from checkout_adapters.jobs import (
    AdvisoryJobLock,
    Job,
    JobContext,
    JobReport,
    LeasedJobLock,
    Outcome,
    advisory_key,
)
from checkout_adapters.memory import FixedClock, InMemoryLock
from tests.jobs.fakes import START, runner

HOUR = timedelta(hours=1)


def test_the_advisory_key_of_a_job_is_stable_and_a_signed_64_bit_integer() -> None:
    # Pinned: schedulers of different releases must agree on the key.
    assert advisory_key("carts.cleanup") == advisory_key("carts.cleanup")
    assert advisory_key("carts.cleanup") != advisory_key("orders.sync")
    for name in ("carts.cleanup", "payments.reconcile", "orders.sync", "reports.daily"):
        assert -(2**63) <= advisory_key(name) < 2**63
    assert advisory_key("carts.cleanup") == -6_599_140_556_268_457_786


def _holders(engine: Engine, job: str) -> int:
    # Advisory locks on a bigint appear in pg_locks split into two 32-bit halves.
    key = advisory_key(job) & 0xFFFF_FFFF_FFFF_FFFF
    with engine.connect() as connection:
        count: int = connection.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND classid::bigint = :high AND objid::bigint = :low"
            ),
            {"high": key >> 32, "low": key & 0xFFFF_FFFF},
        ).scalar_one()
    return count


def test_an_advisory_lock_is_held_once_and_given_back_on_release(postgres_engine: Engine) -> None:
    lock = AdvisoryJobLock(postgres_engine)
    held = lock.try_acquire("carts.cleanup", HOUR)
    assert held is not None
    assert _holders(postgres_engine, "carts.cleanup") == 1
    assert lock.try_acquire("carts.cleanup", HOUR) is None
    other = lock.try_acquire("orders.sync", HOUR)
    assert other is not None
    held.release()
    other.release()
    assert _holders(postgres_engine, "carts.cleanup") == 0
    again = lock.try_acquire("carts.cleanup", HOUR)
    assert again is not None
    again.release()


def test_losing_the_connection_releases_the_advisory_lock(postgres_engine: Engine) -> None:
    lock = AdvisoryJobLock(postgres_engine)
    held = lock.try_acquire("carts.cleanup", HOUR)
    assert held is not None
    with postgres_engine.connect() as admin:
        admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                " AND objid::bigint = :low"
            ),
            {"low": (advisory_key("carts.cleanup") & 0xFFFF_FFFF_FFFF_FFFF) & 0xFFFF_FFFF},
        )
        admin.commit()
    taken = lock.try_acquire("carts.cleanup", HOUR)
    assert taken is not None
    held.release()  # the lost connection's release says so and changes nothing
    assert lock.try_acquire("carts.cleanup", HOUR) is None
    taken.release()


def test_two_threads_running_one_job_on_postgresql_one_runs_and_one_skips(
    postgres_engine: Engine,
) -> None:
    clock = FixedClock(START)
    inside = threading.Event()
    finish = threading.Event()
    ran: list[str] = []

    def slow(_context: JobContext) -> JobReport:
        ran.append(threading.current_thread().name)
        inside.set()
        assert finish.wait(10)
        return JobReport(items=1)

    job = Job("carts.cleanup", HOUR, slow, "x")
    outcomes: dict[str, Outcome] = {}

    def run(name: str) -> None:
        outcomes[name] = runner(clock, AdvisoryJobLock(postgres_engine)).run(job).outcome

    first = threading.Thread(target=run, args=("first",), name="first")
    second = threading.Thread(target=run, args=("second",), name="second")
    first.start()
    assert inside.wait(10)
    second.start()
    second.join(10)
    finish.set()
    first.join(10)
    assert outcomes == {"second": Outcome.SKIPPED, "first": Outcome.OK}
    assert ran == ["first"]
    assert _holders(postgres_engine, "carts.cleanup") == 0


def test_a_lease_lock_ends_with_its_lease() -> None:
    clock = FixedClock(START)
    lock = LeasedJobLock(InMemoryLock(clock))
    held = lock.try_acquire("carts.cleanup", HOUR)
    assert held is not None
    assert lock.try_acquire("carts.cleanup", HOUR) is None
    clock.advance(HOUR)
    assert lock.try_acquire("carts.cleanup", HOUR) is not None
