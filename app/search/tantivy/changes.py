"""Reading the search change log, on SQLite and on PostgreSQL.

SQLite (migrations 0004, 0006): one writer at a time, so sequence numbers are commit order;
the watermark is the last sequence number applied, and applied rows are pruned (one index
per database file).

PostgreSQL (migration 0013): transactions commit out of sequence order, so the watermark is
a transaction boundary: every change of a transaction below it is applied. A reader takes
the rows of transactions below the oldest one still running (pg_snapshot_xmin), all
finished. Any number of nodes read the log, each with its own watermark in its own index
folder, so the log is pruned by age by the writers (never by what one node applied), and
`search_change_horizon` says below which boundary rows may be gone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from threading import Lock

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

log = logging.getLogger("newsdesk.search")


@dataclass(frozen=True)
class Backlog:
    """What the database logged that an index at some watermark lacks."""

    changes: int  # changes logged past the watermark (some may not be applicable yet)
    seconds: float | None  # age of the oldest of them; None where the log keeps no time
    stranded: bool  # rows past the watermark were pruned: only a rebuild catches up

    def within(self, max_lag_seconds: float) -> bool:
        """An index this far behind may answer (SQLite's must hold every change)."""
        if self.stranded:
            return False
        if self.changes == 0:
            return True
        return self.seconds is not None and self.seconds <= max_lag_seconds


def is_sqlite(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


def database_head(connection: Connection) -> int:
    """The watermark a sync reaching this moment gets: SQLite's newest change number, or on
    PostgreSQL the oldest transaction still running (every change below it is final)."""
    if is_sqlite(connection):
        return int(connection.execute(_SQLITE_HEAD).scalar() or 0)
    return int(connection.execute(_POSTGRES_HEAD).scalar_one())


# Read on every search request (is the index current?): built once.
_SQLITE_HEAD = text("SELECT seq FROM sqlite_sequence WHERE name = 'search_change'")
_POSTGRES_HEAD = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


def archive_generation(connection: Connection) -> tuple[int, ...]:
    """A value that differs as soon as the connection sees an article changed, added or
    deleted (a change logged), and only then: answers about the whole archive can be kept
    until it does.

    SQLite: the newest change number (AUTOINCREMENT never reuses one). PostgreSQL:
    FINAL_CHANGES.generation, the number of changes the snapshot sees.
    """
    if is_sqlite(connection):
        return (database_head(connection),)
    return FINAL_CHANGES.generation(connection)


class FinalChanges:
    """PostgreSQL's archive generation: (the database, the pruning horizon, how many logged
    changes the connection's snapshot sees).

    Rows are only added to the log, and removed only by a prune, which moves the horizon in
    the same transaction; so a snapshot that sees more of the archive sees more rows, or a
    later horizon. A transaction committing a lower xid after a higher one was seen adds
    to the count like any other. The count is a function of what the snapshot sees alone:
    unlike the boundary where finished transactions end (the oldest transaction running
    anywhere on the server, other databases' included), it does not move under traffic
    that changed nothing here.

    Counting a day's log at every request would cost what the kept answers save, so the
    rows of the transactions below a boundary (all finished: the count there never changes
    until a prune) are counted once per process, and each later request counts only the
    rows logged since, from that boundary on.
    """

    def __init__(self) -> None:
        # URL -> (database oid, horizon, boundary, rows below the boundary)
        self._below: dict[str, tuple[int, int, int, int]] = {}
        self._lock = Lock()

    def generation(self, connection: Connection) -> tuple[int, ...]:
        url = connection.engine.url.render_as_string(hide_password=True)
        with self._lock:
            known = self._below.get(url, (0, -1, 0, 0))
        row = connection.execute(
            _POSTGRES_COUNTS, {"database": known[0], "horizon": known[1], "known": known[2]}
        ).one()
        database, horizon, boundary, counted, later = (int(value) for value in row)
        # Counted from the known boundary in the same database and horizon, else from the
        # start (a database made anew under the same name, or a prune since).
        below = counted + (known[3] if (database, horizon) == known[:2] else 0)
        with self._lock:
            current = self._below.get(url, known)
            if current[0] != database or current[1:3] < (horizon, boundary):
                self._below[url] = (database, horizon, boundary, below)
        return (database, horizon, below + later)


FINAL_CHANGES = FinalChanges()
# One statement, so one snapshot: the database, the horizon; the boundary below which
# every transaction has finished (the snapshot's xmin, or a boundary an earlier snapshot
# had passed, if later); the rows below it from the known boundary on (from the start in
# another database or horizon); the rows of later transactions the snapshot sees.
_POSTGRES_COUNTS = text(
    "WITH d AS (SELECT oid::bigint AS oid FROM pg_database WHERE datname = current_database()), "
    "h AS (SELECT d.oid, pruned_below, CASE WHEN d.oid = :database AND pruned_below = :horizon "
    "  THEN CAST(:known AS bigint) ELSE 0 END AS known FROM search_change_horizon, d), "
    "b AS (SELECT h.*, "
    "  greatest(pg_snapshot_xmin(pg_current_snapshot())::text::bigint, h.known) AS xid FROM h) "
    "SELECT b.oid, b.pruned_below, b.xid, "
    "(SELECT count(*) FROM search_change c WHERE c.xid >= b.known AND c.xid < b.xid), "
    "(SELECT count(*) FROM search_change c WHERE c.xid >= b.xid) "
    "FROM b"
)


def changed_articles(connection: Connection, after: int, through: int) -> list[int]:
    """The articles changed past watermark `after`, up to watermark `through`: one range read
    of the log's index."""
    if is_sqlite(connection):
        where = "seq > :after AND seq <= :through"
    else:
        where = "xid >= :after AND xid < :through"
    return list(
        connection.execute(
            text(f"SELECT DISTINCT article_id FROM search_change WHERE {where} ORDER BY 1"),
            {"after": after, "through": through},
        ).scalars()
    )


def backlog(connection: Connection, watermark: int) -> Backlog:
    """How far an index at `watermark` is behind the database the connection reads."""
    if is_sqlite(connection):
        return Backlog(max(database_head(connection) - watermark, 0), None, False)
    row = connection.execute(
        text(
            "SELECT h.pruned_below, b.changes, "
            "extract(epoch FROM clock_timestamp() - b.oldest)::float8 "
            "FROM search_change_horizon h, "
            "(SELECT count(*) AS changes, min(changed_at) AS oldest "
            "FROM search_change WHERE xid >= :watermark) b"
        ),
        {"watermark": watermark},
    ).one()
    pruned_below, changes, seconds = row
    return Backlog(int(changes), max(float(seconds or 0.0), 0.0), watermark < int(pruned_below))


def prune_applied(engine: Engine, through: int) -> None:
    """SQLite: forget the changes the (only) index holds; a busy database keeps them."""
    try:
        with engine.begin() as connection:
            connection.execute(
                text("DELETE FROM search_change WHERE seq <= :through"), {"through": through}
            )
    except OperationalError as error:
        log.warning("search_change_not_pruned", extra={"error": str(error)})


def prune_older_than(engine: Engine, keep_seconds: float) -> int:
    """PostgreSQL: forget the changes older than keep_seconds (whole transactions), moving
    the horizon past them; the number of rows removed.

    Only below the oldest transaction still running (the boundary a node's sync reaches):
    a node that rebuilds sets its watermark there, so a horizon pruned past it would find
    the rebuilt index stranded at once, and rebuild again for as long as an old
    transaction stays open."""
    with engine.begin() as connection:
        removed = connection.execute(
            text(
                "WITH boundary AS (SELECT max(xid) AS xid FROM search_change "
                "  WHERE changed_at < clock_timestamp() - make_interval(secs => :keep) "
                "  AND xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint), "
                "gone AS (DELETE FROM search_change WHERE xid <= (SELECT xid FROM boundary) "
                "  RETURNING xid) "
                "UPDATE search_change_horizon SET pruned_below = "
                "  greatest(pruned_below, (SELECT max(xid) + 1 FROM gone)) "
                "WHERE EXISTS (SELECT 1 FROM gone) RETURNING (SELECT count(*) FROM gone)"
            ),
            {"keep": keep_seconds},
        ).scalar()
    return int(removed or 0)
