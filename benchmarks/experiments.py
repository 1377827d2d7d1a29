"""Cheap wins in our query path, timed on the same file: today's SQL against a rewrite.

Run last (it adds indexes and optimizes the FTS index in the benchmark copy of the DB).
Each pair answers the same question; the rewrite is what search/ could run instead.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import floor

COMMON = "economy"
COLUMNS = "article.id, article.title, article.url, article.published_at, article.lede"


def timed(connection: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> float:
    """Median ms of a few runs (after one warm-up)."""
    connection.execute(sql, params).fetchall()
    runs = []
    for _ in range(7):
        started = time.perf_counter()
        connection.execute(sql, params).fetchall()
        runs.append(time.perf_counter() - started)
    return 1000 * sorted(runs)[len(runs) // 2]


def top_ids(connection: sqlite3.Connection, query: str) -> list[int]:
    rows = connection.execute(
        "SELECT rowid FROM article_fts WHERE article_fts MATCH ? "
        "ORDER BY bm25(article_fts, 10.0, 1.0) LIMIT 20",
        (query,),
    ).fetchall()
    return [row[0] for row in rows]


def pairs(connection: sqlite3.Connection) -> list[tuple[str, str, tuple[Any, ...], str, tuple]]:
    ids = top_ids(connection, COMMON)
    marks = ",".join("?" * len(ids))
    snippet = "SELECT rowid, snippet(article_fts, -1, '[', ']', '…', 24) FROM article_fts"
    newest = (
        f"SELECT {COLUMNS} FROM article JOIN (SELECT id FROM article WHERE id <= ?) AS page "
        "ON page.id = article.id ORDER BY article.published_at IS NULL, "
        "article.published_at DESC, article.id DESC LIMIT 21"
    )
    newest_flat = (
        f"SELECT {COLUMNS} FROM article WHERE article.id <= ? ORDER BY "
        "article.published_at IS NULL, article.published_at DESC, article.id DESC LIMIT 21"
    )
    return [
        (
            "snippets of one page: `rowid IN (20 ids)` → one `rowid = ?` query per id",
            f"{snippet} WHERE article_fts MATCH ? AND rowid IN ({marks})",
            (COMMON, *ids),
            f"{snippet} WHERE article_fts MATCH ? AND rowid = ?",
            tuple((COMMON, i) for i in ids),
        ),
        (
            "exact total of a text query: count over the join with article → count on FTS alone",
            "SELECT count(*) FROM (SELECT article.id FROM article JOIN (SELECT rowid AS id "
            "FROM article_fts WHERE article_fts MATCH ?) AS m ON m.id = article.id)",
            (COMMON,),
            "SELECT count(*) FROM article_fts WHERE article_fts MATCH ?",
            ((COMMON,),),
        ),
        (
            "first page, newest first: id-subquery join (sorts every row) → flat query on an "
            "index on (published_at IS NULL, published_at DESC, id DESC)",
            newest,
            (10**12,),
            newest_flat,
            ((10**12,),),
        ),
    ]


def run(db: Path, fts_rows: list[dict[str, Any]]) -> dict[str, Any]:
    connection = sqlite3.connect(db)
    result: dict[str, Any] = {"pairs": []}
    for index, (label, before_sql, before_params, after_sql, after_runs) in enumerate(
        pairs(connection)
    ):
        before = timed(connection, before_sql, before_params)
        if index == 2:
            connection.execute(
                "CREATE INDEX IF NOT EXISTS bench_newest ON article("
                "(published_at IS NULL), published_at DESC, id DESC)"
            )
        after = sum(timed(connection, after_sql, params) for params in after_runs)
        result["pairs"].append({"label": label, "before_ms": before, "after_ms": after})
    started = time.perf_counter()
    connection.execute("INSERT INTO article_fts(article_fts) VALUES ('optimize')")
    connection.commit()
    result["optimize_seconds"] = time.perf_counter() - started
    connection.close()
    result["optimized_floor"] = optimized_floor(db, fts_rows)
    return result


def optimized_floor(db: Path, rows: list[dict[str, Any]]) -> dict[str, float]:
    """The floor of each text query again, after FTS5's optimize merged the index."""
    capture = floor.Capture(db)
    found = {}
    for row in rows:
        _, statements, _, _ = capture.statements_of(row["api"])
        found[row["name"]] = floor.replay(db, statements, 1.0)["p50"]
    return found
