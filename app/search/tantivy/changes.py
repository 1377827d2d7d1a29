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
    deleted (a change logged): answers about the whole archive can be kept until it does.

    SQLite: the newest change number (AUTOINCREMENT never reuses one). PostgreSQL, where
    transactions commit out of order (module docstring): the pruning horizon, the newest
    change of the transactions below the oldest one running, and how many changes of later
    transactions this snapshot sees. A transaction that commits was running before, so its
    changes either raise the newest one below the boundary or add to that count.
    """
    if is_sqlite(connection):
        return (database_head(connection),)
    row = connection.execute(
        text(
            "WITH b AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin) "
            "SELECT h.pruned_below, "
            "(SELECT max(xid) FROM search_change, b WHERE xid < b.xmin), "
            "(SELECT count(*) FROM search_change, b WHERE xid >= b.xmin) "
            "FROM search_change_horizon h"
        )
    ).one()
    pruned_below, newest_final, later = row
    return (int(pruned_below), int(newest_final or 0), int(later))


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
