"""``carts.cleanup`` over 200,000 expired carts on PostgreSQL: in batches, in bounded memory."""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Iterator

import pytest
from sqlalchemy import URL, Engine, text

from checkout_adapters.bootstrap import Served, served
from checkout_adapters.jobs import BATCH_SIZE, JOBS, Outcome
from checkout_adapters.jobs.settings import JobSettings
from checkout_adapters.jobs.wiring import job_runner
from checkout_adapters.settings import ServerSettings
from checkout_adapters.system import SystemClock

STALE = 120_000
"""Active carts whose day ran out two days ago: marked expired."""
OLD = 80_000
"""Carts expired 40 days ago, past the 30 days' retention: deleted."""

_SEED = text(
    """
    INSERT INTO carts (token, lines, sale_slug, analytics, owner_id, coupon_code,
                       created_at, expires_at, status)
    SELECT 'cart_' || lpad(g::text, 7, '0'), '[]', NULL, '[]', NULL, NULL,
           now() - make_interval(days => CASE WHEN g <= :stale THEN 3 ELSE 41 END),
           now() - make_interval(days => CASE WHEN g <= :stale THEN 2 ELSE 40 END),
           CASE WHEN g <= :stale THEN 'active' ELSE 'expired' END
    FROM generate_series(1, :total) AS g
    """
)


@pytest.fixture
def server(postgres_engine: Engine, postgres_url: URL) -> Iterator[Served]:
    with postgres_engine.begin() as connection:
        connection.execute(_SEED, {"stale": STALE, "total": STALE + OLD})
    settings = ServerSettings(database_url=postgres_url.render_as_string(hide_password=False))
    with served(settings) as server:
        yield server


def test_the_cleanup_of_200_000_carts_goes_in_batches_in_bounded_memory(server: Served) -> None:
    runner = job_runner(server, ServerSettings(), JobSettings(), SystemClock())
    batches: list[int] = []
    tracemalloc.start()
    try:
        run = runner.run(JOBS["carts.cleanup"], on_progress=batches.append)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert run.outcome is Outcome.OK, run.error
    assert run.report is not None
    assert run.report.figures["expired"] == STALE
    assert run.report.figures["deleted"] == OLD
    assert run.items == STALE + OLD
    assert max(batches) == BATCH_SIZE
    assert len(batches) >= (STALE + OLD) // BATCH_SIZE
    # Holding every cart's token alone would take this much; a batch holds none of them.
    tokens = sum(sys.getsizeof(f"cart_{n:07d}") for n in range(STALE + OLD))
    assert peak < 4 * 1024 * 1024 < tokens / 2, (peak, tokens)
    with server.engine.connect() as connection:
        left: dict[str, int] = dict(
            connection.execute(text("SELECT status, count(*) FROM carts GROUP BY status")).all()
        )
    assert left == {"expired": STALE}
