"""PostgreSQL's COPY bulk path stores exactly the rows SQLite's bulk path stores for a file.

Duplicates (stored, earlier in a batch, by content or URL) are skipped, entity names resolve
through their alias keys across batches, the change log holds one row per new article, and
a second load of the same file changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from app.db import create_db_engine, upgrade_database
from app.ingest.store.bulk import BulkLoader
from tests.backends import PostgresServer, sqlite_url
from tests.helpers import settings_for
from tests.ingest.test_bulk import stored_rows, write_jsonl

pytestmark = pytest.mark.postgres

_JSON = {"origins", "cites", "extra", "provenance", "forms", "found_by"}
_LOAD_TIME = {"ingested_at", "updated_at"}


def record(number: int, **fields: Any) -> dict[str, Any]:
    return {
        "title": f"Harbour report {number}",
        "body": f"The harbour of Port Élan {number} reopened. Ships waited {number} days.",
        "url": f"https://news.example/{number}",
        "source": ["Port Herald", "Bay Times", None][number % 3],
        "published": f"2025-0{1 + number % 9}-0{1 + number % 8}T08:00:00Z",
        "language": "en",
        "tags": ["harbour", f"day-{number % 2}", "harbour"],
        "entities": [
            {"name": "Port Élan", "type": "location", "mentions": 2, "forms": ["Port Elan"]},
            {"name": f"Captain {number % 4}", "type": "person", "mentions": 1},
        ],
    } | fields


RECORDS: list[Any] = [
    record(1),
    record(2, entities=[{"name": "Port Elan", "type": "location", "forms": ["Élan harbour"]}]),
    record(3, url=None),
    record(1, url="https://news.example/same-content"),  # same text as 1: skipped
    record(4, url="https://news.example/2"),  # same URL as 2: skipped
    {"title": "no body"},
    record(5, tags=[], entities=[]),
    record(6, source="Bay Times", url="ftp://news.example/6"),
    record(7, entities=[{"name": "ELAN HARBOUR", "type": "location", "mentions": 1}]),
    record(8, entities=[{"name": "Captain 1", "type": "organization", "mentions": 1}]),
]


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> Iterator[str]:
    url = postgres_server.create()
    upgrade_database(url)
    yield url
    postgres_server.drop(url)


def comparable(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """The bulk path's rows, as both databases give them back: timestamps as UTC, JSON
    parsed, without the load's own timestamps and PostgreSQL's tsvector."""

    def value(column: str, item: Any) -> Any:
        if column in _JSON and isinstance(item, str):
            return json.loads(item)
        if isinstance(item, str) and len(item) >= 19 and item[4] == "-" and item[10] == " ":
            item = datetime.fromisoformat(item).replace(tzinfo=UTC)
        if isinstance(item, datetime):
            return item.astimezone(UTC).isoformat()
        return item

    return {
        table: [
            {k: value(k, v) for k, v in row.items() if k not in _LOAD_TIME | {"search_vector"}}
            for row in rows
        ]
        for table, rows in stored_rows(engine).items()
    }


def changes(engine: Engine) -> list[tuple[int, int]]:
    with engine.connect() as connection:
        sql = "SELECT article_id, count(*) FROM search_change GROUP BY 1 ORDER BY 1"
        return [(article_id, count) for article_id, count in connection.exec_driver_sql(sql)]


def test_copy_load_stores_sqlites_rows_logs_one_change_each_and_reruns_as_no_op(
    postgres_db: str, tmp_path: Path
) -> None:
    jsonl = write_jsonl(tmp_path / "harbour.jsonl", RECORDS)
    sqlite = sqlite_url(tmp_path / "bulk.db")
    upgrade_database(sqlite)
    loaded = {}
    for url in (sqlite, postgres_db):
        engine = create_db_engine(settings_for(url), writer=True)
        report = BulkLoader(engine, batch_size=4, fts="triggers").load([jsonl])
        loaded[url] = (report.added, report.skipped, [f.origin for f in report.failures])
        loaded[url] += (comparable(engine),)
        engine.dispose()
    assert loaded[postgres_db][:3] == (7, 2, [f"{jsonl}:6"])
    rows = loaded[postgres_db][3]
    assert [len(rows[t]) for t in ("entity", "entity_alias", "article_entity")] == [5, 6, 9]
    assert [link["entity_id"] for link in rows["article_entity"] if link["article_id"] == 6] == [1]
    assert loaded[postgres_db] == loaded[sqlite]

    engine = create_db_engine(settings_for(postgres_db), writer=True)
    assert changes(engine) == [(article_id, 1) for article_id in range(1, 8)]
    again = BulkLoader(engine, batch_size=4).load([jsonl])
    assert (again.added, again.skipped) == (0, 9)
    assert comparable(engine) == rows
    assert changes(engine) == [(article_id, 1) for article_id in range(1, 8)]
    with engine.connect() as connection:
        nextval = "SELECT nextval('article_id_seq'), nextval('entity_id_seq')"
        assert tuple(connection.exec_driver_sql(nextval).one()) == (8, 6)
    engine.dispose()


def test_copy_load_leaves_the_planner_statistics_of_the_tables_it_filled(
    postgres_db: str, tmp_path: Path
) -> None:
    """Without them (autovacuum off, or not yet run) PostgreSQL guesses row counts: a page's
    twenty articles' entity links were estimated at 150,000 rows and joined by a parallel
    hash over every entity, 60 ms of the node's 80 ms per page at 100,000 articles."""
    jsonl = write_jsonl(tmp_path / "harbour.jsonl", RECORDS)
    engine = create_db_engine(settings_for(postgres_db), writer=True)
    BulkLoader(engine, batch_size=4).load([jsonl])
    tables = ("article", "article_entity", "article_tag", "entity", "entity_alias", "source")
    with engine.connect() as connection:
        estimated = {
            table: connection.exec_driver_sql(
                f"SELECT reltuples::int FROM pg_class WHERE oid = '{table}'::regclass"
            ).scalar_one()
            for table in tables
        }
        stored = {
            table: connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            for table in tables
        }
        sampled = connection.exec_driver_sql(
            "SELECT count(*) FROM pg_stats WHERE tablename = 'article_entity'"
        ).scalar_one()
    engine.dispose()
    assert stored == {t: n for t, n in zip(tables, (7, 9, 12, 5, 6, 2), strict=True)}
    assert estimated == stored  # ANALYZE reads every row of tables this small
    assert sampled >= 3  # article_id, entity_id, mentions
