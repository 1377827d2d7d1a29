"""The bulk path: JSONL articles whose entities are already known, loaded without NER or ORM.

The record format is in app/ingest/read/bulk_records.py. On PostgreSQL the rows go in by
COPY instead (app/ingest/store/bulk_postgres.py), with the same checks, maps and row builders.

Rows go in with executemany in large transactions; sources and entities are resolved
through in-memory maps (name → id, alias key → id) instead of a query per name. An entity
name is matched to a stored entity by its alias key only (no fuzzy linking: the entities
are taken as given). Articles already stored (same content hash or URL) are skipped, never
updated; `newsdesk ingest` updates. The full-text index is kept in step either by the
triggers, row by row (`fts="triggers"`, one commit per batch), or (`fts="deferred"`) by
dropping the insert trigger, loading everything in one transaction and indexing the new
rows with one statement before the trigger is restored in the same transaction.

The search index's change log gets one row per new article: the link and tag triggers are
set aside inside each transaction (its articles are logged already), which no other
connection can see. `newsdesk load-jsonl` then syncs the search index.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson
from sqlalchemy import Connection, Table, bindparam, func, insert, select, text
from sqlalchemy.engine import Engine

from app.faults import kill_point
from app.ingest.document import ReadFailure
from app.ingest.read.bulk_records import BulkArticle, BulkEntity, read_records
from app.ingest.store.articles import domain_of
from app.keys import name_key as _name_key
from app.models import Article, Entity, EntityAlias, Source, utc_now
from app.search.filter import Facts, document_reads
from app.search.letters import fold_letters
from app.search.tantivy.sync import linked_facts

if TYPE_CHECKING:
    from app.search.tantivy.feed import IndexFeed

FtsMode = Literal["triggers", "deferred"]
_INSERT_TRIGGER = "article_fts_insert"
_FOLD_FUNCTION = "newsdesk_fold_letters"  # fold_letters, for this connection's SQL
_FTS_HASH_BYTES = 1024 * 1024  # FTS5's own default
_LOAD_FTS_HASH_BYTES = 64 * 1024 * 1024
# Change-log triggers redundant while whole articles are inserted (migration 0004).
_LINK_TRIGGERS = ("search_change_link_insert", "search_change_tag_insert")
_MEMO_SIZE = 500_000  # remembered entities and form sets (a cache: cleared when full)
_LOAD_CACHE_KIB = 512 * 1024  # SQLite's page cache while loading in one transaction
_FEW_ARTICLES = 10_000  # a load into an archive this small builds its indexes after the rows
_LOOKUP_CHUNK = 5_000  # values per IN list (SQLite allows 32,766 parameters)


# A recombined corpus repeats the same few thousand names millions of times.
name_key = lru_cache(maxsize=200_000)(_name_key)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


ARTICLE, SOURCE, ENTITY, ALIAS = (_table(m) for m in (Article, Source, Entity, EntityAlias))


@dataclass
class BulkReport:
    added: int = 0
    skipped: int = 0
    failures: list[ReadFailure] = field(default_factory=list)
    seconds: float = 0.0
    index_seconds: float = 0.0

    def summary(self) -> str:
        rate = self.added / self.seconds if self.seconds else 0.0
        return (
            f"{self.added} added, {self.skipped} skipped (already stored), "
            f"{len(self.failures)} failed in {self.seconds:.1f}s ({rate:,.0f} articles/s)"
        )


class _Names:
    """Sources and entities by name, loaded once; new ones get ids without a query each."""

    def __init__(self, connection: Connection) -> None:
        self.sources: dict[str, int] = {}
        self.domains: dict[int, str | None] = {}  # what an index document reads of a source
        for name, source_id, domain in connection.execute(
            select(SOURCE.c.name, SOURCE.c.id, SOURCE.c.domain)
        ):
            self.sources[name], self.domains[source_id] = source_id, domain
        aliases = connection.execute(select(ALIAS.c.key, ALIAS.c.entity_type, ALIAS.c.entity_id))
        self.aliases = {(key, kind): entity_id for key, kind, entity_id in aliases}
        named = connection.execute(select(ENTITY.c.name, ENTITY.c.type, ENTITY.c.id))
        self.named = {(name, kind): entity_id for name, kind, entity_id in named}
        self.types = {entity_id: kind for (_, kind), entity_id in self.named.items()}
        self.next_source = _max_id(connection, SOURCE) + 1
        self.next_entity = _max_id(connection, ENTITY) + 1
        self.new_sources: list[dict[str, Any]] = []
        self.new_entities: list[dict[str, Any]] = []
        self.new_aliases: list[dict[str, Any]] = []
        self.known: dict[tuple[str, str, tuple[str, ...]], int] = {}
        self.stored_forms: dict[tuple[str, ...], str] = {}

    def source_id(self, name: str | None, url: str | None) -> int | None:
        if name is None:
            return None
        if name not in self.sources:
            self.sources[name] = self.next_source
            self.domains[self.next_source] = domain = domain_of(url)
            self.new_sources.append({"id": self.next_source, "name": name, "domain": domain})
            self.next_source += 1
        return self.sources[name]

    def entity_id(self, entity: BulkEntity) -> int:
        """The entity a name's alias key (or exact name) points to, else a new one.

        An entity given again with the same forms resolves the same way and adds no alias
        (the maps only grow, and its name's key went in with it), so it is a lookup.
        """
        name, kind, _, forms = entity
        given = (name, kind, forms)
        entity_id = self.known.get(given)
        if entity_id is None:
            entity_id = self._resolve((name, kind))
            for form in (name, *forms):
                self._add_alias(form, kind, entity_id)
            if len(self.known) > _MEMO_SIZE:
                self.known.clear()
            self.known[given] = entity_id
        return entity_id

    def forms_json(self, forms: tuple[str, ...]) -> str:
        """A link's forms as stored: distinct, sorted, JSON (the same few sets recur)."""
        stored = self.stored_forms.get(forms)
        if stored is None:
            if len(self.stored_forms) > _MEMO_SIZE:
                self.stored_forms.clear()
            stored = self.stored_forms[forms] = orjson.dumps(sorted(set(forms))).decode()
        return stored

    def _resolve(self, named: tuple[str, str]) -> int:
        entity_id = self.aliases.get((name_key(named[0]), named[1]), self.named.get(named))
        if entity_id is None:
            entity_id = self.named[named] = self.next_entity
            self.types[entity_id] = named[1]
            self.new_entities.append({"id": entity_id, "name": named[0], "type": named[1]})
            self.next_entity += 1
        return entity_id

    def _add_alias(self, form: str, kind: str, entity_id: int) -> None:
        form_key = (name_key(form), kind)
        if form_key[0] and form_key not in self.aliases:
            self.aliases[form_key] = entity_id
            self.new_aliases.append(
                {"alias": form, "key": form_key[0], "entity_type": kind}
                | {"entity_id": entity_id, "curated": False}
            )

    def flush(self, connection: Connection) -> None:
        """Insert the sources, entities and aliases met since the last flush."""
        for table, rows in (
            (Source, self.new_sources),
            (Entity, self.new_entities),
            (EntityAlias, self.new_aliases),
        ):
            if rows:
                connection.execute(insert(table), rows)
            rows.clear()


def _max_id(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())


class BulkLoader:
    """Loads JSONL records into one database, `batch_size` articles per executemany; lines
    are parsed and checked in a worker `pool`'s processes, if given, and stored by this one
    in file order."""

    def __init__(
        self,
        engine: Engine,
        batch_size: int = 5_000,
        fts: FtsMode = "triggers",
        max_line_bytes: int = 5_000_000,
        max_file_bytes: int = 2_000_000_000,
        pool: Executor | None = None,
        feed: IndexFeed | None = None,
    ) -> None:
        self.engine = engine
        self.pool = pool
        self.max_line_bytes, self.max_file_bytes = max_line_bytes, max_file_bytes
        self.batch_size = batch_size
        self.sqlite = engine.dialect.name == "sqlite"
        self.fts: FtsMode = fts if self.sqlite else "triggers"
        # Only a deferred load is one transaction, whose rows the index can be fed.
        self.feed = feed if self.fts == "deferred" else None
        self.report = BulkReport()

    def load(self, paths: Iterable[Path]) -> BulkReport:
        started = time.perf_counter()
        records = read_records(paths, self.max_line_bytes, self.max_file_bytes, self.pool)
        if not self.sqlite:
            from app.ingest.store.bulk_postgres import load_batches  # it imports this module

            load_batches(self.engine, records, self.batch_size, self.report)
        elif self.fts == "deferred":
            with (
                self.engine.begin() as connection,
                _set_aside(connection, _LINK_TRIGGERS),
                _large_cache(connection),
                _indexes_built_after(connection),
            ):
                self._load_deferred(connection, records)
        else:
            while batch := list(islice(records, self.batch_size)):
                with self.engine.begin() as connection, _set_aside(connection, _LINK_TRIGGERS):
                    self._store(connection, batch, _Names(connection))
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _load_deferred(
        self, connection: Connection, records: Iterator[BulkArticle | ReadFailure]
    ) -> None:
        """Drop the insert trigger, load, index the new rows at once, restore the trigger."""
        trigger_sql = connection.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name"),
            {"name": _INSERT_TRIGGER},
        ).scalar_one()
        connection.exec_driver_sql(f"DROP TRIGGER {_INSERT_TRIGGER}")
        if self.feed is not None:  # this transaction holds the write lock now
            self.feed.begin(connection)
        first_new = _next_article_id(connection)
        names = _Names(connection)  # one transaction: no other writer adds names meanwhile
        while batch := list(islice(records, self.batch_size)):
            self._store(connection, batch, names)
        indexing = time.perf_counter()
        _index_new_articles(connection, first_new)
        self.report.index_seconds = time.perf_counter() - indexing
        connection.exec_driver_sql(trigger_sql)
        if self.feed is not None:
            self.feed.end(connection)

    def _store(
        self, connection: Connection, batch: list[BulkArticle | ReadFailure], names: _Names
    ) -> None:
        """Insert a batch's new articles with their sources, tags and entity links."""
        rows = _new_rows(connection, batch, self.report, lambda: names)
        if rows is None:
            return
        names.flush(connection)
        _insert_articles(connection, rows.articles)
        # The link tables are most of the rows: no per-row bind processing.
        for table, columns, values in (
            ("article_tag", ("article_id", "tag"), rows.tags),
            ("article_entity", ("article_id", "entity_id", "mentions", "forms"), rows.links),
        ):
            if values:
                _insert_rows(connection, table, columns, values)
        self.report.added += len(rows.articles)
        if self.feed is not None and self.feed.active:
            self.feed.add(_index_facts(rows))
        kill_point("bulk_batch_stored")


@dataclass
class _Rows:
    """A batch's new articles as rows (ids from the next free one), their tags and links, and
    the name maps holding the sources and entities they add."""

    names: _Names
    articles: list[dict[str, Any]] = field(default_factory=list)
    tags: list[tuple[int, str]] = field(default_factory=list)
    links: list[tuple[Any, ...]] = field(default_factory=list)


def _new_rows(
    connection: Connection,
    batch: list[BulkArticle | ReadFailure],
    report: BulkReport,
    names_for: Callable[[], _Names],
) -> _Rows | None:
    """The rows of a batch's articles not stored yet, None when there are none; the batch's
    failures and skipped duplicates are counted in the report. names_for gives the name maps
    once there is something to store."""
    report.failures += [item for item in batch if isinstance(item, ReadFailure)]
    given = [item for item in batch if isinstance(item, BulkArticle)]
    records = _new_records(connection, given)
    report.skipped += len(given) - len(records)
    if not records:
        return None
    names = names_for()
    next_id = _next_article_id(connection)
    now = utc_now()
    rows = _Rows(names)
    for offset, record in enumerate(records):
        article_id = next_id + offset
        rows.articles.append(_article_row(record, article_id, names, now))
        rows.tags += [(article_id, tag) for tag in dict.fromkeys(record.tags)]
        rows.links += _entity_links(article_id, record.entities, names)
    return rows


def _index_facts(rows: _Rows) -> Iterator[Facts]:
    """What each new article's index document is made of, from the rows in hand: the same
    facts sync.document_facts reads back from the stored rows."""
    links: dict[int, list[tuple[int, str]]] = {}
    for article_id, entity_id, *_ in rows.links:
        links.setdefault(article_id, []).append((entity_id, rows.names.types[entity_id]))
    tags: dict[int, list[str]] = {}
    for article_id, tag in rows.tags:
        tags.setdefault(article_id, []).append(tag)
    domains = rows.names.domains
    columns = ("id", "title", "body", "published_at", *document_reads())
    for row in rows.articles:
        article_id = row["id"]
        facts = {column: row[column] for column in columns}
        facts.update(
            linked_facts(
                links.get(article_id, ()), tags.get(article_id, ()), domains.get(row["source_id"])
            )
        )
        yield facts


def _index_new_articles(connection: Connection, first_new: int) -> None:
    """Add the articles from id first_new on to the FTS5 index with one statement, their
    text folded as the insert trigger folds it (migration 0012's SQL), by the same table in
    Python: one look for a letter to fold costs less than the SQL's 27 replace() calls.

    FTS5 gathers new terms in memory and writes them out as a segment, to be merged with
    the others, whenever they pass its hash size (1 MB by default); 64 MB for this
    statement made a 100,000-article index 40% faster (far fewer segments to merge)."""
    driver = connection.connection.driver_connection
    driver.create_function(_FOLD_FUNCTION, 1, _fold_letters_or_null, deterministic=True)  # type: ignore[union-attr]
    _fts_config(connection, "hashsize", _LOAD_FTS_HASH_BYTES)
    connection.execute(
        text(
            f"INSERT INTO article_fts(rowid, title, body) "
            f"SELECT id, {_FOLD_FUNCTION}(title), {_FOLD_FUNCTION}(body) "
            "FROM article WHERE id >= :first ORDER BY id"
        ),
        {"first": first_new},
    )
    _fts_config(connection, "hashsize", _FTS_HASH_BYTES)


def _fts_config(connection: Connection, name: str, value: int) -> None:
    """Set an FTS5 option of the article index (stored with it: every connection's)."""
    connection.execute(
        text("INSERT INTO article_fts(article_fts, rank) VALUES (:name, :value)"),
        {"name": name, "value": value},
    )


def _fold_letters_or_null(text: str | None) -> str | None:
    return None if text is None else fold_letters(text)


def _insert_articles(connection: Connection, articles: list[dict[str, Any]]) -> None:
    """The article rows, each value converted as an ORM insert converts it (JSON text, the
    stored form of a date), by driver executemany: a third of the time of `insert(Article)`,
    whose per-row parameter handling is most of its cost here."""
    columns = tuple(articles[0])
    convert = _bind_processors(connection, columns)
    rows = [
        tuple(
            value if to is None else to(value)
            for to, value in zip(convert, row.values(), strict=True)
        )
        for row in articles
    ]
    _insert_rows(connection, "article", columns, rows)


def _bind_processors(
    connection: Connection, columns: tuple[str, ...]
) -> list[Callable[[Any], Any] | None]:
    dialect = connection.dialect
    return [ARTICLE.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns]


def _insert_rows(
    connection: Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Plain rows into a table with executemany (SQLite's; PostgreSQL's go by COPY)."""
    marks = ", ".join("?" * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    connection.exec_driver_sql(sql, rows)


@contextmanager
def _set_aside(connection: Connection, triggers: Iterable[str]) -> Iterator[None]:
    """Drop the named triggers for the rest of this transaction, then create them again."""
    definitions = [
        sql
        for (sql,) in connection.execute(
            text(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name IN :names"
            ).bindparams(bindparam("names", expanding=True)),
            {"names": list(triggers)},
        )
    ]
    for name in triggers:
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    yield
    for sql in definitions:
        connection.exec_driver_sql(sql)


@contextmanager
def _indexes_built_after(connection: Connection) -> Iterator[None]:
    """For a load into an archive of fewer than _FEW_ARTICLES: the article, link and tag
    tables' secondary indexes dropped, and built again from all their rows at the end of
    the transaction (a sort), instead of updated row by row at random places. At 100,000
    articles the links alone went in 37% faster. Unique indexes stay: they find the
    records already stored. A bigger archive keeps its indexes (rebuilding them would cost
    more than the load saves)."""
    (held,) = connection.execute(
        text("SELECT count(*) FROM (SELECT 1 FROM article LIMIT :few)"), {"few": _FEW_ARTICLES}
    ).one()
    definitions = (
        []
        if held >= _FEW_ARTICLES
        else list(
            connection.execute(
                text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                    "AND tbl_name IN ('article', 'article_entity', 'article_tag') "
                    "AND sql NOT LIKE 'CREATE UNIQUE%'"
                )
            )
        )
    )
    for name, _ in definitions:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _, sql in definitions:
        connection.exec_driver_sql(sql)


@contextmanager
def _large_cache(connection: Connection) -> Iterator[None]:
    """SQLite: a page cache that holds the indexes a large load updates, for its duration
    (the default 2 MB makes each index insert of a big load a read from the file)."""
    default = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size = -{_LOAD_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(default)}")


def _new_records(connection: Connection, records: list[BulkArticle]) -> list[BulkArticle]:
    """The records whose content hash and URL are neither stored nor earlier in the batch."""
    hashes = [r.values["content_hash"] for r in records]
    urls = [r.values["url"] for r in records if r.values["url"]]
    seen = set(_stored(connection, "content_hash", hashes)) | set(_stored(connection, "url", urls))
    fresh = []
    for record in records:
        keys = {record.values["content_hash"], record.values["url"]} - {None}
        if keys & seen:
            continue
        seen |= keys
        fresh.append(record)
    return fresh


def _stored(connection: Connection, column: str, values: list[str]) -> list[str]:
    """Which of `values` the article column holds (driver SQL: a batch's thousands of
    parameters would cost more to compile as a SQLAlchemy expression than to look up)."""
    found: list[str] = []
    for start in range(0, len(values), _LOOKUP_CHUNK):
        chunk = values[start : start + _LOOKUP_CHUNK]
        parameters: list[Any]
        if connection.dialect.name == "sqlite":
            marks = ", ".join("?" * len(chunk))
            sql, parameters = f"SELECT {column} FROM article WHERE {column} IN ({marks})", chunk
        else:
            sql, parameters = f"SELECT {column} FROM article WHERE {column} = ANY(%s)", [chunk]
        found += [value for (value,) in connection.exec_driver_sql(sql, tuple(parameters))]
    return found


def _article_row(record: BulkArticle, article_id: int, names: _Names, now: Any) -> dict[str, Any]:
    return {
        **record.values,
        "id": article_id,
        "source_id": names.source_id(record.source, record.values["url"]),
        "subtitle": None,
        "dateline": None,
        "origin": record.origin,
        "origins": [record.origin],
        "cites": [],
        "extra": {},
        "duplicate_of": None,
        "fingerprint": None,
        "ingested_at": now,
        "updated_at": now,
    }


def _entity_links(
    article_id: int, entities: list[BulkEntity], names: _Names
) -> list[tuple[int, int, int, str]]:
    """One link row per distinct entity: mentions added up, forms merged (JSON)."""
    mentions: dict[int, int] = {}
    forms: dict[int, tuple[str, ...]] = {}
    for entity in entities:
        entity_id = names.entity_id(entity)
        name, _, count, given = entity
        given = given or (name,)
        if entity_id in mentions:
            mentions[entity_id] += count
            forms[entity_id] += given
        else:
            mentions[entity_id], forms[entity_id] = count, given
    return [
        (article_id, entity_id, count, names.forms_json(forms[entity_id]))
        for entity_id, count in mentions.items()
    ]


def _next_article_id(connection: Connection) -> int:
    """Above every id ever used: SQLite's AUTOINCREMENT never reuses a deleted article's id."""
    highest = _max_id(connection, ARTICLE)
    if connection.dialect.name == "sqlite":
        used = connection.execute(
            text("SELECT seq FROM sqlite_sequence WHERE name = 'article'")
        ).scalar_one_or_none()
        highest = max(highest, int(used or 0))
    return highest + 1
