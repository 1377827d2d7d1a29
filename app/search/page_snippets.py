"""FTS5's snippet() over a full-text table holding only one page's passage windows.

Over the whole index, FTS5 would first expand a prefix such as `elect*` across every article
and score whole bodies. So each SQLite connection has tables of its own (temp schema) for
one page, made once, when it connects. Made by the page that needs them, they were made
inside the request's transaction and rolled back with it: an FTS5 table and its shadow
tables created for every page, and every statement the connection had prepared prepared
again (a change to the temp schema expires them). A page is now four statements: empty the
index and the text, fill, select.

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

# A trigger indexes each row's folded text as it is added: a page is one INSERT (executemany).
_PAGE_TABLES = (
    "CREATE TEMP TABLE IF NOT EXISTS page_text "
    "(id INTEGER PRIMARY KEY, title TEXT, body TEXT, folded_title TEXT, folded_body TEXT)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.page_fts USING fts5("
    "title, body, content='page_text', content_rowid='id', "
    f"tokenize=\"unicode61 remove_diacritics 2 tokenchars '{REMOVED}'\")",
    "CREATE TEMP TRIGGER IF NOT EXISTS page_text_added AFTER INSERT ON page_text BEGIN "
    "INSERT INTO page_fts(rowid, title, body) "
    "VALUES (new.id, new.folded_title, new.folded_body); END",
)
# Set in the pool's record of a DB-API connection that has the tables.
_MADE = "newsdesk_page_tables"

# The index at once, then the text (a trigger deleting row by row would read each text again).
_EMPTY = (
    text("INSERT INTO temp.page_fts(page_fts) VALUES ('delete-all')"),
    text("DELETE FROM temp.page_text"),
)
_FILL = text(
    "INSERT INTO temp.page_text(id, title, body, folded_title, folded_body) "
    "VALUES (:id, :title, :body, :folded_title, :folded_body)"
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
    session.execute(
        _FILL,
        [
            {
                "id": i,
                "title": title,
                "body": body,
                "folded_title": None if title is None else fold_letters_keeping_words(title),
                "folded_body": None if body is None else fold_letters_keeping_words(body),
            }
            for i, (title, body) in texts.items()
        ],
    )
    parameters = {"open": markers[0], "close": markers[1], "tokens": tokens, "match": match}
    return list(session.execute(_SNIPPETS, parameters).tuples())
