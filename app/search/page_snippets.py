"""FTS5's snippet() over a full-text table holding only one page's passage windows.

Over the whole index, FTS5 would first expand a prefix such as `elect*` across every article
and score whole bodies. So each SQLite connection has tables of its own (temp schema) for
one page, made once, when it connects. Made by the page that needs them, they were made
inside the request's transaction and rolled back with it: an FTS5 table and its shadow
tables created for every page, and every statement the connection had prepared prepared
again (a change to the temp schema expires them). A page is now five statements: empty the
index and the text, fill them, select.

The table indexes the folded text (app/search/letters.py) but reads the text as written from
page_text, so snippet() shows that. Harakat are word characters here, as they are inside
words once folded away, so both texts have the same words and the matches line up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from app.search.letters import REMOVED, fold_letters_keeping_words

_PAGE_TABLES = (
    "CREATE TEMP TABLE IF NOT EXISTS page_text (id INTEGER PRIMARY KEY, title TEXT, body TEXT)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.page_fts USING fts5("
    "title, body, content='page_text', content_rowid='id', "
    f"tokenize=\"unicode61 remove_diacritics 2 tokenchars '{REMOVED}'\")",
)
# Set in the pool's record of a DB-API connection that has the tables.
_MADE = "newsdesk_page_tables"

_EMPTY = (
    text("INSERT INTO temp.page_fts(page_fts) VALUES ('delete-all')"),
    text("DELETE FROM temp.page_text"),
)
# Two statements, the text as written and its folded words for the index: one, through a
# trigger, cost SQLite more than the second statement costs (the folded text stored too).
_FILL = (
    text("INSERT INTO temp.page_text(id, title, body) VALUES (:id, :title, :body)"),
    text("INSERT INTO temp.page_fts(rowid, title, body) VALUES (:id, :title, :body)"),
)
_SNIPPETS = text(
    "SELECT rowid, snippet(page_fts, -1, :open, :close, '…', :tokens) "
    "FROM temp.page_fts WHERE page_fts MATCH :match"
)


def make_page_tables(dbapi_connection: Any, record: Any = None) -> None:
    """Make the page tables on a new SQLite connection, outside any transaction, so they
    last as long as the connection; `record`, the pool's record of it, is told so."""
    cursor = dbapi_connection.cursor()
    for statement in _PAGE_TABLES:
        cursor.execute(statement)
    cursor.close()
    if record is not None:
        record.info[_MADE] = True


def page_snippets(
    session: Session,
    match: str,
    texts: Mapping[int, tuple[str | None, str | None]],
    tokens: int,
    markers: tuple[str, str],
) -> list[tuple[int, str | None]]:
    """snippet() of the best passage of whichever column matched the FTS5 expression
    `match`, for each of the page's texts (id → title, body) that it matches."""
    connection = session.connection()
    if not connection.info.get(_MADE):
        # A connection of an engine made elsewhere: tables for this transaction only.
        for statement in _PAGE_TABLES:
            connection.exec_driver_sql(statement)
    for emptying in _EMPTY:
        session.execute(emptying)
    rows = [{"id": i, "title": title, "body": body} for i, (title, body) in texts.items()]
    folded = [
        {key: fold_letters_keeping_words(v) if isinstance(v, str) else v for key, v in row.items()}
        for row in rows
    ]
    session.execute(_FILL[0], rows)
    session.execute(_FILL[1], folded)
    parameters = {"open": markers[0], "close": markers[1], "tokens": tokens, "match": match}
    return list(session.execute(_SNIPPETS, parameters).tuples())
