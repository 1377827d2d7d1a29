"""FTS5's snippet() over a full-text table holding only one page's passage windows.

Every engine's snippets are made here, so they are the same whichever engine found the
page: on SQLite in the archive's own connection, on PostgreSQL in an in-memory SQLite
database of the thread's own. (PostgreSQL's ts_headline, used before, chose other passages,
left a match unmarked where its parser reads words otherwise than the index, "U.S." as
one, and cost a little more.)

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

import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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

# Run as the driver's own SQL on the session's connection: through the ORM's execute, the
# statements' bookkeeping cost more than SQLite's work on a page.
_EMPTY = (
    "INSERT INTO temp.page_fts(page_fts) VALUES ('delete-all')",
    "DELETE FROM temp.page_text",
)
# Two statements, the text as written and its folded words for the index: one, through a
# trigger, cost SQLite more than the second statement costs (the folded text stored too).
_FILL = (
    "INSERT INTO temp.page_text(id, title, body) VALUES (?, ?, ?)",
    "INSERT INTO temp.page_fts(rowid, title, body) VALUES (?, ?, ?)",
)
_SNIPPETS = (
    "SELECT rowid, snippet(page_fts, -1, ?, ?, '…', ?) FROM temp.page_fts WHERE page_fts MATCH ?"
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
    `match`, for each of the page's texts (id → title, body) that it matches: in the
    session's own connection on SQLite, else in the thread's in-memory database."""
    if session.get_bind().dialect.name != "sqlite":
        return _snippets(_in_memory(), match, texts, tokens, markers)
    connection = session.connection()
    if not connection.info.get(_MADE):
        # A connection of an engine made elsewhere: tables for this transaction only.
        for statement in _PAGE_TABLES:
            connection.exec_driver_sql(statement)
    return _snippets(connection.exec_driver_sql, match, texts, tokens, markers)


Run = Callable[[str, Any], Iterable[Any]]


def _snippets(
    run: Run,
    match: str,
    texts: Mapping[int, tuple[str | None, str | None]],
    tokens: int,
    markers: tuple[str, str],
) -> list[tuple[int, str | None]]:
    """The page's snippets through `run`, which executes a statement with its parameters
    (a list of them: once for each)."""
    for emptying in _EMPTY:
        run(emptying, ())
    rows = [(i, title, body) for i, (title, body) in texts.items()]
    folded = [(i, _folded(title), _folded(body)) for i, title, body in rows]
    run(_FILL[0], rows)
    run(_FILL[1], folded)
    parameters = (markers[0], markers[1], tokens, match)
    return [(i, snippet) for i, snippet in run(_SNIPPETS, parameters)]


_THREAD = threading.local()


def _in_memory() -> Run:
    """`run` on this thread's in-memory SQLite database with the page tables (made on first
    use; requests run in a pool of reused threads, so each makes them once)."""
    run: Run | None = getattr(_THREAD, "run", None)
    if run is None:
        connection = sqlite3.connect(":memory:", isolation_level=None)
        make_page_tables(connection)

        def run(statement: str, parameters: Any) -> Iterable[Any]:
            if isinstance(parameters, list):
                return connection.executemany(statement, parameters)
            return connection.execute(statement, parameters).fetchall()

        _THREAD.run = run
    return run


def _folded(text: str | None) -> str | None:
    return text if text is None else fold_letters_keeping_words(text)
