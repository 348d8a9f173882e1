from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from sqlalchemy import Connection, Engine, text

from checkout_adapters.jobs.locks import advisory_key as job_key
from checkout_adapters.sqlalchemy.advisory import (
    advisory_key,
    session_advisory_lock,
    transaction_advisory_lock,
)

TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)")
UNLOCK = text("SELECT pg_advisory_unlock(:key)")
PRINT_THE_MIGRATION_KEY = (
    "from checkout_adapters.sqlalchemy.advisory import advisory_key;"
    "print(advisory_key('checkout.schema:migrate'))"
)


def _name() -> str:
    return f"test.advisory:{uuid.uuid4().hex}"


def _free(engine: Engine, name: str) -> bool:
    """Whether another session could take the lock ``name`` now (it is given back at once)."""
    key = advisory_key(name)
    with engine.connect() as other:
        taken = bool(other.execute(TRY_LOCK, {"key": key}).scalar_one())
        if taken:
            other.execute(UNLOCK, {"key": key})
        other.commit()
    return taken


def _advisory_locks_held(connection: Connection) -> int:
    return int(
        connection.execute(
            text(
                "SELECT count(*) FROM pg_locks "
                "WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
            )
        ).scalar_one()
    )


def test_a_name_has_the_same_key_in_every_process() -> None:
    other = subprocess.run(  # noqa: S603 - this interpreter, a fixed program
        [sys.executable, "-c", PRINT_THE_MIGRATION_KEY],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert int(other.stdout) == advisory_key("checkout.schema:migrate")
    assert -(2**63) <= advisory_key("checkout.schema:migrate") < 2**63
    assert advisory_key("checkout.schema:migrate") != advisory_key("checkout.catalog:seed")


def test_the_jobs_lock_keys_are_the_keys_of_their_prefixed_names() -> None:
    assert job_key("carts.cleanup") == advisory_key("checkout.job:carts.cleanup")


def test_a_session_lock_is_held_across_the_transactions_of_its_block_and_given_back_after(
    postgres_engine: Engine,
) -> None:
    name = _name()
    with postgres_engine.connect() as connection:
        with session_advisory_lock(connection, name):
            assert not connection.in_transaction()
            connection.execute(text("SELECT 1"))
            connection.commit()
            held_after_a_commit = not _free(postgres_engine, name)
        assert not connection.in_transaction()
        assert _advisory_locks_held(connection) == 0
    assert held_after_a_commit
    assert _free(postgres_engine, name)


def _fail_holding(connection: Connection, name: str) -> None:
    with session_advisory_lock(connection, name):
        connection.execute(text("CREATE TABLE advisory_scratch (id integer)"))
        raise RuntimeError("the block failed")


def test_a_session_lock_is_given_back_when_its_block_raises_and_its_work_rolled_back(
    postgres_engine: Engine,
) -> None:
    name = _name()
    with postgres_engine.connect() as connection:
        with pytest.raises(RuntimeError, match="the block failed"):
            _fail_holding(connection, name)
        assert not connection.in_transaction()
        tables = connection.execute(text("SELECT to_regclass('advisory_scratch')")).scalar_one()
        connection.commit()
    assert tables is None
    assert _free(postgres_engine, name)


def test_a_session_lock_is_not_taken_inside_a_transaction(postgres_engine: Engine) -> None:
    name = _name()
    with postgres_engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        with (
            pytest.raises(ValueError, match="outside a transaction"),
            session_advisory_lock(connection, name),
        ):
            pass
    assert _free(postgres_engine, name)


def test_a_transaction_lock_is_held_until_its_transaction_ends(postgres_engine: Engine) -> None:
    name = _name()
    with postgres_engine.connect() as connection:
        transaction_advisory_lock(connection, name)
        held = not _free(postgres_engine, name)
        connection.rollback()
        after_rollback = _free(postgres_engine, name)
    assert held
    assert after_rollback
