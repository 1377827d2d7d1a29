"""The search service: the one place that decides which engine answers a request.

Routes hand it a filter and get pages, totals, facets, timelines, seeks and export batches
back; they never see an engine. The tantivy index (app/search/tantivy/engine.py) answers
while it is configured and current, the database (app/search/database_engine.py) otherwise:

- the decision is made once per session (a request), so its page, total and facets agree;
- a relevance walk stays on the engine it began on (their scores differ): a cursor with a
  rank came from the index and continues there whatever its lag, one without from the
  database;
- every article by date, unfiltered, is a walk of the database's (published_at, id) index,
  which reads one page's rows where the engine would rank them all.

Adding an engine means a class with DatabaseEngine's methods and a rule here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Literal, Protocol

from prometheus_client import Counter
from sqlalchemy.engine import Engine as DatabaseBind
from sqlmodel import Session

from app.config import Settings
from app.search.articles import newest_id, sort_key, sort_key_check
from app.search.batch import BatchSearch
from app.search.cursor import Cursor, CursorCodec, InvalidCursor, codec_for, query_fingerprint
from app.search.database_engine import DatabaseEngine
from app.search.facets import FacetCounts
from app.search.filter import ArticleFilter, Hit, Sort
from app.search.generations import KEPT_TIMELINES, Generation
from app.search.limits import query_time_limit
from app.search.periods import Interval
from app.search.tantivy.catchup import start_catch_up as start_catch_up  # for app/main.py
from app.search.tantivy.changes import backlog
from app.search.tantivy.engine import IndexEngine
from app.search.tantivy.index import search_index_for
from app.search.tantivy.sync import sync_search_index
from app.search.timeline import SplitBy, TimelineCounts

Answer = Literal["page", "count", "facets", "timeline", "seek", "batch"]


class Engine(Protocol):
    """What the service asks of an engine; `name` labels the answers it counts."""

    @property
    def name(self) -> str: ...

    def page(
        self, flt: ArticleFilter, sort: Sort, snapshot: int, key: list[Any] | None, limit: int
    ) -> list[Hit]: ...

    def page_ids(self, flt: ArticleFilter, sort: Sort, limit: int) -> list[int]: ...

    def count(self, flt: ArticleFilter) -> int: ...

    def facets(
        self, flt: ArticleFilter, names: Sequence[str], size: int, total: int
    ) -> dict[str, FacetCounts]: ...

    def timeline(
        self,
        flt: ArticleFilter,
        interval: Interval,
        by: SplitBy | None,
        series_size: int,
        max_periods: int,
    ) -> TimelineCounts: ...

    def seek(self, flt: ArticleFilter, sort: Sort, offset: int) -> Cursor | None: ...

    def generation(self) -> Generation | None:
        """What the engine's answers about the archive hold (None: not to be kept)."""
        ...

    def batch(self, ids: Sequence[int]) -> BatchSearch: ...


@dataclass
class ResultPage:
    """One page of a walk: its hits, the exact total, the next page's cursor, the facets."""

    hits: list[Hit]
    total: int
    next_cursor: str | None
    facets: dict[str, FacetCounts] | None


@dataclass
class ExportWalk:
    """Every match in batches, read with a session of its own: the walk closes it between
    batches (a slow download holds no connection); the consumer closes it at the end."""

    session: Session
    batches: Iterator[list[Hit]]


def cursor_scope(flt: ArticleFilter, sort: Sort) -> str:
    """The parameters a cursor stays valid for (everything but limit and cursor)."""
    return query_fingerprint({"filter": repr(flt), "sort": sort})


class SearchService:
    """Searches for one request: its session, the settings and their index (if any).

    `answers`, when given, counts each answer by engine and kind (the /metrics series
    newsdesk_search_answers_total), so that a slow path taken in silence shows.
    """

    def __init__(
        self, session: Session, settings: Settings, answers: Counter | None = None
    ) -> None:
        self.session = session
        self.settings = settings
        self.answers = answers
        self.index = search_index_for(settings)
        self.database = DatabaseEngine(session)

    # -- which engine answers ------------------------------------------------------------

    def _current(self, answer: Answer) -> Engine:
        """The index when it holds every change the database has, else the database."""
        return self._count(answer, self._current_engine())

    def _current_engine(self) -> Engine:
        searcher = None
        if self.index is not None:
            max_lag = self.settings.search_index_max_lag_ms / 1000
            searcher = self.index.current_searcher(self.session, max_lag)
        return self._engine(searcher)

    def _for_page(self, flt: ArticleFilter, sort: Sort, key: list[Any] | None) -> Engine:
        if self.index is None or (sort != "relevance" and flt == ArticleFilter()):
            return self._counted("page", None)
        if sort == "relevance" and key is not None:
            # A relevance cursor carries a rank only when the index made its page.
            return self._counted("page", self.index.any_searcher() if len(key) == 3 else None)
        return self._current("page")

    def _counted(self, answer: Answer, searcher: Any) -> Engine:
        return self._count(answer, self._engine(searcher))

    def _engine(self, searcher: Any) -> Engine:
        if self.index is not None and searcher is not None:
            return IndexEngine(self.session, self.index, searcher)
        return self.database

    def _count(self, answer: Answer, engine: Engine) -> Engine:
        if self.answers is not None:
            self.answers.labels(engine=engine.name, answer=answer).inc()
        return engine

    # -- answers -------------------------------------------------------------------------

    def page(
        self, flt: ArticleFilter, sort: Sort, limit: int, cursor: Cursor | None
    ) -> tuple[list[Hit], int]:
        """One page of hits after `cursor`, and the snapshot (newest id) the walk is bound to."""
        if sort == "relevance" and flt.query is None:
            raise InvalidCursor("sort=relevance needs a text query q")
        snapshot = cursor.snapshot if cursor else newest_id(self.session)
        key = cursor.key if cursor else None
        return self._for_page(flt, sort, key).page(flt, sort, snapshot, key, limit), snapshot

    def page_ids(self, flt: ArticleFilter, sort: Sort, limit: int) -> list[int]:
        """The ids of page()'s first page (some may be deleted since): for a caller that
        reads a few columns of them, not the whole rows."""
        if sort == "relevance" and flt.query is None:
            raise InvalidCursor("sort=relevance needs a text query q")
        return self._for_page(flt, sort, None).page_ids(flt, sort, limit)

    def count(self, flt: ArticleFilter) -> int:
        """The exact number of articles the filter admits."""
        return self._current("count").count(flt)

    def facets(
        self, flt: ArticleFilter, names: Sequence[str], size: int, total: int
    ) -> dict[str, FacetCounts]:
        """Each facet in `names` under the filter; `total` is the filter's count."""
        return self._current("facets").facets(flt, names, size, total)

    def timeline(
        self, flt: ArticleFilter, interval: Interval, by: SplitBy | None, series_size: int
    ) -> TimelineCounts:
        """Matches per period (RangeTooLarge past settings.timeline_max_periods)."""
        max_periods = self.settings.timeline_max_periods
        return self._current("timeline").timeline(flt, interval, by, series_size, max_periods)

    def archive_timeline(self, flt: ArticleFilter, interval: Interval) -> TimelineCounts:
        """timeline(flt, interval, None, 1) for a filter that requests repeat (a share's
        denominator, a compared query), kept until the archive changes
        (app/search/generations.py)."""
        engine = self._current_engine()
        generation = engine.generation()
        url = self.session.get_bind().engine.url.render_as_string(hide_password=True)
        key = (url, generation, repr(flt), interval)
        found = KEPT_TIMELINES.get(key) if generation is not None else None
        if found is None:
            max_periods = self.settings.timeline_max_periods
            found = self._count("timeline", engine).timeline(flt, interval, None, 1, max_periods)
            if generation is not None:
                KEPT_TIMELINES.put(key, found, self.settings.kept_timeline_periods)
        return found

    def seek(self, flt: ArticleFilter, sort: Sort, offset: int) -> Cursor | None:
        """A cursor after the first `offset` (>= 1) results; None when there are fewer."""
        return self._current("seek").seek(flt, sort, offset)

    def batch(self, ids: Sequence[int]) -> BatchSearch:
        """The articles `ids` indexed once by the engine that answers, to be searched with
        many filters: what a saved search's matching asks of an ingest batch (its cost
        does not grow with the archive; see app/search/batch.py)."""
        return self._current("batch").batch(ids)

    # -- pages as the API serves them ----------------------------------------------------

    @cached_property
    def codec(self) -> CursorCodec:
        return codec_for(self.session, self.settings)

    def article_page(
        self,
        flt: ArticleFilter,
        sort: Sort,
        limit: int,
        cursor: str | None = None,
        facet_names: Sequence[str] = (),
        facet_size: int = 10,
    ) -> ResultPage:
        """The page after a signed cursor (InvalidCursor when it is not one of this walk's),
        the exact total, and the facets asked for."""
        scope = cursor_scope(flt, sort)
        position = self.codec.decode(cursor, scope, sort_key_check(sort)) if cursor else None
        hits, snapshot = self.page(flt, sort, limit + 1, position)
        next_cursor = None
        if len(hits) > limit:
            hits = hits[:limit]
            last = Cursor(key=sort_key(sort, hits[-1]), snapshot=snapshot, query_hash=scope)
            next_cursor = self.codec.encode(last)
        # Later pages count what the walk lists: the articles of its first page's moment.
        counted = replace(flt, up_to_id=position.snapshot) if position else flt
        total = self.count(counted)
        facets = self.facets(counted, facet_names, facet_size, total) if facet_names else None
        return ResultPage(hits, total, next_cursor, facets)

    def entity_page(
        self, entity_id: int, flt: ArticleFilter, sort: Sort, limit: int, cursor: str | None
    ) -> ResultPage:
        """article_page over the articles that also mention the entity."""
        narrowed = replace(flt, entity_groups=[*flt.entity_groups, [entity_id]])
        return self.article_page(narrowed, sort, limit, cursor)

    def offset_page(
        self, flt: ArticleFilter, sort: Sort, page: int, page_size: int
    ) -> tuple[list[Hit], int]:
        """Page number `page` (from 1) and the exact total: any page, however deep, is a
        seek and one page's read."""
        total = self.count(flt)
        offset = (page - 1) * page_size
        hits: list[Hit] = []
        if offset < total:
            cursor = self.seek(flt, sort, offset) if offset else None
            if cursor is not None or offset == 0:  # None: results were deleted since counting
                hits, _ = self.page(flt, sort, page_size, cursor)
        return hits, total

    def export(self, flt: ArticleFilter, sort: Sort) -> ExportWalk:
        """Every match once, in `sort` order, settings.export_batch_size at a time.

        The walk reads with a session of its own on the request session's engine (the
        request's session has a time limit for the whole request); each batch's query gets
        its own time limit instead, and the walk's snapshot id keeps it consistent.
        """
        session = Session(self.session.get_bind())
        walk = SearchService(session, self.settings, self.answers)
        return ExportWalk(session, walk._batches(flt, sort))

    def _batches(self, flt: ArticleFilter, sort: Sort) -> Iterator[list[Hit]]:
        settings, size = self.settings, self.settings.export_batch_size
        cursor: Cursor | None = None
        while True:
            with query_time_limit(
                self.session,
                settings.query_timeout_ms,
                expired=settings.fault_expired_query_deadline,
            ):
                hits, snapshot = self.page(flt, sort, size, cursor)
            if not hits:
                return
            yield hits
            self.session.close()  # its rows and connection go back until the next batch
            if len(hits) < size:
                return
            cursor = Cursor(key=sort_key(sort, hits[-1]), snapshot=snapshot, query_hash="")


IndexStatus = Literal["not_used", "absent", "current", "behind"]


@dataclass(frozen=True)
class IndexReadiness:
    """The search index's state for /readyz: `lag` changes (or `lag_seconds`, PostgreSQL)
    behind; `ready` is False only when settings.search_index_behind says a node whose index
    can't answer is not ready (searches still answer, from the database)."""

    status: IndexStatus
    lag: int | None = None
    lag_seconds: float | None = None
    ready: bool = True


def index_readiness(session: Session, settings: Settings) -> IndexReadiness:
    """Whether searches use the index, and how far behind the database it is."""
    index = search_index_for(settings)
    if index is None:
        return IndexReadiness("not_used")
    strict = settings.search_index_behind == "not_ready" and not settings.is_sqlite
    state = index.read_state()
    if state is None:
        return IndexReadiness("absent", ready=not strict)
    behind = backlog(session.connection(), state.watermark)
    current = behind.within(settings.search_index_max_lag_ms / 1000)
    seconds = None if behind.seconds is None else round(behind.seconds, 3)
    return IndexReadiness(
        "current" if current else "behind",
        behind.changes,
        seconds,
        ready=current or not strict,
    )


def index_after_write(settings: Settings, bind: DatabaseBind, wait_seconds: float) -> None:
    """Apply a committed write to the search index, if there is one (searches use the
    database until then, and when another process holds the index for `wait_seconds`)."""
    sync_search_index(settings, bind, wait_seconds=wait_seconds)
