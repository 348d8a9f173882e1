"""Which database errors may pass with a second try, as the core's :class:`TransientFault`.

A unit of work turns them into :class:`~checkout_core.faults.TransientFault`
once its transaction is rolled back, and the service seam runs the use case
again. They are:

* a connection the pool or the server lost (SQLAlchemy's disconnect
  detection: the server closed it, ``pg_terminate_backend``, a network cut):
  the pool throws such connections away, and the next one is new;
* on PostgreSQL, a connection that could not be opened (the server is
  restarting, or unreachable for a moment), and the server's own "try
  again" answers: connection errors (SQLSTATE class ``08``), a server
  shutting down or starting (``57P01``-``57P03``), a serialization failure
  (``40001``) and a deadlock victim (``40P01``).

Everything else (a constraint refused, a statement timing out, SQLite's
"database is locked" after its busy timeout) is not transient: trying
again at once would fail the same way, or cost another wait.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.exc import DBAPIError, OperationalError

__all__ = ["is_transient"]

_TRY_AGAIN: Final = frozenset({"40001", "40P01", "57P01", "57P02", "57P03"})
_CONNECTION_CLASS: Final = "08"


def is_transient(error: BaseException, dialect: str) -> bool:
    """Whether ``error``, raised on a database of ``dialect``, may pass if tried again at once."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if dialect != "postgresql":
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate is None:
        # psycopg gives no SQLSTATE when it could not reach the server at all.
        return isinstance(error, OperationalError)
    return sqlstate.startswith(_CONNECTION_CLASS) or sqlstate in _TRY_AGAIN
