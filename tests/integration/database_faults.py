"""A database connection killed by the server in the middle of a transaction, on cue.

:class:`ConnectionKiller` watches an engine's statements; when one matches,
it has PostgreSQL end the backend of the connection about to run it
(``pg_terminate_backend``, from a connection of its own) and waits until the
backend is gone, so the statement meets a dead connection: the fault of a
server that was restarted, a failover, or a proxy cutting connections. The
server itself keeps running for everyone else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Self

from sqlalchemy import URL, Connection, Engine, event, text
from sqlalchemy.pool import NullPool

from checkout_adapters.sqlalchemy import make_engine

__all__ = ["ConnectionKiller", "statement_starting"]

_TERMINATE = text("SELECT pg_terminate_backend(:pid, 5000)")


def statement_starting(*prefixes: str) -> Callable[[str], bool]:
    """Matches a statement whose SQL begins with one of ``prefixes`` (case and spaces aside)."""
    wanted = tuple(prefix.upper() for prefix in prefixes)
    return lambda statement: " ".join(statement.split()).upper().startswith(wanted)


class ConnectionKiller:
    """Kills the connection of ``engine`` about to run a statement ``matches`` accepts.

    It passes over the first ``skip`` matching statements, then kills the
    connections of the next ``times``; :attr:`killed` counts them. Use it as
    a context manager: the watch on the engine ends with the block.
    """

    def __init__(
        self,
        engine: Engine,
        admin_url: URL,
        matches: Callable[[str], bool],
        *,
        times: int = 1,
        skip: int = 0,
    ) -> None:
        self._engine = engine
        self._admin = make_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self._matches = matches
        self._skip = skip
        self._left = times
        self._mutex = threading.Lock()
        self.killed = 0

    def __enter__(self) -> Self:
        event.listen(self._engine, "before_cursor_execute", self._before)
        return self

    def __exit__(self, *exc_info: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._before)
        self._admin.dispose()

    def _before(
        self,
        connection: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: Any,
        executemany: bool,  # noqa: FBT001 - SQLAlchemy's event signature
    ) -> None:
        del cursor, parameters, context, executemany
        if not self._matches(statement):
            return
        with self._mutex:
            if self._skip:
                self._skip -= 1
                return
            if not self._left:
                return
            self._left -= 1
            self.killed += 1
        dbapi = connection.connection.dbapi_connection
        assert dbapi is not None
        pid = dbapi.info.backend_pid
        with self._admin.connect() as admin:
            assert admin.execute(_TERMINATE, {"pid": pid}).scalar_one()
