from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Engine, insert, inspect, select

from checkout_adapters.sqlalchemy import downgrade, make_engine, metadata, upgrade
from checkout_adapters.sqlalchemy.migrations.migrate import alembic_config
from checkout_adapters.sqlalchemy.serialization import dump_event
from checkout_adapters.sqlalchemy.tables import DeliveryStatus, outbox, outbox_deliveries
from checkout_core.domain.events import DomainEvent
from tests.contract.queue import make_event
from tests.contract.unit_of_work import NOW
from tests.integration.sql_support import ScratchDatabase, sqlite_url

REPOSITORY = Path(__file__).resolve().parents[2]
TABLES = {table.name for table in metadata.sorted_tables}


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _round_trip(url: str | URL) -> None:
    upgrade(url)
    upgrade(url)
    engine = make_engine(url)
    try:
        assert _tables(engine) == TABLES
        downgrade(url, "base")
        assert _tables(engine) == set()
        upgrade(url)
        assert _tables(engine) == TABLES
        assert _differences(engine) == []
    finally:
        engine.dispose()


def test_the_migrated_sqlite_schema_is_the_schema_of_the_tables_module(
    sqlite_engine: Engine,
) -> None:
    assert _tables(sqlite_engine) == TABLES
    assert _differences(sqlite_engine) == []


def test_the_migrated_postgres_schema_is_the_schema_of_the_tables_module(
    postgres_engine: Engine,
) -> None:
    assert _tables(postgres_engine) == TABLES
    assert _differences(postgres_engine) == []


def test_sqlite_migrates_up_again_after_migrating_down_to_nothing(tmp_path: Path) -> None:
    _round_trip(sqlite_url(tmp_path / "checkout.db"))


def test_postgres_migrates_up_again_after_migrating_down_to_nothing(
    scratch_postgres: ScratchDatabase,
) -> None:
    with scratch_postgres() as url:
        _round_trip(url)


def _write_outbox_as_of_0002(engine: Engine, events: list[DomainEvent]) -> None:
    """Rows as the adapters wrote them before 0003: no order token; one delivered to a group."""
    with engine.begin() as connection:
        connection.execute(
            insert(outbox),
            [
                {
                    "event_id": event.event_id,
                    "name": event.name,
                    "payload": dump_event(event),
                    "occurred_at": event.occurred_at,
                }
                for event in events
            ],
        )
        connection.execute(
            insert(outbox_deliveries).values(
                group_name="enrollment",
                outbox_id=1,
                attempts=1,
                status=DeliveryStatus.DONE.value,
                due_at=NOW,
            )
        )


def _order_tokens(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as connection:
        rows = connection.execute(select(outbox.c.event_id, outbox.c.order_token)).all()
    return {row.event_id: row.order_token for row in rows}


def _outbox_shape(engine: Engine) -> tuple[set[str], set[str | None]]:
    inspector = inspect(engine)
    columns = {column["name"] for column in inspector.get_columns("outbox")}
    return columns, {index["name"] for index in inspector.get_indexes("outbox")}


def _backfill_round_trip(url: str | URL) -> None:
    upgrade(url, "0002")
    engine = make_engine(url)
    try:
        _write_outbox_as_of_0002(engine, [make_event(1), make_event(2)])

        upgrade(url)

        assert _order_tokens(engine) == {"evt_1": "ord_1", "evt_2": "ord_2"}
        columns, indexes = _outbox_shape(engine)
        assert "order_token" in columns
        assert "ix_outbox_order_token" in indexes
        downgrade(url, "0002")
        columns, indexes = _outbox_shape(engine)
        assert "order_token" not in columns
        assert "ix_outbox_order_token" not in indexes
        with engine.connect() as connection:
            assert connection.scalars(select(outbox.c.event_id)).all() == ["evt_1", "evt_2"]
            # Dropping the column must not rebuild the table: that would cascade to the deliveries.
            assert connection.scalars(select(outbox_deliveries.c.outbox_id)).all() == [1]
    finally:
        engine.dispose()


def test_0003_fills_the_order_token_of_sqlite_outbox_rows_written_before_it(
    tmp_path: Path,
) -> None:
    _backfill_round_trip(sqlite_url(tmp_path / "checkout.db"))


def test_0003_fills_the_order_token_of_postgres_outbox_rows_written_before_it(
    scratch_postgres: ScratchDatabase,
) -> None:
    with scratch_postgres() as url:
        _backfill_round_trip(url)


def test_migrations_run_on_an_engine_handed_over_by_the_host(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "checkout.db"))
    try:
        upgrade(engine)
        assert _tables(engine) == TABLES
        downgrade(engine, "base")
        assert _tables(engine) == set()
    finally:
        engine.dispose()


def _alembic(*arguments: str, url: str | None) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items() if key != "CHECKOUT_DATABASE_URL"
    }
    if url is not None:
        environment["CHECKOUT_DATABASE_URL"] = url
    return subprocess.run(  # noqa: S603 - the interpreter running the tests, fixed arguments
        [sys.executable, "-m", "alembic", *arguments],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_alembic_upgrade_head_from_a_clone_migrates_the_database_of_the_environment(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path / "cli.db")

    upgraded = _alembic("upgrade", "head", url=url)
    current = _alembic("current", url=url)

    assert upgraded.returncode == 0, upgraded.stderr
    assert "0003 (head)" in current.stdout
    engine = make_engine(url)
    try:
        assert _tables(engine) == TABLES
    finally:
        engine.dispose()


def test_alembic_without_a_database_url_says_which_variable_to_set() -> None:
    result = _alembic("upgrade", "head", url=None)

    assert result.returncode != 0
    assert "CHECKOUT_DATABASE_URL" in result.stderr


def test_the_migration_history_is_one_line_from_nothing_to_head() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())

    assert scripts.get_heads() == ["0003"]
    assert [script.revision for script in scripts.walk_revisions()] == ["0003", "0002", "0001"]
