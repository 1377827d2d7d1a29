"""A bulk load's documents written to the search index as it stores their articles.

After a load the index would otherwise read every new article back from the database and
build its document then, one step after another on one core. Fed as the load goes, the
index's own thread indexes while the loader inserts rows, and nothing is read back.

The feed keeps the log's promise (sync.py): the index holds exactly the changes up to its
watermark. It is opened on an index brought up to date, under the sync lock and tantivy's
writer lock, and adds documents only for a load whose transaction starts at the index's
watermark (that transaction holds SQLite's write lock: no other writer adds changes until
it ends). The index is committed after the database, then the watermark moves to the load's
last change. Anything else (another writer first, a load that fails, a crash between the
commits) keeps nothing, and the next sync applies the changes from the log as always.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

import tantivy
from sqlalchemy import Connection
from sqlalchemy.engine import Engine

from app.faults import kill_point
from app.search.filter import Facts
from app.search.tantivy.changes import database_head
from app.search.tantivy.index import IndexBusy, IndexState, SearchIndex, search_index_for
from app.search.tantivy.sync import acquire_writer, document_values, prune_changes, sync_index

if TYPE_CHECKING:
    from app.config import Settings

log = logging.getLogger("newsdesk.search")


class IndexFeed:
    """Documents for the articles one load's transaction stores, kept only if it commits."""

    def __init__(self, index: SearchIndex, writer: tantivy.IndexWriter, watermark: int) -> None:
        self.index, self.watermark = index, watermark
        self.writer: tantivy.IndexWriter | None = writer  # None once let go of
        self.active = False  # the load's transaction began at the watermark
        self.head: int | None = None  # the load's last change, once its rows are all in
        self.added = 0
        self.committed = False
        self.commit_seconds = 0.0

    def begin(self, connection: Connection) -> None:
        """Called inside the load's transaction once it holds the write lock."""
        self.active = database_head(connection) == self.watermark
        if not self.active:
            log.info("search_index_feed_skipped", extra={"reason": "database changed first"})

    def add(self, facts: Iterable[Facts]) -> None:
        if not self.active or self.writer is None:
            return
        for article in facts:
            self.writer.add_document(
                tantivy.Document.from_dict(document_values(article), self.index.schema)
            )
            self.added += 1

    def end(self, connection: Connection) -> None:
        """Called inside the load's transaction after its last row, before its commit."""
        if self.active:
            self.head = database_head(connection)

    def commit(self, engine: Engine) -> bool:
        """After the database's commit: keep the documents, move the watermark to the load's
        last change. False (nothing kept) when the load was not fed whole."""
        if not self.active or self.head is None or self.writer is None:
            self.discard()
            return False
        started = time.perf_counter()
        kill_point("index_written")
        self.writer.commit()
        self.writer.wait_merging_threads()
        self.writer = None
        kill_point("index_committed")
        self.index.write_state(IndexState(watermark=self.head))
        prune_changes(engine, self.head)
        self.committed = True
        self.commit_seconds = time.perf_counter() - started
        log.info("search_index_fed", extra={"added": self.added, "watermark": self.head})
        return True

    def discard(self) -> None:
        """Drop the documents added, and the writer with its lock: the sync after the load
        takes the writer, and tantivy holds its lock for as long as a writer lives."""
        if self.writer is not None:
            self.writer.rollback()
            self.writer = None

    def summary(self) -> str:
        return (
            f"search index fed: {self.added} articles as they were stored, "
            f"committed in {self.commit_seconds:.1f}s"
        )


@contextmanager
def index_feed(
    settings: Settings, engine: Engine, wait_seconds: float = 60.0
) -> Iterator[IndexFeed | None]:
    """A feed for the bulk load run inside this block, committed when the block ends
    without an error (the load has committed by then), else rolled back.

    None where there is nothing to feed: PostgreSQL (its nodes catch up from the log), no
    index, or an index another process keeps busy; the sync after the load applies the log.
    """
    with ExitStack() as stack:
        feed = _open_feed(settings, engine, wait_seconds, stack)
        try:
            yield feed
        except BaseException:
            if feed is not None:
                feed.discard()
            raise
        if feed is not None:
            feed.commit(engine)


def _open_feed(
    settings: Settings, engine: Engine, wait_seconds: float, stack: ExitStack
) -> IndexFeed | None:
    """A feed on the settings' index, brought up to date and held until the stack closes."""
    index = search_index_for(settings) if engine.dialect.name == "sqlite" else None
    if index is None:
        return None
    try:
        sync_index(index, engine, wait_seconds)
        stack.enter_context(index.syncing(wait_seconds))
        state, handle = index.read_state(), index.open(create=True)
        if state is None or handle is None:  # emptied meanwhile: the sync after the load
            return None
        return IndexFeed(index, acquire_writer(handle, wait_seconds), state.watermark)
    except IndexBusy as error:
        log.warning("search_index_busy", extra={"error": str(error)})
        return None
