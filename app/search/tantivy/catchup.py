"""An API node on PostgreSQL keeps its own index current: it polls the change log, and on
the primary it is also woken by the writers' notifications.

Each node reads the log over its read URL (one indexed range read of `search_change` when
there is something to apply, a count of the rows past the watermark otherwise) and applies
what it finds to the index in its own folder. It writes nothing to the database. A node
reading the primary also LISTENs (listen.py: migration 0015's triggers notify once per
writing transaction), so it catches up as soon as a write commits; a replica can't NOTIFY,
so there the poll every NEWSDESK_SEARCH_INDEX_POLL_MS is what finds changes. A node whose
index is missing builds it; one whose watermark the log was pruned past rebuilds it
(app/search/tantivy/sync.py says so in the log). Failures (the database down, a replica
restarting, the LISTEN connection lost) are logged and tried again at the next poll;
searches meanwhile answer from the database or the node reports not ready.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.search.tantivy.changes import backlog
from app.search.tantivy.index import IndexBusy, SearchIndex, search_index_for
from app.search.tantivy.sync import sync_index

if TYPE_CHECKING:
    from app.config import Settings

log = logging.getLogger("newsdesk.search")

# Woken by notifications, a catch-up that left changes behind (an older transaction still
# running anywhere on the server holds the boundary back, and its end notifies nobody)
# looks again this soon rather than a whole poll interval later, then twice as late each
# time while they stay behind (a transaction left open for hours costs few reads).
RECHECK_SECONDS = 0.5


class IndexCatchUp:
    """A daemon thread applying the change log to the node's index every poll interval, and
    as soon as the primary notifies a write (settings.search_index_listen)."""

    def __init__(self, settings: Settings, index: SearchIndex) -> None:
        self.settings = settings
        self.index = index
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-catch-up", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        from app.db import create_db_engine
        from app.search.tantivy.listen import ChangeListener  # psycopg: on PostgreSQL only

        engine = create_db_engine(self.settings, reader=True)
        listener = (
            ChangeListener(self.settings.reading_url) if self.settings.search_index_listen else None
        )
        poll = self.settings.search_index_poll_ms / 1000
        failing = False
        recheck = RECHECK_SECONDS
        try:
            while not self._stop.is_set():
                wait = poll
                try:
                    sync_index(self.index, engine, wait_seconds=0)
                    if listener is not None and listener.listening and self._left_behind(engine):
                        wait, recheck = min(poll, recheck), min(poll, recheck * 2)
                    else:
                        recheck = RECHECK_SECONDS
                    if failing:
                        log.info("search_index_catch_up_resumed")
                    failing = False
                except IndexBusy:
                    pass  # another process of this node is applying the same changes
                except SQLAlchemyError as error:
                    if not failing:  # once per outage, not once per poll
                        log.warning("search_index_catch_up_failed", extra={"error": str(error)})
                    failing = True
                except Exception as error:
                    # An index the disk can't serve (full, removed under the node): a thread
                    # that died here would leave the node behind for good, answering from
                    # the database. Logged with its traceback, tried again at the next poll.
                    if not failing:
                        log.exception("search_index_catch_up_failed", extra={"error": str(error)})
                    failing = True
                if listener is None:
                    self._stop.wait(wait)
                else:
                    listener.wait(wait, self._stop)
        finally:
            if listener is not None:
                listener.close()
            engine.dispose()

    def _left_behind(self, engine: Engine) -> bool:
        """Changes are logged past the index's watermark (not all applicable yet)."""
        state = self.index.read_state()
        if state is None:
            return True
        with engine.connect() as connection:
            return backlog(connection, state.watermark).changes > 0


def start_catch_up(settings: Settings) -> IndexCatchUp | None:
    """On PostgreSQL with a search index configured, start keeping it current; else None
    (SQLite's index is kept current by the processes that write)."""
    index = search_index_for(settings)
    if index is None or settings.is_sqlite:
        return None
    catch_up = IndexCatchUp(settings, index)
    catch_up.start()
    return catch_up
