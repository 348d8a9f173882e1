"""Many processes migrating one database at once, as replicas started together do."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import URL, Connection, Engine, event, inspect, text

from checkout_adapters.sqlalchemy import downgrade, make_engine, metadata, upgrade
from checkout_adapters.sqlalchemy.advisory import session_advisory_lock
from checkout_adapters.sqlalchemy.migrations.migrate import MIGRATION_LOCK, alembic_config
from tests.integration.process_race import race_processes
from tests.integration.sql_support import ScratchDatabase, sqlite_url

REPOSITORY = Path(__file__).resolve().parents[2]
PROCESSES = 8
TABLES = {table.name for table in metadata.sorted_tables}
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
WAITING_SECONDS = 1.0
"""How long a migration is watched waiting for the lock before the lock is given back."""


def upgrade_in_process(url: str) -> str:
    upgrade(url)
    return "upgraded"


def _versions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(text("SELECT version_num FROM alembic_version")))


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _advisory_locks(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_locks JOIN pg_database ON pg_database.oid = database "
                    "WHERE locktype = 'advisory' AND datname = current_database()"
                )
            ).scalar_one()
        )


def _assert_migrated_once(url: str | URL) -> None:
    engine = make_engine(url)
    try:
        assert _versions(engine) == [HEAD]
        assert _tables(engine) == TABLES
    finally:
        engine.dispose()


def test_processes_upgrading_one_fresh_postgres_database_at_once_all_succeed(
    scratch_postgres: ScratchDatabase,
) -> None:
    with scratch_postgres() as url:
        rendered = url.render_as_string(hide_password=False)

        raced = race_processes(upgrade_in_process, [(rendered,)] * PROCESSES)

        assert raced.escaped == []
        assert raced.answers == ["upgraded"] * PROCESSES
        assert raced.exit_codes == [0] * PROCESSES
        _assert_migrated_once(url)


def test_processes_upgrading_one_fresh_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "checkout.db")

    raced = race_processes(upgrade_in_process, [(url,)] * PROCESSES)

    assert raced.escaped == []
    assert raced.answers == ["upgraded"] * PROCESSES
    _assert_migrated_once(url)


def test_an_upgrade_waits_for_the_migration_lock_then_finds_what_is_left_to_do(
    scratch_postgres: ScratchDatabase,
) -> None:
    with scratch_postgres() as url:
        engine = make_engine(url)
        try:
            with engine.connect() as holder, session_advisory_lock(holder, MIGRATION_LOCK):
                upgrading = threading.Thread(target=upgrade, args=(url,), daemon=True)
                upgrading.start()
                time.sleep(WAITING_SECONDS)
                waited = upgrading.is_alive()
                tables_while_waiting = _tables(engine)
            upgrading.join(60)
            assert waited
            assert tables_while_waiting == set()
            assert not upgrading.is_alive()
            assert _versions(engine) == [HEAD]
            assert _advisory_locks(engine) == 0
        finally:
            engine.dispose()


def test_alembic_upgrade_head_from_a_shell_takes_its_turn_too(
    scratch_postgres: ScratchDatabase,
) -> None:
    with scratch_postgres() as url:
        engine = make_engine(url)
        rendered = url.render_as_string(hide_password=False)
        environment = {**os.environ, "CHECKOUT_DATABASE_URL": rendered}
        try:
            with engine.connect() as holder, session_advisory_lock(holder, MIGRATION_LOCK):
                upgrading = subprocess.Popen(
                    [sys.executable, "-m", "alembic", "upgrade", "head"],
                    cwd=REPOSITORY,
                    env=environment,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                time.sleep(WAITING_SECONDS + 2)  # an interpreter's start, then the wait
                waited = upgrading.poll() is None
                tables_while_waiting = _tables(engine)
            output, _ = upgrading.communicate(timeout=120)
            assert waited, output
            assert tables_while_waiting == set()
            assert upgrading.returncode == 0, output
            assert _versions(engine) == [HEAD]
        finally:
            engine.dispose()


def test_a_downgrade_takes_its_turn_as_an_upgrade_does(
    scratch_postgres: ScratchDatabase,
) -> None:
    with scratch_postgres() as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            with engine.connect() as holder, session_advisory_lock(holder, MIGRATION_LOCK):
                going_down = threading.Thread(target=downgrade, args=(url, "base"), daemon=True)
                going_down.start()
                time.sleep(WAITING_SECONDS)
                waited = going_down.is_alive()
                tables_while_waiting = _tables(engine)
            going_down.join(60)
            assert waited
            assert tables_while_waiting == TABLES
            assert _tables(engine) == set()
        finally:
            engine.dispose()


def test_the_migration_lock_is_given_back_after_an_upgrade_on_a_borrowed_engine_and_a_failed_one(
    scratch_postgres: ScratchDatabase,
) -> None:
    with scratch_postgres() as url:
        engine = make_engine(url, pool_size=1, max_overflow=0)
        try:
            upgrade(engine)
            after_upgrading = _advisory_locks(engine)
            with pytest.raises(CommandError):
                upgrade(engine, "no_such_revision")
            after_failing = _advisory_locks(engine)
            assert (after_upgrading, after_failing) == (0, 0)
            assert _versions(engine) == [HEAD]
        finally:
            engine.dispose()


def test_a_sqlite_upgrade_from_nothing_to_head_is_one_transaction(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "checkout.db"))
    transactions: list[str] = []

    @event.listens_for(engine, "begin")
    def _began(_connection: Connection) -> None:
        transactions.append("begin")

    @event.listens_for(engine, "commit")
    def _committed(_connection: Connection) -> None:
        transactions.append("commit")

    try:
        upgrade(engine)
        assert _versions(engine) == [HEAD]
    finally:
        engine.dispose()
    # The migrations' own, then the read of the version above.
    assert transactions[:2] == ["begin", "commit"]
    assert transactions.count("commit") == 1
