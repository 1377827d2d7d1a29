"""The cursor page at depth 100,000 and the first page it is compared with.

The cursor is built with the application's own cursor code from the row at that depth
(read by SQL), then checked against the server: the page must start at the next row.
If the server does not accept it, the cursor is reached by walking pages of 100.
"""

from __future__ import annotations

import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import http_load
import queries

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ORDER = "ORDER BY published_at IS NULL, published_at DESC, id DESC"


def cursor_queries(base: str, db: Path, articles: int) -> list[queries.Query]:
    depth = queries.deep_depth(articles)
    first = queries.api("/articles", sort="-published_at", limit=20)
    token = built_cursor(db, depth) or walked_cursor(base, first, depth)
    deep = f"{first}&cursor={quote(token)}"
    expected = row_at(db, depth)[0]
    status, page = http_load.get_json(base + deep)
    if status != 200 or page["items"][0]["id"] != expected:
        token = walked_cursor(base, first, depth)
        deep = f"{first}&cursor={quote(token)}"
    return [
        queries.Query("first page (newest first)", first, note="no q, sort=-published_at"),
        queries.Query(f"cursor page at depth {depth:,}", deep, note="same order, keyset cursor"),
    ]


def row_at(db: Path, offset: int) -> tuple[int, str]:
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    row = connection.execute(
        f"SELECT id, published_at FROM article {ORDER} LIMIT 1 OFFSET ?", (offset,)
    ).fetchone()
    connection.close()
    return int(row[0]), str(row[1])


def built_cursor(db: Path, depth: int) -> str | None:
    """The next_cursor a client holds after `depth` articles, made by the app's cursor code."""
    try:
        from app.search.cursor import CURSOR_SECRET_NAME, Cursor, CursorCodec
        from app.search.filter import ArticleFilter
        from app.search.service import cursor_scope
    except ImportError:
        return None
    last_id, published = row_at(db, depth - 1)
    when = datetime.fromisoformat(published).replace(tzinfo=UTC).isoformat()
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    snapshot = connection.execute("SELECT max(id) FROM article").fetchone()[0]
    secret = connection.execute(
        "SELECT value FROM server_secret WHERE name = ?", (CURSOR_SECRET_NAME,)
    ).fetchone()[0]
    connection.close()
    scope = cursor_scope(ArticleFilter(), "-published_at")
    codec = CursorCodec(bytes.fromhex(secret))
    return codec.encode(Cursor(key=[when, last_id], snapshot=snapshot, query_hash=scope))


def walked_cursor(base: str, first: str, depth: int) -> str:
    """next_cursor after `depth` articles, by following pages of 100."""
    path = first.replace("limit=20", "limit=100")
    token = ""
    for _ in range(depth // 100):
        _, page = http_load.get_json(base + path + (f"&cursor={quote(token)}" if token else ""))
        token = page["next_cursor"]
    return token
