"""Waking an API node's catch-up as soon as a write commits: LISTEN/NOTIFY on PostgreSQL.

Migration 0015's triggers notify the channel `newsdesk_search_change` once per writing
transaction, at its commit. A node reading the primary LISTENs on a connection of its own
(psycopg's `notifies()` with a timeout), so its catch-up (catchup.py) wakes at once instead
of at the next poll. Polling stays: a hot standby can't LISTEN (the node just polls it); a
lost connection is opened again at once, and while that fails the node polls and tries
again at each wait. A wait that (re)connected reports a wake-up, since a change may have
committed before LISTEN began.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
from sqlalchemy.engine import make_url

log = logging.getLogger("newsdesk.search")

CHANNEL = "newsdesk_search_change"
# How often a wait looks up from the socket to see whether the node is stopping.
STOP_CHECK_SECONDS = 0.5


class ChangeListener:
    """A dedicated LISTEN connection to the database at `url`, opened on the first wait."""

    def __init__(self, url: str) -> None:
        self.conninfo = (
            make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self.standby = False  # the database is a hot standby: it never notifies
        self._failing = False

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Whether a change was notified (or may have been missed) within `seconds`; False
        when they passed without one or `stop` was set."""
        deadline = time.monotonic() + seconds
        if self._connection is None and self._connect():
            return True  # a change may have committed before LISTEN began
        connection = self._connection
        if connection is not None:
            try:
                while not stop.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    # Each call runs to its end: a paused notifies() holds the connection.
                    if list(
                        connection.notifies(timeout=min(left, STOP_CHECK_SECONDS), stop_after=1)
                    ):
                        list(connection.notifies(timeout=0))  # the others: one catch-up reads all
                        return True
                return False
            except psycopg.Error as error:
                log.warning("search_change_listen_lost", extra={"error": str(error)})
                self.close()
                if self._connect():
                    return True
        stop.wait(max(deadline - time.monotonic(), 0.0))  # polling, until LISTEN works again
        return False

    def _connect(self) -> bool:
        """LISTEN on a new connection; False on a standby or when the database is away."""
        if self.standby:
            return False
        try:
            connection = psycopg.connect(
                self.conninfo,
                autocommit=True,
                connect_timeout=5,
                # A connection that died without a word (a network gone) is found out.
                keepalives=1,
                keepalives_idle=30,
                keepalives_interval=10,
                keepalives_count=3,
            )
        except psycopg.Error as error:
            if not self._failing:  # once per outage, not once per poll
                log.warning("search_change_listen_failed", extra={"error": str(error)})
            self._failing = True
            return False
        try:
            in_recovery = connection.execute("SELECT pg_is_in_recovery()").fetchone()
            if in_recovery is not None and in_recovery[0]:
                self.standby = True
                log.info("search_change_listen_standby", extra={"action": "poll"})
                connection.close()
                return False
            connection.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as error:
            connection.close()
            log.warning("search_change_listen_failed", extra={"error": str(error)})
            self._failing = True
            return False
        self._connection, self._failing = connection, False
        log.info("search_change_listening", extra={"channel": CHANNEL})
        return True

    @property
    def listening(self) -> bool:
        return self._connection is not None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
