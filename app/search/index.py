"""The tantivy search index: a derived copy of the articles that answers searches fast.

The database stays the store of record; the index can be thrown away and rebuilt from it at
any time (`newsdesk reindex`). Triggers (migration 0004) append the id of every article
whose searchable data changes to `search_change`; `SearchIndex.sync` applies the changes
after the index's watermark (the last change it holds), then moves the watermark. A crash
between a database commit and an index commit is so repaired by the next sync.

The API searches the index only while it is current: its watermark equals the database's
newest change. Otherwise (no index yet, an ingest that crashed, another process's writes
not yet applied) it answers from FTS5, slower but never stale.

Everything a filter needs is an indexed field, and the date orders are fast fields, so the
engine returns the page's ids and scores; the database then reads just those rows.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import tantivy
from sqlalchemy import Connection, select, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from app.models import Article, Source
from app.search.query import And, Not, Or, Query, Term
from app.search.text import BODY_WEIGHT, TITLE_WEIGHT, SearchIn

if TYPE_CHECKING:
    from app.config import Settings
    from app.search.articles import ArticleFilter

log = logging.getLogger("newsdesk.search")

# Bump when the fields or the analyzer change: an index of another version is rebuilt.
SCHEMA_VERSION = 2
STATE_FILE = "newsdesk-index.json"
WORDS = "newsdesk_words"
# Words as the query parser and FTS5's unicode61 see them: runs of letters, digits and
# marks, lower-cased, accents removed.
WORD_PATTERN = r"[\p{L}\p{N}\p{M}\p{Co}]+"
READ_CHUNK = 2_000
WRITER_HEAP_BYTES = 256_000_000
# Changes to more than this share of the index are applied by rebuilding it.
REBUILD_SHARE = 0.25
# Date order keys: seconds since 1900 (33 bits, to the year 2172) above the id (31 bits).
ID_BITS = 31
ID_MASK = (1 << ID_BITS) - 1
SECONDS_1900 = 2_208_988_800
MAX_SECONDS = (1 << 33) - 2
MICROS_PER_DAY = 86_400_000_000

DateOrder = Literal["newest_first", "oldest_first"]


def words_analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(WORD_PATTERN))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def build_schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", indexed=True, fast=True)
    builder.add_text_field("title", tokenizer_name=WORDS)
    builder.add_text_field("body", tokenizer_name=WORDS)
    builder.add_unsigned_field("source", indexed=True, fast=True)
    builder.add_integer_field("published", indexed=True, fast=True)  # microseconds, UTC
    builder.add_unsigned_field("newest_first", fast=True)
    builder.add_unsigned_field("oldest_first", fast=True)
    builder.add_unsigned_field("month", fast=True)  # year * 12 + month - 1
    builder.add_integer_field("day", fast=True)  # days since 1970-01-01, UTC
    builder.add_text_field("language", tokenizer_name="raw", index_option="basic", fast=True)
    builder.add_text_field("tag", tokenizer_name="raw", index_option="basic")
    builder.add_unsigned_field("entity", indexed=True, fast=True)
    builder.add_text_field("entity_type", tokenizer_name="raw", index_option="basic", fast=True)
    builder.add_boolean_field("duplicate", indexed=True)
    builder.add_text_field("host", tokenizer_name="raw", index_option="basic")
    return builder.build()


def date_order_keys(published: datetime | None, article_id: int) -> tuple[int, int]:
    """(newest_first, oldest_first): sort keys giving the date orders of the API.

    Dated articles come first in both orders, by date then id; undated ones follow by id
    (descending, resp. ascending). Dates are compared to the second.
    """
    if published is None:
        return article_id, ((MAX_SECONDS + 1) << ID_BITS) | article_id
    seconds = min(max(int(published.timestamp()) + SECONDS_1900, 0), MAX_SECONDS)
    return ((seconds + 1) << ID_BITS) | article_id, (seconds << ID_BITS) | article_id


def date_of_order_key(key: int, descending: bool) -> tuple[datetime | None, int]:
    """The (published_at to the second, id) a date order key was made from."""
    seconds = (key >> ID_BITS) - (1 if descending else 0)
    undated = seconds < 0 if descending else seconds > MAX_SECONDS
    if undated:
        return None, key & ID_MASK
    return datetime.fromtimestamp(seconds - SECONDS_1900, UTC), key & ID_MASK


def hosts_of(url: str | None, source_domain: str | None) -> list[str]:
    """What a domain filter matches: the source's domain and the URL's host, with and
    without its www. (the same rule as the database filter `on_domains`)."""
    hosts = [source_domain] if source_domain else []
    if url:
        parts = urlsplit(url.strip().lower())
        if parts.scheme in ("http", "https") and parts.netloc:
            hosts.append(parts.netloc)
            if parts.netloc.startswith("www."):
                hosts.append(parts.netloc[4:])
    return list(dict.fromkeys(hosts))


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


@dataclass
class IndexState:
    watermark: int
    version: int = SCHEMA_VERSION


@dataclass
class SyncReport:
    applied: int
    rebuilt: bool
    watermark: int
    seconds: float

    def summary(self) -> str:
        how = "rebuilt" if self.rebuilt else "updated"
        return f"search index {how}: {self.applied} articles in {self.seconds:.1f}s"


class IndexBusy(RuntimeError):
    """Another process holds the index writer."""


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
            state = IndexState(watermark=int(raw["watermark"]), version=int(raw["version"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return state if state.version == SCHEMA_VERSION else None

    def _write_state(self, state: IndexState) -> None:
        partial = self.state_path.with_suffix(".partial")
        partial.write_text(json.dumps({"watermark": state.watermark, "version": state.version}))
        os.replace(partial, self.state_path)

    def _open(self, create: bool = False) -> tantivy.Index | None:
        with self._lock:
            if self._index is None:
                if not create and not (self.directory / "meta.json").exists():
                    return None
                self.directory.mkdir(parents=True, exist_ok=True)
                index = tantivy.Index(self.schema, path=str(self.directory), reuse=True)
                index.register_tokenizer(WORDS, self.analyzer)
                self._index = index
            return self._index

    def current_searcher(self, session: Session) -> tantivy.Searcher | None:
        """A searcher holding every change the database has, else None (search the database).

        Decided once per session (a request), so its page, total and facets agree.
        """
        key = ("newsdesk.searcher", self.directory)
        if key not in session.info:
            state = self.read_state()
            current = state is not None and database_head(session.connection()) <= state.watermark
            session.info[key] = self.any_searcher() if current else None
        return session.info[key]

    def any_searcher(self) -> tantivy.Searcher | None:
        """A searcher whatever the index's lag (a relevance walk begun on the index)."""
        index = self._open() if self.read_state() is not None else None
        if index is None:
            return None
        index.reload()
        return index.searcher()

    # -- writing ---------------------------------------------------------------------

    def sync(self, engine: Engine, wait_seconds: float = 10.0, rebuild: bool = False) -> SyncReport:
        """Apply the database's changes after the watermark (or rebuild); IndexBusy when
        another process kept the writer for `wait_seconds`."""
        started = time.perf_counter()
        state = self.read_state()
        if state is not None and not rebuild:
            with engine.connect() as connection:
                head = database_head(connection)
            if head == state.watermark:
                return SyncReport(0, False, head, time.perf_counter() - started)
        if state is None and self.directory.exists():
            # Another schema version, or a folder that is not a finished index: start over.
            shutil.rmtree(self.directory)
            with self._lock:
                self._index = None
        index = self._open(create=True)
        assert index is not None
        writer = _acquire_writer(index, wait_seconds)
        try:
            with engine.connect() as connection:
                head = database_head(connection)
                changed: list[int] = []
                if state is not None and not rebuild:
                    changed = changed_articles(connection, state.watermark, head)
                    rebuild = len(changed) > REBUILD_SHARE * max(_num_docs(index), 1_000)
                if state is None or rebuild:
                    writer.delete_all_documents()
                    applied = self._add_all(writer, connection)
                else:
                    applied = self._apply(writer, connection, changed)
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        self._write_state(IndexState(watermark=head))
        prune_changes(engine, head)
        report = SyncReport(applied, state is None or rebuild, head, time.perf_counter() - started)
        log.info("search_index_synced", extra={"applied": applied, "rebuilt": report.rebuilt})
        return report

    def _add_all(self, writer: tantivy.IndexWriter, connection: Connection) -> int:
        count, after = 0, 0
        while True:
            ids = list(
                connection.execute(
                    select(Article.id)
                    .where(Article.id > after)
                    .order_by(Article.id)
                    .limit(READ_CHUNK)
                ).scalars()
            )
            if not ids:
                return count
            for document in self._documents(connection, ids):
                writer.add_document(document)
            count += len(ids)
            after = ids[-1]

    def _apply(self, writer: tantivy.IndexWriter, connection: Connection, ids: list[int]) -> int:
        for start in range(0, len(ids), READ_CHUNK):
            chunk = ids[start : start + READ_CHUNK]
            writer.delete_documents_by_query(tantivy.Query.term_set_query(self.schema, "id", chunk))
            for document in self._documents(connection, chunk):
                writer.add_document(document)
        return len(ids)

    def _documents(self, connection: Connection, ids: Sequence[int]) -> Iterator[tantivy.Document]:
        """The index documents of the articles in ids that exist."""
        entities: dict[int, tuple[list[int], set[str]]] = {}
        for article_id, entity_id, entity_type in connection.execute(
            text(
                "SELECT ae.article_id, ae.entity_id, e.type FROM article_entity ae "
                "JOIN entity e ON e.id = ae.entity_id WHERE ae.article_id IN :ids"
            ).bindparams(_expanding("ids")),
            {"ids": list(ids)},
        ):
            linked = entities.setdefault(article_id, ([], set()))
            linked[0].append(entity_id)
            linked[1].add(entity_type)
        tags: dict[int, list[str]] = {}
        for article_id, tag in connection.execute(
            text("SELECT article_id, tag FROM article_tag WHERE article_id IN :ids").bindparams(
                _expanding("ids")
            ),
            {"ids": list(ids)},
        ):
            tags.setdefault(article_id, []).append(tag)
        rows = connection.execute(
            select(
                Article.id,
                Article.title,
                Article.body,
                Article.source_id,
                Article.published_at,
                Article.language,
                Article.url,
                Article.duplicate_of,
                Source.domain,
            )
            .outerjoin(Source, Source.id == Article.source_id)
            .where(Article.id.in_(list(ids)))
        )
        for row in rows:
            linked_ids, types = entities.get(row.id, ([], set()))
            yield self._document(row, linked_ids, sorted(types), tags.get(row.id, []))

    def _document(
        self, row: Any, entity_ids: list[int], entity_types: list[str], tags: list[str]
    ) -> tantivy.Document:
        newest_first, oldest_first = date_order_keys(row.published_at, row.id)
        fields: dict[str, Any] = {
            "id": row.id,
            "title": unicodedata.normalize("NFC", row.title or ""),
            "body": unicodedata.normalize("NFC", row.body or ""),
            "newest_first": newest_first,
            "oldest_first": oldest_first,
            "entity": entity_ids,
            "entity_type": entity_types,
            "tag": tags,
            "duplicate": row.duplicate_of is not None,
            "host": hosts_of(row.url, row.domain),
        }
        if row.source_id is not None:
            fields["source"] = row.source_id
        if row.published_at is not None:
            fields["published"] = _micros(row.published_at)
            fields["day"] = fields["published"] // MICROS_PER_DAY
            fields["month"] = row.published_at.year * 12 + row.published_at.month - 1
        if row.language is not None:
            fields["language"] = row.language
        return tantivy.Document.from_dict(fields, self.schema)

    # -- searching -------------------------------------------------------------------

    def compile(self, flt: ArticleFilter, snapshot: int | None) -> tantivy.Query:
        """The whole filter as one engine query: the text query scores, the rest filters."""
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if flt.query is not None:
            clauses.append((tantivy.Occur.Must, self._text(flt.query, flt.search_in)))
        for occur, condition in self._filters(flt, snapshot):
            clauses.append((occur, tantivy.Query.const_score_query(condition, 0.0)))
        if not any(occur == tantivy.Occur.Must for occur, _ in clauses):
            clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses)

    def _filters(
        self, flt: ArticleFilter, snapshot: int | None
    ) -> Iterator[tuple[tantivy.Occur, tantivy.Query]]:
        must, schema = tantivy.Occur.Must, self.schema

        def one_of(field: str, values: Sequence[Any]) -> tantivy.Query:
            if not values:
                return tantivy.Query.empty_query()
            return tantivy.Query.term_set_query(schema, field, list(values))

        if snapshot is not None:
            yield must, self._range("id", tantivy.FieldType.Unsigned, None, snapshot)
        if flt.source_ids is not None:
            yield must, one_of("source", flt.source_ids)
        if flt.published_from is not None or flt.published_to is not None:
            low = _micros(flt.published_from) if flt.published_from else None
            high = _micros(flt.published_to) if flt.published_to else None
            yield must, self._range("published", tantivy.FieldType.Integer, low, high)
        for group in flt.entity_groups:
            yield must, one_of("entity", group)
        if flt.entity_types:
            yield must, one_of("entity_type", flt.entity_types)
        if flt.languages:
            yield must, one_of("language", flt.languages)
        if flt.tags:
            yield must, one_of("tag", flt.tags)
        if flt.exclude_duplicates:
            yield tantivy.Occur.MustNot, tantivy.Query.term_query(schema, "duplicate", True)
        if flt.domains:
            yield must, one_of("host", flt.domains)
        if flt.exclude_domains:
            yield tantivy.Occur.MustNot, one_of("host", flt.exclude_domains)

    def _range(
        self, field: str, kind: tantivy.FieldType, low: int | None, high: int | None
    ) -> tantivy.Query:
        return tantivy.Query.range_query(self.schema, field, kind, low, high)

    def _words(self, words: Sequence[str]) -> list[str]:
        return [token for word in words for token in self.analyzer.analyze(word)]

    def _text(self, node: Query | Not, search_in: SearchIn) -> tantivy.Query:
        """The query tree as engine queries over title and body, the title weighted."""
        if isinstance(node, Not):
            return self._text(node.item, search_in)
        if isinstance(node, And):
            return tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.MustNot, self._text(item.item, search_in))
                    if isinstance(item, Not)
                    else (tantivy.Occur.Must, self._text(item, search_in))
                    for item in node.items
                ]
            )
        if isinstance(node, Or):
            return tantivy.Query.boolean_query(
                [(tantivy.Occur.Should, self._text(item, search_in)) for item in node.items]
            )
        words = self._words([node.text] if isinstance(node, Term) else node.words)
        fields = ["title", "body"] if search_in == "all" else [search_in]
        per_field = [
            tantivy.Query.boost_query(
                self._words_query(field, words, node.prefix),
                TITLE_WEIGHT if field == "title" else BODY_WEIGHT,
            )
            for field in fields
        ]
        if len(per_field) == 1:
            return per_field[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in per_field])

    def _words_query(self, field: str, words: list[str], prefix: bool) -> tantivy.Query:
        if not words:
            return tantivy.Query.empty_query()
        if len(words) == 1 and prefix:
            return tantivy.Query.regex_query(self.schema, field, f"{words[0]}.*")
        if len(words) == 1:
            return tantivy.Query.term_query(self.schema, field, words[0])
        if prefix:
            return tantivy.Query.phrase_prefix_query(self.schema, field, words)
        return tantivy.Query.phrase_query(self.schema, field, words)

    def count(self, searcher: tantivy.Searcher, flt: ArticleFilter) -> int:
        from app.search.articles import ArticleFilter

        if flt == ArticleFilter():  # every article: the index knows how many it holds
            return int(searcher.num_docs)
        return int(searcher.search(self.compile(flt, None), 1, count=True).count)

    def relevance_page(
        self,
        searcher: tantivy.Searcher,
        flt: ArticleFilter,
        snapshot: int | None,
        rank: int,
        limit: int,
    ) -> Page:
        """Best matches first, from position `rank` on (equal scores in the engine's order)."""
        result = searcher.search(self.compile(flt, snapshot), limit, count=False, offset=rank)
        addresses = [address for _, address in result.hits]
        ids = searcher.fast_field_values("id", addresses) if addresses else []
        scores = [float(score) for score, _ in result.hits]
        return Page(ids=[int(i) for i in ids], scores=scores)

    def date_page(
        self,
        searcher: tantivy.Searcher,
        flt: ArticleFilter,
        snapshot: int | None,
        descending: bool,
        after: tuple[datetime | None, int] | None,
        limit: int,
    ) -> Page:
        """Newest (or oldest) first, after the (published_at, id) of the last row read."""
        order: DateOrder = "newest_first" if descending else "oldest_first"
        query = self.compile(flt, snapshot)
        if after is not None:
            bound = date_order_keys(*after)[0 if descending else 1]
            low, high = (None, bound - 1) if descending else (bound + 1, None)
            key_range = self._range(order, tantivy.FieldType.Unsigned, low, high)
            query = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, query), (tantivy.Occur.Must, key_range)]
            )
        result = searcher.search(
            query,
            limit,
            count=False,
            order_by_field=order,
            order=tantivy.Order.Desc if descending else tantivy.Order.Asc,
        )
        ids = [int(key) & ID_MASK for key, _ in result.hits]
        return Page(ids=ids, scores=[None] * len(ids))

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
        query = self.compile(flt, snapshot)
        if sort == "relevance":
            found = searcher.search(query, 1, count=False, offset=offset - 1)
            return [None, None, offset] if found.hits else None
        descending = sort == "-published_at"
        order: DateOrder = "newest_first" if descending else "oldest_first"
        found = searcher.search(
            query,
            1,
            count=False,
            order_by_field=order,
            order=tantivy.Order.Desc if descending else tantivy.Order.Asc,
            offset=offset - 1,
        )
        if not found.hits:
            return None
        published, article_id = date_of_order_key(int(found.hits[0][0]), descending)
        return [published.isoformat() if published else None, article_id]

    def aggregate(
        self, searcher: tantivy.Searcher, flt: ArticleFilter, spec: dict[str, Any]
    ) -> Any:
        return searcher.aggregate(self.compile(flt, None), spec)


def _num_docs(index: tantivy.Index) -> int:
    index.reload()
    return int(index.searcher().num_docs)


def _acquire_writer(index: tantivy.Index, wait_seconds: float) -> tantivy.IndexWriter:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return index.writer(WRITER_HEAP_BYTES, 1)
        except ValueError as error:
            if "LockBusy" not in str(error) or time.monotonic() >= deadline:
                raise IndexBusy(str(error)) from error
            time.sleep(0.2)


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)


def database_head(connection: Connection) -> int:
    """The sequence number of the newest change the database logged (0: none yet)."""
    value = connection.execute(
        text("SELECT seq FROM sqlite_sequence WHERE name = 'search_change'")
    ).scalar()
    return int(value or 0)


def changed_articles(connection: Connection, after: int, through: int) -> list[int]:
    return list(
        connection.execute(
            text(
                "SELECT DISTINCT article_id FROM search_change "
                "WHERE seq > :after AND seq <= :through ORDER BY article_id"
            ),
            {"after": after, "through": through},
        ).scalars()
    )


def prune_changes(engine: Engine, through: int) -> None:
    """Forget the changes the index holds; a busy database just keeps them for the next time."""
    from sqlalchemy.exc import OperationalError

    try:
        with engine.begin() as connection:
            connection.execute(
                text("DELETE FROM search_change WHERE seq <= :through"), {"through": through}
            )
    except OperationalError as error:
        log.warning("search_change_not_pruned", extra={"error": str(error)})


def index_directory(settings: Settings) -> Path | None:
    """Where the settings' tantivy index lives, or None when search runs in the database."""
    if settings.search_engine != "tantivy" or not settings.is_sqlite:
        return None
    if settings.search_index_dir is not None:
        return settings.search_index_dir
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        return None
    return Path(database).with_suffix(".index")


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


def sync_search_index(
    settings: Settings, engine: Engine, wait_seconds: float = 10.0, rebuild: bool = False
) -> SyncReport | None:
    """Bring the settings' index up to date; None when there is none or it is busy
    (searches then use the database until the next sync)."""
    index = search_index_for(settings)
    if index is None:
        return None
    try:
        return index.sync(engine, wait_seconds=wait_seconds, rebuild=rebuild)
    except IndexBusy as error:
        log.warning("search_index_busy", extra={"error": str(error)})
        return None
