"""A time limit on the database work of one request, so a slow query can't hold a worker.

SQLite: a progress handler on the request's connection aborts whatever statement is running
once the deadline passes (sqlite3 raises OperationalError "interrupted"). PostgreSQL:
`SET LOCAL statement_timeout` for the request's transaction (the server cancels a statement
that runs longer; psycopg raises QueryCanceled, SQLSTATE 57014).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

# How many SQLite virtual-machine steps run between two looks at the clock: often enough to
# stop within a millisecond or so, rare enough to cost nothing measurable.
_SQLITE_CHECK_EVERY = 1_000
_POSTGRES_QUERY_CANCELED = "57014"


@contextmanager
def query_time_limit(session: Session, milliseconds: int) -> Iterator[None]:
    """Abort the session's statements once `milliseconds` have passed (0: no limit)."""
    if milliseconds <= 0:
        yield
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(milliseconds)}")
        yield
        return
    raw = connection.connection.driver_connection
    if raw is None or not hasattr(raw, "set_progress_handler"):
        yield
        return
    raw.set_progress_handler(_past(time.monotonic() + milliseconds / 1000), _SQLITE_CHECK_EVERY)
    try:
        yield
    finally:
        raw.set_progress_handler(None, _SQLITE_CHECK_EVERY)


def _past(deadline: float) -> Callable[[], int]:
    """A progress handler: non-zero (abort) once the clock passes `deadline`."""
    return lambda: int(time.monotonic() > deadline)


def is_time_limit_error(error: BaseException) -> bool:
    """Whether a database error is the time limit stopping a statement."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) == _POSTGRES_QUERY_CANCELED:
        return True
    return type(original).__name__ == "OperationalError" and str(original) == "interrupted"
