"""An API node on PostgreSQL keeps its own index current: it polls the change log.

Each node reads the log over its read URL (a replica can't NOTIFY, so polling it is: one
indexed range read of `search_change` when there is something to apply, a count of the
rows past the watermark otherwise) and applies what it finds to the index in its own
folder. It writes nothing to the database. A node whose index is missing builds it; one
whose watermark the log was pruned past rebuilds it (app/search/tantivy/sync.py says so in
the log). Failures (the database down, a replica restarting) are logged and tried again at
the next poll; searches meanwhile answer from the database or the node reports not ready.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from app.search.tantivy.index import SearchIndex, search_index_for
from app.search.tantivy.sync import IndexBusy, sync_index

if TYPE_CHECKING:
    from app.config import Settings

log = logging.getLogger("newsdesk.search")


class IndexCatchUp:
    """A daemon thread applying the change log to the node's index every poll interval."""

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

        engine = create_db_engine(self.settings, reader=True)
        failing = False
        try:
            while not self._stop.is_set():
                try:
                    sync_index(self.index, engine, wait_seconds=0)
                    if failing:
                        log.info("search_index_catch_up_resumed")
                    failing = False
                except IndexBusy:
                    pass  # another process of this node is applying the same changes
                except SQLAlchemyError as error:
                    if not failing:  # once per outage, not once per poll
                        log.warning("search_index_catch_up_failed", extra={"error": str(error)})
                    failing = True
                self._stop.wait(self.settings.search_index_poll_ms / 1000)
        finally:
            engine.dispose()


def start_catch_up(settings: Settings) -> IndexCatchUp | None:
    """On PostgreSQL with a search index configured, start keeping it current; else None
    (SQLite's index is kept current by the processes that write)."""
    index = search_index_for(settings)
    if index is None or settings.is_sqlite:
        return None
    catch_up = IndexCatchUp(settings, index)
    catch_up.start()
    return catch_up
