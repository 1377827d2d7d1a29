"""What a SQLite database and its search index hold, read directly: for the crash tests."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import tantivy

from app.config import PROJECT_ROOT
from app.search.tantivy.index import SearchIndex
from tests.backends import sqlite_url

# Per origin, its article's linked entities by (name, type): mentions and forms.
LinkTable = dict[str, dict[tuple[str, str], tuple[int, tuple[str, ...]]]]


def run_cli_ingest(
    root: Path, database: Path, *, batch: int, workers: int, kill_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`newsdesk ingest` with entity recognition, as a user runs it (this tree's code), in
    batches of `batch` articles, with `workers` worker processes (1: none), and killed at
    `kill_at` (NEWSDESK_FAULT_KILL_AT) if given."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSDESK_")}
    env |= {
        "DATABASE_URL": sqlite_url(database),
        "PYTHONPATH": str(PROJECT_ROOT),
        "NEWSDESK_INGEST_BATCH_SIZE": str(batch),
    }
    if kill_at is not None:
        env["NEWSDESK_FAULT_KILL_AT"] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "ingest", "--workers", str(workers), str(root)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_clean_run(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr[-3000:]
    assert " 0 failed" in result.stdout, result.stdout


def query(database: Path, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql, parameters).fetchall()


def article_ids(database: Path) -> dict[str, int]:
    """The stored article of each origin (an article stored from two files has two)."""
    rows = query(database, "SELECT id, origins FROM article")
    return {origin: article_id for article_id, origins in rows for origin in json.loads(origins)}


def stored_origins(database: Path) -> list[str]:
    rows = query(database, "SELECT origins FROM article")
    return [origin for (origins,) in rows for origin in json.loads(origins)]


def entity_links(database: Path) -> LinkTable:
    """Per origin, its article's linked entities (by name and type): mentions and forms."""
    links: dict[int, dict[tuple[str, str], tuple[int, tuple[str, ...]]]] = {}
    for article_id, name, kind, mentions, forms in query(
        database,
        "SELECT ae.article_id, e.name, e.type, ae.mentions, ae.forms FROM article_entity ae "
        "JOIN entity e ON e.id = ae.entity_id",
    ):
        links.setdefault(article_id, {})[(name, kind)] = (mentions, tuple(json.loads(forms)))
    return {origin: links.get(id_, {}) for origin, id_ in article_ids(database).items()}


def database_links(database: Path) -> dict[int, set[int]]:
    """Each article's linked entity ids, as the database has them."""
    linked: dict[int, set[int]] = {
        row[0]: set() for row in query(database, "SELECT id FROM article")
    }
    for article_id, entity_id in query(
        database, "SELECT article_id, entity_id FROM article_entity"
    ):
        linked[article_id].add(entity_id)
    return linked


def index_links(database: Path) -> dict[int, set[int]]:
    """Each document's entity ids, as the search index has them (one key per document id)."""
    searcher = SearchIndex(database.with_suffix(".index")).any_searcher()
    assert searcher is not None
    spec = {"terms": {"field": "entity", "size": 100_000}}
    answer = searcher.aggregate(
        tantivy.Query.all_query(),
        {"ids": {"terms": {"field": "id", "size": 100_000}, "aggs": {"entities": spec}}},
    )
    buckets = answer["ids"]["buckets"]
    assert all(bucket["doc_count"] == 1 for bucket in buckets), "an article indexed twice"
    assert sum(bucket["doc_count"] for bucket in buckets) == searcher.num_docs
    return {
        int(bucket["key"]): {int(entity["key"]) for entity in bucket["entities"]["buckets"]}
        for bucket in buckets
    }


def index_is_behind(database: Path) -> bool:
    """The index's watermark is short of the database's newest change (what /readyz reads)."""
    state = SearchIndex(database.with_suffix(".index")).read_state()
    assert state is not None
    head = query(database, "SELECT seq FROM sqlite_sequence WHERE name = 'search_change'")
    return bool(state.watermark < head[0][0])
