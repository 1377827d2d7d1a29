"""PostgreSQL's bulk path: every row of a batch goes in by COPY, one transaction per batch.

The same rows, ids and skips as the shared path in bulk.py (whose record checks, duplicate
test, name maps and row builders this module uses), written with psycopg's `cursor.copy()`
instead of executemany: articles, sources, entities, aliases, tags and entity links each in
one COPY per batch. Already-stored articles are found with one indexed `= ANY` lookup per
column and batch; entity names are resolved through in-memory maps (their alias keys are
folded in Python, and a batch's earlier names decide later ones, so SQL could not do it
set-based with the same answers). Straight COPY into the tables leaves nothing for a staging
table to do.

The change log gets one row per new article (the article trigger); the link and tag triggers
are disabled inside the batch's transaction, as bulk.py drops them on SQLite. ALTER TABLE
... DISABLE TRIGGER takes a SHARE ROW EXCLUSIVE lock until the commit: readers go on,
other writers of links and tags wait for the batch, and no other connection ever sees the
triggers off. A batch is all or nothing, and a rerun skips the batches stored.

The generated tsvector column is computed by each article's insert (about 0.46 ms of server
CPU per 2.5 kB article since migration 0016, most of it to_tsvector's parser, and 0.18 ms more
for its GIN index): on two cores it, not this path, bounds the load rate.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

from app.faults import kill_point
from app.ingest.document import ReadFailure
from app.ingest.read.bulk_records import BulkArticle
from app.ingest.store.bulk import BulkReport, _Names, _new_rows

# Change-log triggers redundant while whole articles are inserted (migration 0013).
_LINK_TRIGGERS = {"article_entity": "search_change_link", "article_tag": "search_change_tag"}
# Every table a load writes rows into (search_change through the article trigger).
_FILLED = (
    "article",
    "article_entity",
    "article_tag",
    "entity",
    "entity_alias",
    "source",
    "search_change",
)
_JSON_COLUMNS = frozenset({"origins", "cites", "extra", "provenance"})


def load_batches(
    engine: Engine,
    records: Iterator[BulkArticle | ReadFailure],
    batch_size: int,
    report: BulkReport,
) -> None:
    """Store the records `batch_size` at a time, each batch in a transaction of its own."""
    while batch := list(islice(records, batch_size)):
        with engine.begin() as connection:
            _disable_link_triggers(connection, "DISABLE")
            _store(connection, batch, report)
            _disable_link_triggers(connection, "ENABLE")
    with engine.begin() as connection:
        _advance_sequences(connection)
        if report.added:
            _analyze(connection)


def _analyze(connection: Connection) -> None:
    """Give the planner the filled tables' statistics now, as PostgreSQL's manual advises
    after a bulk load: until autovacuum gets to them (never, where it is off) it guesses, and
    a page's 400 entity links at 100,000 articles were planned as 150,000 rows, a parallel
    hash join over every entity (60 ms under load, 15 ms with the statistics)."""
    connection.exec_driver_sql(f"ANALYZE {', '.join(_FILLED)}")


def _disable_link_triggers(connection: Connection, action: str) -> None:
    for table, trigger in _LINK_TRIGGERS.items():
        connection.exec_driver_sql(f"ALTER TABLE {table} {action} TRIGGER {trigger}")


def _store(
    connection: Connection, batch: list[BulkArticle | ReadFailure], report: BulkReport
) -> None:
    """COPY a batch's new articles with their sources, entities, aliases, tags and links."""
    rows = _new_rows(connection, batch, report, lambda: _Names(connection))
    if rows is None:
        return
    names = rows.names
    for table, dicts in (
        ("source", names.new_sources),
        ("entity", names.new_entities),
        ("entity_alias", names.new_aliases),
    ):
        if dicts:
            _copy(connection, table, tuple(dicts[0]), [tuple(row.values()) for row in dicts])
    columns = tuple(rows.articles[0])
    json_at = [i for i, column in enumerate(columns) if column in _JSON_COLUMNS]
    _copy(connection, "article", columns, [_with_json(row, json_at) for row in rows.articles])
    _copy(connection, "article_tag", ("article_id", "tag"), rows.tags)
    _copy(
        connection, "article_entity", ("article_id", "entity_id", "mentions", "forms"), rows.links
    )
    report.added += len(rows.articles)
    kill_point("bulk_batch_stored")


def _with_json(row: dict[str, Any], json_at: list[int]) -> tuple[Any, ...]:
    """An article's values in column order, its JSON columns as the text SQLAlchemy's JSON
    type would send (json.dumps), so a COPY stores what an INSERT stored."""
    values = list(row.values())
    for index in json_at:
        values[index] = json.dumps(values[index])
    return tuple(values)


def _copy(
    connection: Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    if not rows:
        return
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _advance_sequences(connection: Connection) -> None:
    """Move the id sequences past the ids the bulk load gave explicitly."""
    for table in ("article", "source", "entity"):
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        )
