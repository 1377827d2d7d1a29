"""A time limit on the database work of one request, so a slow query can't hold a worker.

SQLite: a progress handler on the request's connection aborts whatever statement is running
once the deadline passes, and a watchdog thread (one per process) calls sqlite3_interrupt()
at the deadline for the work between two virtual-machine steps (sqlite3 raises
OperationalError "interrupted").
PostgreSQL: `SET LOCAL statement_timeout` for the request's transaction (the server cancels
a statement that runs longer; psycopg raises QueryCanceled, SQLSTATE 57014).

Work inside one step of SQLite's full-text engine (FTS5 expanding a prefix, scoring a
snippet) and inside tantivy can not be interrupted: that work is bounded before it starts
(words and prefixes per query, the text a snippet is chosen from).

`stop()` on what query_time_limit yields ends the statement running now, from any thread:
the request's client went away.

Tests make the limit's effect deterministic with `expired` (settings.fault_expired_query_deadline):
on SQLite the deadline has passed before the first statement, so the progress handler stops
the first statement that runs past one check; a test no longer relies on a query taking
longer than a millisecond. PostgreSQL's statement_timeout can not start out expired.
"""

from __future__ import annotations

import heapq
import itertools
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

# How many SQLite virtual-machine steps run between two looks at the clock: often enough to
# stop within a millisecond or so, rare enough to cost nothing measurable.
_SQLITE_CHECK_EVERY = 1_000
_POSTGRES_QUERY_CANCELED = "57014"


class Interrupter:
    """Stops the statement running on one connection, from any thread, while armed."""

    def __init__(self, stop: Callable[[], None] | None) -> None:
        self._stop = stop
        self._lock = threading.Lock()

    def stop(self) -> None:
        with self._lock:
            if self._stop is not None:
                self._stop()

    def disarm(self) -> None:
        """From now on stop() does nothing: the connection goes back to the pool."""
        with self._lock:
            self._stop = None


class Watchdog:
    """One thread per process that stops statements at their deadline: a threading.Timer
    per request started and joined a thread for every request (a large share of a fast
    request's own cost). A finished request's Interrupter is disarmed, so its deadline,
    when it comes, stops nothing."""

    def __init__(self) -> None:
        self._wake = threading.Condition()
        self._due: list[tuple[float, int, Interrupter]] = []
        self._order = itertools.count()
        self._owner: int | None = None  # the process whose thread runs (a fork has none)

    def watch(self, seconds: float, interrupter: Interrupter) -> None:
        """Call interrupter.stop() `seconds` from now (a no-op once it is disarmed)."""
        entry = (time.monotonic() + seconds, next(self._order), interrupter)
        with self._wake:
            if self._owner != os.getpid():
                self._owner, self._due = os.getpid(), []
                threading.Thread(target=self._run, name="query-deadlines", daemon=True).start()
            heapq.heappush(self._due, entry)
            if self._due[0] is entry:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                now = time.monotonic()
                due = []
                while self._due and self._due[0][0] <= now:
                    due.append(heapq.heappop(self._due)[2])
                if not due:
                    self._wake.wait(self._due[0][0] - now if self._due else None)
                    continue
            for interrupter in due:
                interrupter.stop()


_watchdog = Watchdog()


class TimeLimit:
    """A time limit of `milliseconds` (0: none) on the transactions it is armed on.

    arm() starts it on a connection as a transaction begins there; end() disarms every
    connection it was armed on. `on_arm` is told each Interrupter (the request's client
    watch registers stopping it). `expired` (SQLite, tests only): see the module docstring.
    """

    def __init__(
        self,
        milliseconds: int,
        *,
        expired: bool = False,
        on_arm: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        self.milliseconds = milliseconds
        self.expired = expired
        self.on_arm = on_arm
        self._armed: list[tuple[Interrupter, Any]] = []

    def arm(self, connection: Connection) -> Interrupter:
        """Limit the transaction beginning on `connection` (its deadline starts now)."""
        # The driver's own connection (sqlite3 or psycopg): probed for what it can do below.
        raw: Any = connection.connection.driver_connection
        interrupter = Interrupter(_stopper(connection.dialect.name, raw))
        handler_on = None
        milliseconds = self.milliseconds
        if milliseconds > 0 and connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(milliseconds)}")
        elif milliseconds > 0 and hasattr(raw, "set_progress_handler"):
            deadline = -math.inf if self.expired else time.monotonic() + milliseconds / 1000
            raw.set_progress_handler(_past(deadline), _SQLITE_CHECK_EVERY)
            handler_on = raw
            # Expired, the handler alone decides which statement stops: an interrupt now
            # would stop whichever statement happens to be running.
            if not self.expired:
                _watchdog.watch(milliseconds / 1000, interrupter)
        self._armed.append((interrupter, handler_on))
        if self.on_arm is not None:
            self.on_arm(interrupter.stop)
        return interrupter

    def each_transaction_of(self, session: Session) -> None:
        """Arm on every transaction `session` begins from now on, when it begins: making
        the session limited costs no I/O (a request's session is made on the event loop)."""
        session.info[_SESSION_LIMIT] = self

    def end(self) -> None:
        """Stop limiting: nothing armed is stopped from now on, and SQLite's connections lose
        their progress handler before they go back to the pool."""
        armed, self._armed = self._armed, []
        for interrupter, handler_on in armed:
            interrupter.disarm()
            if handler_on is not None:
                handler_on.set_progress_handler(None, _SQLITE_CHECK_EVERY)


# The session.info key of the TimeLimit armed on each of the session's transactions.
_SESSION_LIMIT = "newsdesk.time_limit"


@event.listens_for(Session, "after_begin")
def _arm_session_limit(session: Session, _transaction: Any, connection: Connection) -> None:
    limit = session.info.get(_SESSION_LIMIT)
    if isinstance(limit, TimeLimit):
        limit.arm(connection)


@contextmanager
def query_time_limit(
    session: Session, milliseconds: int, *, expired: bool = False
) -> Iterator[Interrupter]:
    """Abort the session's statements once `milliseconds` have passed (0: no limit), from
    now (the session's transaction begins here if it hasn't).

    `expired` (SQLite, tests only) starts with the deadline passed: see the module docstring.
    """
    limit = TimeLimit(milliseconds, expired=expired)
    try:
        yield limit.arm(session.connection())
    finally:
        limit.end()


def _stopper(dialect: str, raw: Any) -> Callable[[], None] | None:
    """How to stop the statement running on a DB-API connection from another thread."""
    stop: Callable[[], None] | None = None
    if dialect == "sqlite" and hasattr(raw, "interrupt"):
        stop = raw.interrupt
    elif dialect == "postgresql" and hasattr(raw, "cancel"):
        stop = raw.cancel
    return stop


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
