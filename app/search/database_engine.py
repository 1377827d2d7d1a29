"""The database as a search engine: SQLite FTS5 or PostgreSQL tsquery, always current.

Each answer is one of the SQL modules' (articles, facets, timeline, newsapi); this class
only gives them the shape app/search/service.py asks every engine for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlmodel import Session

from app.search.articles import count_articles, database_page, newest_id
from app.search.batch import DatabaseBatch
from app.search.cursor import Cursor
from app.search.facets import FacetCounts, compute_facets
from app.search.filter import ArticleFilter, Hit, Sort
from app.search.generations import Generation
from app.search.newsapi import page_cursor
from app.search.periods import Interval
from app.search.tantivy.changes import archive_generation
from app.search.timeline import SplitBy, TimelineCounts, build_timeline


class DatabaseEngine:
    """Answers from the request's database session."""

    name: Literal["database"] = "database"

    def __init__(self, session: Session) -> None:
        self.session = session

    def page(
        self, flt: ArticleFilter, sort: Sort, snapshot: int, key: list[Any] | None, limit: int
    ) -> list[Hit]:
        return database_page(self.session, flt, sort, snapshot, key, limit)

    def page_ids(self, flt: ArticleFilter, sort: Sort, limit: int) -> list[int]:
        hits = database_page(self.session, flt, sort, newest_id(self.session), None, limit)
        return [hit.article.id for hit in hits if hit.article.id is not None]

    def count(self, flt: ArticleFilter) -> int:
        return count_articles(self.session, flt)

    def facets(
        self, flt: ArticleFilter, names: Sequence[str], size: int, total: int
    ) -> dict[str, FacetCounts]:
        return compute_facets(self.session, flt, names, size, total)

    def timeline(
        self,
        flt: ArticleFilter,
        interval: Interval,
        by: SplitBy | None,
        series_size: int,
        max_periods: int,
    ) -> TimelineCounts:
        return build_timeline(self.session, flt, interval, by, series_size, max_periods)

    def seek(self, flt: ArticleFilter, sort: Sort, offset: int) -> Cursor | None:
        return page_cursor(self.session, flt, sort, offset)

    def batch(self, ids: Sequence[int]) -> DatabaseBatch:
        return DatabaseBatch(self.session, ids)

    def generation(self) -> Generation:
        """Where the database's change log stands for this session (archive_generation)."""
        return ("database", *archive_generation(self.session.connection()))
