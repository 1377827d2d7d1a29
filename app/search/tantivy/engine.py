"""The tantivy index as a search engine: one searcher's ids and counts, rows from the database.

The index finds a page's ids and scores (app/search/tantivy/index.py) and counts by aggregations
(app/search/tantivy/aggregations.py); the database then reads just the page's rows. Which searcher
(and whether the index answers at all) is app/search/service.py's decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import tantivy
from sqlalchemy import bindparam
from sqlmodel import Session, col

from app.models import Article
from app.search.articles import hit_of, hit_statement, newest_id, read_hits
from app.search.cursor import Cursor
from app.search.facets import FacetCounts
from app.search.filter import ArticleFilter, Hit, Sort
from app.search.generations import Generation
from app.search.periods import Interval
from app.search.tantivy.aggregations import IndexCounts
from app.search.tantivy.index import WORDS, SearchIndex
from app.search.tantivy.sync import documents
from app.search.timeline import SplitBy, TimelineCounts

# The page's rows, by the ids the index found: built once (per request it cost more than
# reading the rows).
_PAGE_ROWS = hit_statement().where(col(Article.id).in_(bindparam("ids", expanding=True)))


class IndexEngine:
    """Answers from one searcher of the index, for one request."""

    name: Literal["index"] = "index"

    def __init__(self, session: Session, index: SearchIndex, searcher: tantivy.Searcher) -> None:
        self.session = session
        self.index = index
        self.searcher = searcher

    def page(
        self, flt: ArticleFilter, sort: Sort, snapshot: int, key: list[Any] | None, limit: int
    ) -> list[Hit]:
        """The page after `key`; its hits carry their rank in the snapshot's relevance order."""
        # A first page needs no snapshot filter: the index holds what the database held when
        # the snapshot was read (an article indexed since then shows once, on this page, and
        # takes no place in the ranks of the walk). Without it, a text query runs on the
        # posting lists alone.
        bound = snapshot if key is not None else None
        rank = int(key[2]) if sort == "relevance" and key else 0
        if sort == "relevance":
            page = self.index.relevance_page(self.searcher, flt, bound, rank, limit)
        else:
            after = None
            if key is not None:
                after = (datetime.fromisoformat(key[0]) if key[0] else None, int(key[1]))
            descending = sort == "-published_at"
            page = self.index.date_page(self.searcher, flt, bound, descending, after, limit)
        rows = {row[0]: row for row in read_hits(self.session, _PAGE_ROWS, {"ids": page.ids})}
        hits: list[Hit] = []
        for article_id, score in zip(page.ids, page.scores, strict=True):
            rank += article_id <= snapshot  # the position after this one, in the snapshot's ranks
            if article_id in rows:  # else deleted since the index was read
                hits.append(hit_of(rows[article_id], score, rank if sort == "relevance" else None))
        return hits

    def page_ids(self, flt: ArticleFilter, sort: Sort, limit: int) -> list[int]:
        """page()'s first page as the index finds it, no row read."""
        if sort == "relevance":
            return self.index.relevance_page(self.searcher, flt, None, 0, limit).ids
        descending = sort == "-published_at"
        return self.index.date_page(self.searcher, flt, None, descending, None, limit).ids

    def count(self, flt: ArticleFilter) -> int:
        return self.index.count(self.searcher, flt)

    def facets(
        self, flt: ArticleFilter, names: Sequence[str], size: int, total: int
    ) -> dict[str, FacetCounts]:
        counts = IndexCounts(self.index, self.searcher, self.session)
        return {name: counts.facet(flt, name, size, total) for name in names}

    def timeline(
        self,
        flt: ArticleFilter,
        interval: Interval,
        by: SplitBy | None,
        series_size: int,
        max_periods: int,
    ) -> TimelineCounts:
        counts = IndexCounts(self.index, self.searcher, self.session)
        return counts.timeline(flt, interval, by, series_size, max_periods)

    def seek(self, flt: ArticleFilter, sort: Sort, offset: int) -> Cursor | None:
        snapshot = newest_id(self.session)
        key = self.index.key_at(self.searcher, flt, sort, offset, snapshot)
        return Cursor(key=key, snapshot=snapshot, query_hash="") if key is not None else None

    def batch(self, ids: Sequence[int]) -> IndexBatch:
        return IndexBatch(self.session, self.index, ids)

    def generation(self) -> Generation | None:
        """The watermark the searcher was chosen by (None: chosen whatever its lag)."""
        watermark = self.index.searched_watermark(self.session)
        return None if watermark is None else ("index", str(self.index.directory), watermark)


# The smallest heap tantivy lets one writer thread have: a batch is a few dozen documents.
BATCH_WRITER_HEAP = 15_000_000
# Saved searches' compiled queries, kept from batch to batch (by index and filter): a
# prefix's automaton costs more to build than to run on a batch. Emptied when full.
_compiled: dict[tuple[Path, str], tantivy.Query] = {}
COMPILED_KEPT = 10_000


class IndexBatch:
    """A batch of articles in an index of its own, in memory, made as the archive's is and
    searched with the archive's compiled queries (see app/search/batch.py)."""

    def __init__(self, session: Session, index: SearchIndex, ids: Sequence[int]) -> None:
        self.index = index
        self.size = len(ids)
        memory = tantivy.Index(index.schema)
        memory.register_tokenizer(WORDS, index.analyzer)
        writer = memory.writer(BATCH_WRITER_HEAP, 1)
        for document in documents(index, session.connection(), ids):
            writer.add_document(document)
        writer.commit()
        writer.wait_merging_threads()
        memory.reload()
        self.searcher = memory.searcher()

    def ids(self, flt: ArticleFilter) -> list[int]:
        key = (self.index.directory, repr(flt))
        query = _compiled.get(key)
        if query is None:
            if len(_compiled) >= COMPILED_KEPT:
                _compiled.clear()
            query = _compiled[key] = self.index.compile(flt, None)
        return self.index.ids_of(self.searcher, query, self.size)
