"""The tantivy search index: a derived copy of the articles that answers searches fast.

The database stays the store of record; the index can be thrown away and rebuilt from it at
any time (`newsdesk reindex`). app/search/tantivy/sync.py keeps it current from the change
log; the index records the last change it holds (its watermark) beside its files.

On SQLite the API searches the index only while it is current: its watermark equals the
database's newest change. Otherwise (no index yet, an ingest that crashed, another process's
writes not yet applied) it answers from FTS5, slower but never stale. On PostgreSQL each API
node keeps an index of its own current from the change log (app/search/tantivy/catchup.py)
and searches it while its oldest missing change is within NEWSDESK_SEARCH_INDEX_MAX_LAG_MS.

Everything a filter needs is an indexed field, and the date orders are fast fields, so the
engine returns the page's ids and scores; the database then reads just those rows.

The date orders are one order on every engine (the databases' in search/articles.py):
dated articles by published_at to the microsecond, equal dates by id, then the undated ones
by id; newest first all descending, oldest first all ascending. The microsecond because it
is what every engine stores (SQLite's timestamps with six fraction digits, PostgreSQL's
timestamptz, here an i64), so the databases' ORDER BY published_at, id walks their
(published_at, id) index with no sort; whole seconds would need an expression index on
both databases for every page. No 64-bit key holds a date of years 1-9999 to the
microsecond (58 bits) beside an id (31 bits), so the index orders by its `published` field
and settles equal dates with its `id` field (see date_page).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING, Any

import tantivy
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.search.filter import (
    EPOCH,
    MICROSECOND,
    ArticleFilter,
    IndexField,
    id_range,
    index_clauses,
    index_fields,
    micros,
)
from app.search.query import And, Not, Or, Query, QuerySyntaxError, Term
from app.search.tantivy.changes import backlog
from app.search.text import BODY_WEIGHT, TITLE_WEIGHT, SearchIn

if TYPE_CHECKING:
    from app.config import Settings


class IndexBusy(RuntimeError):
    """Another process is bringing the index up to date (or holds its writer)."""


log = logging.getLogger("newsdesk.search")

# Bump when the analyzer or the index's own fields change: an index of another version is
# rebuilt. The filters' fields (app/search/filter.py) need no bump: the state records them
# (`schema_fields`), and an index built with other fields is rebuilt too.
# 3: the date orders read `published` and `id` (no more second-precision order keys).
# 4: the state records the filters' fields.
# 5: Arabic-script letters folded (app/search/letters.py).
SCHEMA_VERSION = 5
STATE_FILE = "newsdesk-index.json"
# Held by the process bringing the index up to date (SearchIndex.syncing). It lives in the
# index folder, where tantivy leaves files it did not make alone, and reset() keeps it.
SYNC_LOCK_FILE = ".newsdesk-sync.lock"
WATERMARK_KEY = "newsdesk.searcher.watermark"  # in a session's info
WORDS = "newsdesk_words"
# Words as the query parser and FTS5's unicode61 see them: runs of letters, digits and
# marks, lower-cased, accents removed.
WORD_PATTERN = r"[\p{L}\p{N}\p{M}\p{Co}]+"
# A prefix* ranks its matches by BM25 over the words it stands for, as FTS5 ranks a prefix.
# Past this many words, only the most frequent ones score and the rest match unscored (a
# broad prefix at 1M stands for thousands of words, and its unscored matches would be one
# group of equal scores to order by id).
RANKED_PREFIX_WORDS = 4096
# The most words a phrase's last word, a prefix, may stand for: the engine refuses a phrase
# query that expands to more.
PHRASE_PREFIX_WORDS = 16_384
MICROS_PER_DAY = 86_400_000_000


def words_analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(WORD_PATTERN))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def build_schema() -> tantivy.Schema:
    """The index's own fields (text, orders, timeline), then every filter's fields."""
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", indexed=True, fast=True)
    builder.add_text_field("title", tokenizer_name=WORDS)
    builder.add_text_field("body", tokenizer_name=WORDS)
    builder.add_integer_field("published", indexed=True, fast=True)  # microseconds, UTC
    builder.add_unsigned_field("month", fast=True)  # year * 12 + month - 1
    builder.add_integer_field("day", fast=True)  # days since 1970-01-01, UTC
    for declared in index_fields():
        _add_field(builder, declared)
    return builder.build()


def _add_field(builder: tantivy.SchemaBuilder, declared: IndexField) -> None:
    if declared.kind == "unsigned":
        builder.add_unsigned_field(declared.name, indexed=True, fast=declared.fast)
    elif declared.kind == "boolean":
        builder.add_boolean_field(declared.name, indexed=True, fast=declared.fast)
    else:  # exact values: one term each, as given
        builder.add_text_field(
            declared.name, tokenizer_name="raw", index_option="basic", fast=declared.fast
        )


def schema_fields() -> list[str]:
    """The filters' fields as the state file records them ("tag:text:fast")."""
    return [f"{f.name}:{f.kind}{':fast' if f.fast else ''}" for f in index_fields()]


def moment_of(value: int) -> datetime:
    """The UTC moment of a `published` value (micros' inverse)."""
    return EPOCH + value * MICROSECOND


@dataclass
class IndexState:
    watermark: int
    version: int = SCHEMA_VERSION
    fields: list[str] = field(default_factory=schema_fields)


@dataclass
class Page:
    """What the engine found for one page: ids in order, and their scores."""

    ids: list[int]
    scores: list[float | None]


class SearchIndex:
    """One tantivy index directory, for searching (any process) and syncing (one at a time)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.schema = build_schema()
        self.analyzer = words_analyzer()
        self._index: tantivy.Index | None = None
        self._lock = Lock()

    # -- opening and state -------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.directory / STATE_FILE

    def read_state(self) -> IndexState | None:
        try:
            raw = json.loads(self.state_path.read_text())
            state = IndexState(
                watermark=int(raw["watermark"]),
                version=int(raw["version"]),
                fields=[str(name) for name in raw["fields"]],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        current = state.version == SCHEMA_VERSION and state.fields == schema_fields()
        return state if current else None

    def write_state(self, state: IndexState) -> None:
        partial = self.state_path.with_suffix(".partial")
        partial.write_text(
            json.dumps(
                {"watermark": state.watermark, "version": state.version, "fields": state.fields}
            )
        )
        os.replace(partial, self.state_path)

    @contextmanager
    def syncing(self, wait_seconds: float) -> Iterator[None]:
        """Held while this process brings the index up to date. Every process of an API node
        (and, on SQLite, each ingest) may try at once; without it, one starting on an empty
        or outdated folder emptied it while another was building there. IndexBusy when
        another process keeps it for `wait_seconds`."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / SYNC_LOCK_FILE).open("a") as handle:
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexBusy(
                            "another process is bringing the search index up to date"
                        ) from None
                    time.sleep(0.1)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def reset(self) -> None:
        """Empty the index folder (it is rebuilt from the database), all but its sync lock."""
        with self._lock:
            if self.directory.is_dir():
                for entry in self.directory.iterdir():
                    if entry.name == SYNC_LOCK_FILE:
                        continue
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)
            self._index = None

    def open(self, create: bool = False) -> tantivy.Index | None:
        with self._lock:
            if self._index is None:
                if not create and not (self.directory / "meta.json").exists():
                    return None
                self.directory.mkdir(parents=True, exist_ok=True)
                index = tantivy.Index(self.schema, path=str(self.directory), reuse=True)
                index.register_tokenizer(WORDS, self.analyzer)
                self._index = index
            return self._index

    def current_searcher(
        self, session: Session, max_lag_seconds: float = 0.0
    ) -> tantivy.Searcher | None:
        """A searcher when the index is current enough, else None (search the database).

        Current enough: on SQLite it holds every change the database has (the writer applies
        its own changes right away); on PostgreSQL, where each node catches up from the
        change log, its oldest missing change is at most max_lag_seconds old.
        Decided once per session (a request), so its page, total and facets agree.
        """
        key = ("newsdesk.searcher", self.directory)
        if key not in session.info:
            state = self.read_state()
            current = state is not None and backlog(session.connection(), state.watermark).within(
                max_lag_seconds
            )
            session.info[key] = self._searcher() if current else None
            # The searcher, opened after the state was read, holds at least these changes.
            session.info[(WATERMARK_KEY, self.directory)] = state.watermark if state else None
        searcher: tantivy.Searcher | None = session.info[key]
        return searcher

    def searched_watermark(self, session: Session) -> int | None:
        """The watermark of the state current_searcher went by for this session."""
        watermark: int | None = session.info.get((WATERMARK_KEY, self.directory))
        return watermark

    def any_searcher(self) -> tantivy.Searcher | None:
        """A searcher whatever the index's lag (a relevance walk begun on the index)."""
        return self._searcher() if self.read_state() is not None else None

    def _searcher(self) -> tantivy.Searcher | None:
        """A searcher on the newest commit, once the state file has been found valid."""
        index = self.open()
        if index is None:
            return None
        index.reload()
        return index.searcher()

    # -- searching -------------------------------------------------------------------

    def compile(
        self,
        flt: ArticleFilter,
        snapshot: int | None,
        searcher: tantivy.Searcher | None = None,
        ranked: bool = False,
    ) -> tantivy.Query:
        """The whole filter as one engine query: the text query scores, the rest filters.

        `searcher` is the index the query will run on. There a phrase's prefix ("gordon
        br"*) is checked to stand for no more words than the engine expands, and with
        `ranked`, where the order matters, a prefix* is scored through the words it stands
        for. Without a searcher a prefix matches the same articles, unscored: a saved
        search's query is compiled once for every batch, whatever words a batch holds.
        """
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if flt.query is not None:
            words = _Words(searcher, ranked)
            clauses.append((tantivy.Occur.Must, self._text(flt.query, flt.search_in, words)))
        filters = index_clauses(flt, self.schema)
        if snapshot is not None:
            filters.insert(0, (tantivy.Occur.Must, id_range(self.schema, None, snapshot)))
        for occur, condition in filters:
            clauses.append((occur, tantivy.Query.const_score_query(condition, 0.0)))
        if not any(occur == tantivy.Occur.Must for occur, _ in clauses):
            clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses)

    def _words(self, words: Sequence[str]) -> list[str]:
        return [token for word in words for token in self.analyzer.analyze(word)]

    def _text(self, node: Query | Not, search_in: SearchIn, context: _Words) -> tantivy.Query:
        """The query tree as engine queries over title and body, the title weighted."""
        if isinstance(node, Not):
            return self._text(node.item, search_in, context)
        if isinstance(node, And):
            return tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.MustNot, self._text(item.item, search_in, context.unranked()))
                    if isinstance(item, Not)
                    else (tantivy.Occur.Must, self._text(item, search_in, context))
                    for item in node.items
                ]
            )
        if isinstance(node, Or):
            return tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Should, self._text(item, search_in, context))
                    for item in node.items
                ]
            )
        words = self._words([node.text] if isinstance(node, Term) else node.words)
        fields = ["title", "body"] if search_in == "all" else [search_in]
        per_field = [
            tantivy.Query.boost_query(
                self._words_query(field, words, node.prefix, context),
                TITLE_WEIGHT if field == "title" else BODY_WEIGHT,
            )
            for field in fields
        ]
        if len(per_field) == 1:
            return per_field[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in per_field])

    def _words_query(
        self, field: str, words: list[str], prefix: bool, context: _Words
    ) -> tantivy.Query:
        # The words are runs of letters, digits and marks (WORD_PATTERN): nothing in them
        # is regular-expression syntax.
        if not words:
            return tantivy.Query.empty_query()
        if len(words) == 1 and not prefix:
            return tantivy.Query.term_query(self.schema, field, words[0])
        if len(words) == 1:
            if context.ranked and context.searcher is not None:
                return self._ranked_prefix(context.searcher, field, words[0])
            return tantivy.Query.regex_query(self.schema, field, f"{words[0]}.*")
        if not prefix:
            return tantivy.Query.phrase_query(self.schema, field, list(words))
        # Scored as a phrase is, over every word the prefix stands for (the engine's phrase
        # prefix query tries only the first 50 of them in each segment, and missed matches).
        if context.searcher is not None:
            self._check_phrase_prefix(context.searcher, field, words)
        return tantivy.Query.regex_phrase_query(self.schema, field, [*words[:-1], f"{words[-1]}.*"])

    def _ranked_prefix(self, searcher: tantivy.Searcher, field: str, prefix: str) -> tantivy.Query:
        """A prefix* as the words it stands for in `searcher`'s index, each scored as a word
        is (the engine scores a regex query's matches all alike); past RANKED_PREFIX_WORDS,
        the most frequent ones, the others' articles matching unscored."""
        found = searcher.terms_with_prefix(field, prefix, limit=RANKED_PREFIX_WORDS + 1)
        each = [
            tantivy.Query.term_query(self.schema, field, word)
            for word, _ in found[:RANKED_PREFIX_WORDS]
        ]
        if len(found) > RANKED_PREFIX_WORDS:
            unscored = tantivy.Query.regex_query(self.schema, field, f"{prefix}.*")
            each.append(tantivy.Query.const_score_query(unscored, 0.0))
        if not each:
            return tantivy.Query.empty_query()
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, query) for query in each])

    def _check_phrase_prefix(
        self, searcher: tantivy.Searcher, field: str, words: list[str]
    ) -> None:
        """QuerySyntaxError when a phrase's last word, a prefix, stands for more words than
        the engine expands in a phrase (it would refuse the query while searching)."""
        found = searcher.terms_with_prefix(field, words[-1], limit=PHRASE_PREFIX_WORDS + 1)
        if len(found) > PHRASE_PREFIX_WORDS:
            phrase, most = " ".join(words), PHRASE_PREFIX_WORDS
            raise QuerySyntaxError(
                f'the phrase "{phrase}"* ends in a prefix of more than {most:,} words',
                None,
                "write more letters of its last word, or search the phrase without the *",
            )

    def count(self, searcher: tantivy.Searcher, flt: ArticleFilter) -> int:
        if flt == ArticleFilter():  # every article: the index knows how many it holds
            return int(searcher.num_docs)
        return matches_count(searcher, self.compile(flt, None, searcher))

    def ids_of(self, searcher: tantivy.Searcher, query: tantivy.Query, limit: int) -> list[int]:
        """Up to `limit` ids of a compiled filter's matches, by id (no scores, no dates read)."""
        return self._ids_by_id(searcher, query, False, limit)

    def relevance_page(
        self,
        searcher: tantivy.Searcher,
        flt: ArticleFilter,
        snapshot: int | None,
        rank: int,
        limit: int,
    ) -> Page:
        """Best matches first, equal scores by id (as the database orders them), from
        position `rank` on.

        The engine orders equal scores by where the documents sit in its segments, and two
        nodes' indexes, built and merged at different times, place them differently: a page
        would differ between nodes, and a walk across them could repeat or skip a match. So
        the page is read with a margin on both sides, widened until it holds every match
        with the score at its first and at its last position, and re-sorted. A wider read
        costs the engine more than its rows (a larger top-n prunes less), so the margin
        starts at one match.
        """
        if rank >= searcher.num_docs:
            # Past the last document: nothing to rank (and the engine would allocate a
            # buffer of rank + limit entries before finding that out).
            return Page(ids=[], scores=[])
        query = self.compile(flt, snapshot, searcher, ranked=True)
        margin = 1  # one match beyond each end of the page shows whether its group ends there
        while True:
            start = max(0, rank - margin)
            wanted = rank + limit + margin - start
            hits = searcher.search(query, wanted, count=False, offset=start).hits
            first, last = rank - start, min(rank + limit, start + len(hits)) - start - 1
            if first > last:  # fewer matches than `rank`
                return Page(ids=[], scores=[])
            whole_first = start == 0 or hits[0][0] > hits[first][0]
            whole_last = len(hits) < wanted or hits[-1][0] < hits[last][0]
            if whole_first and whole_last:
                break
            margin = max(margin * 8, limit)  # a group of equal scores wider than the margin
        addresses = [address for _, address in hits]
        ids = _ints(searcher.fast_field_values("id", addresses))
        ordered = sorted(zip(hits, ids, strict=True), key=lambda hit: (-hit[0][0], hit[1]))
        window = ordered[first : last + 1]
        return Page(ids=[i for _, i in window], scores=[float(score) for (score, _), _ in window])

    def date_page(
        self,
        searcher: tantivy.Searcher,
        flt: ArticleFilter,
        snapshot: int | None,
        descending: bool,
        after: tuple[datetime | None, int] | None,
        limit: int,
    ) -> Page:
        """Newest (or oldest) first, after the (published_at, id) of the last row read.

        Dated matches come first, then undated ones by id: two segments, as in the
        database (articles._date_page).
        """
        query = self.compile(flt, snapshot, searcher)
        last_date, last_id = after if after is not None else (None, 0)
        ids: list[int] = []
        if after is None or last_date is not None:
            bound = (micros(last_date), last_id) if last_date is not None else None
            ids = self._dated_ids(searcher, query, descending, bound, limit)
        if len(ids) < limit:
            undated = self._both(query, self._undated())
            if after is not None and last_date is None:  # the walk is in this segment
                undated = self._both(undated, self._id_beyond(last_id, descending))
            ids += self._ids_by_id(searcher, undated, descending, limit - len(ids))
        return Page(ids=ids, scores=[None] * len(ids))

    def _dated_ids(
        self,
        searcher: tantivy.Searcher,
        query: tantivy.Query,
        descending: bool,
        after: tuple[int, int] | None,
        limit: int,
    ) -> list[int]:
        """Up to `limit` dated matches in date order after `after` (a `published` value and
        an id), equal dates by id.

        One search ordered by `published` fetches a row beyond the page; only when that row
        has the date of the page's last one does the page end inside a group of equal dates,
        and then one more search, ordered by `id` within that date, finishes the page.
        """
        if limit <= 0:
            return []
        if after is None:
            rest = self._both(query, tantivy.Query.exists_query("published"))
        else:
            at, last_id = after
            beyond = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Should, self._published_beyond(at, descending)),
                    (
                        tantivy.Occur.Should,
                        self._both(self._published_at(at), self._id_beyond(last_id, descending)),
                    ),
                ]
            )
            rest = self._both(query, beyond)
        found = searcher.search(
            rest, limit + 1, count=False, order_by_field="published", order=_order(descending)
        )
        dates = [int(value) for value, _ in found.hits]
        ids = searcher.fast_field_values("id", [address for _, address in found.hits])
        rows = sorted(zip(dates, _ints(ids), strict=True), reverse=descending)
        if len(rows) <= limit or dates[limit] != dates[limit - 1]:
            return [article_id for _, article_id in rows[:limit]]
        cut = dates[limit]  # the page ends inside this date's group
        before = [article_id for date, article_id in rows if date != cut]
        group = self._both(rest, self._published_at(cut))
        return before + self._ids_by_id(searcher, group, descending, limit - len(before))

    def _ids_by_id(
        self,
        searcher: tantivy.Searcher,
        query: tantivy.Query,
        descending: bool,
        limit: int,
        offset: int = 0,
    ) -> list[int]:
        if limit <= 0:
            return []
        found = searcher.search(
            query, limit, count=False, order_by_field="id", order=_order(descending), offset=offset
        )
        return [int(article_id) for article_id, _ in found.hits]

    def key_at(
        self,
        searcher: tantivy.Searcher,
        flt: ArticleFilter,
        sort: str,
        offset: int,
        snapshot: int,
    ) -> list[Any] | None:
        """The cursor key after the first `offset` (>= 1) results in `sort` order (None when
        there are fewer), so that any page is one seek: the NewsAPI `page` parameter."""
        query = self.compile(flt, snapshot, searcher)
        if sort == "relevance":
            found = searcher.search(query, 1, count=False, offset=offset - 1)
            return [None, None, offset] if found.hits else None
        descending, position = sort == "-published_at", offset - 1
        dated = self._both(query, tantivy.Query.exists_query("published"))
        found = searcher.search(
            dated,
            1,
            count=False,
            order_by_field="published",
            order=_order(descending),
            offset=position,
        )
        if not found.hits:  # past the dated matches: the undated ones follow, by id
            skip = position - matches_count(searcher, dated)
            undated = self._both(query, self._undated())
            ids = self._ids_by_id(searcher, undated, descending, 1, offset=skip)
            return [None, ids[0]] if ids else None
        # The row at `position` has this date; its place among that date's group, by id, is
        # the position less the matches of dates before it.
        date = int(found.hits[0][0])
        earlier = self._both(query, self._published_beyond(date, not descending))
        skip = position - matches_count(searcher, earlier)
        ids = self._ids_by_id(
            searcher, self._both(query, self._published_at(date)), descending, 1, skip
        )
        return [moment_of(date).isoformat(), ids[0]] if ids else None

    # -- the pieces of the date orders -------------------------------------------------

    @staticmethod
    def _both(first: tantivy.Query, second: tantivy.Query) -> tantivy.Query:
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, first), (tantivy.Occur.Must, second)]
        )

    @staticmethod
    def _undated() -> tantivy.Query:
        return tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, tantivy.Query.all_query()),
                (tantivy.Occur.MustNot, tantivy.Query.exists_query("published")),
            ]
        )

    def _published_at(self, value: int) -> tantivy.Query:
        return tantivy.Query.term_query(self.schema, "published", value)

    def _published_beyond(self, value: int, descending: bool) -> tantivy.Query:
        """Dates after `value` in the order: earlier ones newest first, later ones oldest first."""
        kind = tantivy.FieldType.Integer
        if descending:
            return tantivy.Query.range_query(
                self.schema, "published", kind, None, value, include_upper=False
            )
        return tantivy.Query.range_query(
            self.schema, "published", kind, value, None, include_lower=False
        )

    def _id_beyond(self, article_id: int, descending: bool) -> tantivy.Query:
        """Ids after `article_id` in the order (the id of a cursor is at least 1)."""
        if descending:
            return id_range(self.schema, None, article_id - 1)
        return id_range(self.schema, article_id + 1, None)

    def aggregate(
        self, searcher: tantivy.Searcher, flt: ArticleFilter, spec: dict[str, Any]
    ) -> Any:
        return searcher.aggregate(self.compile(flt, None, searcher), spec)


def matches_count(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    """How many documents match `query`."""
    result = searcher.search(query, 1, count=True)
    return int(result.count)  # type: ignore[attr-defined]  # tantivy's stub omits count


def _ints(values: Sequence[int | float | bool | None]) -> list[int]:
    """Fast-field values of a field every document has (the id), as ints."""
    return [int(value) for value in values if value is not None]


def _order(descending: bool) -> tantivy.Order:
    return tantivy.Order.Desc if descending else tantivy.Order.Asc


def index_directory(settings: Settings) -> Path | None:
    """Where the settings' tantivy index lives, or None when search runs in the database
    (on PostgreSQL each node names its own folder: search_index_dir)."""
    return _index_directory(
        settings.search_engine, settings.search_index_dir, settings.database_url
    )


@lru_cache(maxsize=64)
def _index_directory(engine: str, configured: Path | None, database_url: str) -> Path | None:
    """index_directory's answer (asked on every request: parsing the URL was most of it)."""
    if engine != "tantivy":
        return None
    if configured is not None:
        return configured
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).with_suffix(".index")


_indexes: dict[Path, SearchIndex] = {}
_indexes_lock = Lock()


def search_index_for(settings: Settings) -> SearchIndex | None:
    """The settings' index, one object per directory and process; None without one."""
    directory = index_directory(settings)
    if directory is None:
        return None
    with _indexes_lock:
        if directory not in _indexes:
            _indexes[directory] = SearchIndex(directory)
        return _indexes[directory]


def forget_search_indexes() -> None:
    """Let go of this process's index objects (search_index_for opens them again when
    asked): before forking workers, which must each open their own."""
    with _indexes_lock:
        _indexes.clear()


@dataclass(frozen=True)
class _Words:
    """How SearchIndex.compile turns words into engine queries: the index they will search
    (None: any), and whether their scores order the result."""

    searcher: tantivy.Searcher | None
    ranked: bool

    def unranked(self) -> _Words:
        """For words that only exclude (NOT): they need no score."""
        return _Words(self.searcher, ranked=False)
