"""What a SQLite database and its search index hold, read directly: for the crash tests."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import tantivy

from app.search.tantivy.index import SearchIndex

# Per origin, its article's linked entities by (name, type): mentions and forms.
LinkTable = dict[str, dict[tuple[str, str], tuple[int, tuple[str, ...]]]]


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
