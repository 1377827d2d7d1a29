"""Keeping the search index current: apply the database's change log, or rebuild from it.

Triggers (migrations 0004 and 0006 on SQLite, 0013 on PostgreSQL) append the id of every
article whose searchable data changes to `search_change` (app/search/tantivy/changes.py
reads it). A sync reads the changes after the index's watermark, replaces those articles'
documents (or rebuilds every document when most changed, or when the log was pruned past the
watermark), commits the index, then moves the watermark. A crash anywhere in between leaves
a watermark behind the index's content: the next sync applies those changes again, which
changes nothing. One process writes the index at a time (tantivy's writer lock).

The watermark lives in the index folder only, so a sync can read a read-only replica.
Pruning is the writers' work: on SQLite the applied rows (one index per file), on
PostgreSQL the rows older than the retention (any number of nodes read the log).
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import tantivy
from sqlalchemy import Connection, bindparam, create_engine, func, select, text
from sqlalchemy.engine import URL, Engine
from sqlmodel import col

from app.faults import kill_point
from app.models import Article, Source
from app.parallel import ordered_map
from app.search.filter import Facts, document_fields, document_reads, micros
from app.search.letters import fold_letters
from app.search.tantivy.changes import (
    backlog,
    changed_articles,
    database_head,
    is_sqlite,
    prune_applied,
    prune_older_than,
)
from app.search.tantivy.index import (
    MICROS_PER_DAY,
    IndexBusy,
    IndexState,
    SearchIndex,
    search_index_for,
)

if TYPE_CHECKING:
    from app.config import Settings

log = logging.getLogger("newsdesk.search")

READ_CHUNK = 2_000
WRITER_HEAP_BYTES = 256_000_000
# Changes to more than this share of the index are applied by rebuilding it.
REBUILD_SHARE = 0.25


@dataclass
class SyncReport:
    applied: int
    rebuilt: bool
    watermark: int
    seconds: float

    def summary(self) -> str:
        how = "rebuilt" if self.rebuilt else "updated"
        return f"search index {how}: {self.applied} articles in {self.seconds:.1f}s"


def sync_index(
    index: SearchIndex,
    engine: Engine,
    wait_seconds: float = 10.0,
    rebuild: bool = False,
    pool: Executor | None = None,
) -> SyncReport:
    """Apply the database's changes after the watermark (or rebuild, its documents built
    in a worker `pool`'s processes, if given); IndexBusy when another process kept the index
    for `wait_seconds`. An index already current is left alone without waiting."""
    started = time.perf_counter()
    state = index.read_state()
    if state is not None and not rebuild and _outcome(engine, state) == "current":
        return SyncReport(0, False, state.watermark, time.perf_counter() - started)
    with index.syncing(wait_seconds):
        return _sync_index(index, engine, wait_seconds, rebuild, pool, started)


def _outcome(engine: Engine, state: IndexState) -> Literal["current", "apply", "stranded"]:
    """What an index at this state needs: nothing ("current"), the changes past its
    watermark ("apply") or a rebuild ("stranded": the log was pruned past it)."""
    with engine.connect() as connection:
        behind = backlog(connection, state.watermark)
        # SQLite: a database whose log restarted below the watermark (a file put back)
        # is synced too, which moves the watermark down to it.
        moved_back = is_sqlite(connection) and database_head(connection) < state.watermark
    if behind.stranded:
        return "stranded"
    return "current" if behind.changes == 0 and not moved_back else "apply"


def _sync_index(
    index: SearchIndex,
    engine: Engine,
    wait_seconds: float,
    rebuild: bool,
    pool: Executor | None,
    started: float,
) -> SyncReport:
    # Read again under the lock: another process may have brought it up to date meanwhile.
    state = index.read_state()
    if state is not None and not rebuild:
        outcome = _outcome(engine, state)
        if outcome == "stranded":
            log.warning(
                "search_index_stranded",
                extra={"watermark": state.watermark, "action": "rebuild"},
            )
            rebuild = True
        elif outcome == "current":
            return SyncReport(0, False, state.watermark, time.perf_counter() - started)
    if state is None:
        index.reset()  # another schema version, or a folder that is not a finished index
    handle = index.open(create=True)
    assert handle is not None
    writer = acquire_writer(handle, wait_seconds)
    try:
        with engine.connect() as connection:
            head = database_head(connection)
            changed: list[int] = []
            if state is not None and not rebuild:
                changed = changed_articles(connection, state.watermark, head)
                if not changed:
                    writer.rollback()
                    return _nothing_to_apply(index, state, head, started)
                rebuild = len(changed) > REBUILD_SHARE * max(_num_docs(handle), 1_000)
            if state is None or rebuild:
                writer.delete_all_documents()
                applied = _add_all(index, writer, connection, engine, pool)
            else:
                applied = _apply(index, writer, connection, changed)
        kill_point("index_written")
        writer.commit()
        writer.wait_merging_threads()
    except BaseException:
        writer.rollback()
        raise
    kill_point("index_committed")
    index.write_state(IndexState(watermark=head))
    if engine.dialect.name == "sqlite":
        prune_changes(engine, head)
    report = SyncReport(applied, state is None or rebuild, head, time.perf_counter() - started)
    log.info("search_index_synced", extra={"applied": applied, "rebuilt": report.rebuilt})
    return report


def _nothing_to_apply(
    index: SearchIndex, state: IndexState, head: int, started: float
) -> SyncReport:
    """No change is applicable yet (on PostgreSQL an older transaction still running holds
    the boundary back; the catch-up asks again soon): no commit, and no log above debug.
    SQLite's log restarted below the watermark moves the watermark down to it."""
    if head < state.watermark:
        index.write_state(IndexState(watermark=head))
    else:
        head = state.watermark
    log.debug("search_index_nothing_applicable", extra={"watermark": head})
    return SyncReport(0, False, head, time.perf_counter() - started)


def sync_search_index(
    settings: Settings,
    engine: Engine,
    wait_seconds: float = 10.0,
    rebuild: bool = False,
    pool: Executor | None = None,
) -> SyncReport | None:
    """Bring the settings' index up to date; None when there is none or it is busy
    (searches then use the database until the next sync)."""
    if engine.dialect.name != "sqlite":
        prune_search_changes(settings, engine)
    index = search_index_for(settings)
    if index is None or settings.read_database_url:
        # With a read URL the index follows the database the node reads (its catch-up
        # applies the changes there): applied from the primary, it could hold articles
        # the replica has not replayed yet.
        return None
    try:
        return sync_index(index, engine, wait_seconds, rebuild, pool)
    except IndexBusy as error:
        log.warning("search_index_busy", extra={"error": str(error)})
        return None


def prune_search_changes(settings: Settings, engine: Engine) -> None:
    """PostgreSQL: drop the change log's rows older than the retention (writers only); a
    node whose watermark they passed rebuilds its index on its next sync."""
    keep = settings.search_change_retention_hours * 3600
    removed = prune_older_than(engine, keep)
    if removed:
        log.info("search_change_pruned", extra={"removed": removed, "kept_seconds": keep})


def _add_all(
    index: SearchIndex,
    writer: tantivy.IndexWriter,
    connection: Connection,
    engine: Engine,
    pool: Executor | None,
) -> int:
    """Every article's document; built in the pool's processes, if given, each reading
    its own ranges of ids (the writer indexes on its own threads)."""
    if pool is None:
        count, after = 0, 0
        while ids := _ids_after(connection, after):
            for document in documents(index, connection, ids):
                writer.add_document(document)
            count, after = count + len(ids), ids[-1]
        return count
    top = connection.execute(select(func.coalesce(func.max(col(Article.id)), 0))).scalar_one()
    url = engine.url  # the URL itself: rendered as text, its password could be masked
    ranges = ((url, start, start + READ_CHUNK) for start in range(0, top or 0, READ_CHUNK))
    count = 0
    for values in ordered_map(_document_values_between, ranges, pool):
        for fields in values:
            writer.add_document(tantivy.Document.from_dict(fields, index.schema))
        count += len(values)
    return count


def _ids_after(connection: Connection, after: int, through: int | None = None) -> list[int]:
    chunk = select(col(Article.id)).where(col(Article.id) > after).order_by(col(Article.id))
    if through is not None:
        chunk = chunk.where(col(Article.id) <= through)
    # The primary key is never NULL (its column type says int | None for new rows).
    return [i for i in connection.execute(chunk.limit(READ_CHUNK)).scalars() if i is not None]


_range_engines: dict[URL, Engine] = {}


def _document_values_between(task: tuple[URL, int, int]) -> list[dict[str, Any]]:
    """In a building process: the document values of the articles with ids in (after,
    through], read through this process's own engine for the database URL."""
    url, after, through = task
    if url not in _range_engines:
        _range_engines[url] = create_engine(url)
    with _range_engines[url].connect() as connection:
        ids = _ids_after(connection, after, through)
        return [document_values(facts) for facts in document_facts(connection, ids)]


def _apply(
    index: SearchIndex, writer: tantivy.IndexWriter, connection: Connection, ids: list[int]
) -> int:
    for start in range(0, len(ids), READ_CHUNK):
        chunk = ids[start : start + READ_CHUNK]
        writer.delete_documents_by_query(tantivy.Query.term_set_query(index.schema, "id", chunk))
        for document in documents(index, connection, chunk):
            writer.add_document(document)
    return len(ids)


def documents(
    index: SearchIndex, connection: Connection, ids: Sequence[int]
) -> Iterator[tantivy.Document]:
    """The index documents of the articles in ids that exist."""
    for facts in document_facts(connection, ids):
        yield document(index, facts)


def document_facts(connection: Connection, ids: Sequence[int]) -> Iterator[Facts]:
    """What the index documents of the articles in ids are made of."""
    in_ids: Any = bindparam("ids", expanding=True)
    links: dict[int, list[tuple[int, str]]] = {}
    for article_id, entity_id, entity_type in connection.execute(
        text(
            "SELECT ae.article_id, ae.entity_id, e.type FROM article_entity ae "
            "JOIN entity e ON e.id = ae.entity_id WHERE ae.article_id IN :ids"
        ).bindparams(in_ids),
        {"ids": list(ids)},
    ):
        links.setdefault(article_id, []).append((entity_id, entity_type))
    tags: dict[int, list[str]] = {}
    for article_id, tag in connection.execute(
        text("SELECT article_id, tag FROM article_tag WHERE article_id IN :ids").bindparams(in_ids),
        {"ids": list(ids)},
    ):
        tags.setdefault(article_id, []).append(tag)
    columns = [col(Article.id), col(Article.title), col(Article.body), col(Article.published_at)]
    columns += [getattr(Article, name) for name in document_reads()]
    rows = connection.execute(
        select(*columns, col(Source.domain).label("source_domain"))
        .outerjoin(Source, col(Source.id) == col(Article.source_id))
        .where(col(Article.id).in_(list(ids)))
    )
    for row in rows:
        facts = dict(row._mapping)
        facts.update(linked_facts(links.get(row.id, ()), tags.get(row.id, ()), row.source_domain))
        yield facts


def linked_facts(
    links: Iterable[tuple[int, str]], tags: Iterable[str], source_domain: str | None
) -> Facts:
    """The facts an index document takes from an article's other rows: its entity links
    (entity id and type), its tags and its source's domain. The one place that derives
    them, for a sync reading the database and for a bulk load feeding the rows it stores."""
    pairs = list(links)  # read twice
    return {
        "entity_ids": sorted(entity_id for entity_id, _ in pairs),
        "entity_types": sorted({entity_type for _, entity_type in pairs}),
        "tags": sorted(tags),
        "source_domain": source_domain,
    }


def document(index: SearchIndex, facts: Facts) -> tantivy.Document:
    """One article's index document: its text, its date, and every filter's fields."""
    return tantivy.Document.from_dict(document_values(facts), index.schema)


def document_values(facts: Facts) -> dict[str, Any]:
    """The values of an article's index document (plain data: built in other processes)."""
    fields: dict[str, Any] = {
        "id": facts["id"],
        "title": fold_letters(unicodedata.normalize("NFC", facts["title"] or "")),
        "body": fold_letters(unicodedata.normalize("NFC", facts["body"] or "")),
        **document_fields(facts),
    }
    published = facts["published_at"]
    if published is not None:
        fields["published"] = micros(published)
        fields["day"] = fields["published"] // MICROS_PER_DAY
        fields["month"] = published.year * 12 + published.month - 1
    return fields


def prune_changes(engine: Engine, through: int) -> None:
    """Forget the changes the index holds (SQLite); a busy database keeps them for next time."""
    prune_applied(engine, through)


def _num_docs(index: tantivy.Index) -> int:
    index.reload()
    return int(index.searcher().num_docs)


def acquire_writer(index: tantivy.Index, wait_seconds: float) -> tantivy.IndexWriter:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return index.writer(WRITER_HEAP_BYTES, 1)
        except ValueError as error:
            if "LockBusy" not in str(error) or time.monotonic() >= deadline:
                raise IndexBusy(str(error)) from error
            time.sleep(0.2)
