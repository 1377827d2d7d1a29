"""Snippets come from a one-page FTS5 table of passage windows: every match is shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlmodel import Session

from app.db import create_db_engine
from app.models import Article
from app.search.query import parse_query, to_fts5
from app.search.text import Highlight, SearchIn, fts5_columns, snippets
from tests.backends import BACKENDS
from tests.helpers import settings_for


@pytest.mark.parametrize("q", ["taliban", "shoig*", "talib* kabul", '"security coun"*', "rus*"])
@pytest.mark.parametrize("search_in", ["all", "title", "body"])
@pytest.mark.parametrize("window", [200, 1_500])
def test_every_article_the_index_matches_gets_a_highlighted_passage(
    sqlite_seeded_template: Path, q: str, search_in: str, window: int
) -> None:
    """On the seeds in SQLite: whatever the window, the passage holds a match."""
    engine = create_engine(f"sqlite:///{sqlite_seeded_template}")
    query = parse_query(q)
    with Session(engine) as session:
        texts = {
            row.id: (row.title, row.body)
            for row in session.execute(select(Article.id, Article.title, Article.body))
        }
        matched = set(
            session.execute(
                text("SELECT rowid FROM article_fts WHERE article_fts MATCH :q"),
                {"q": to_fts5(query, fts5_columns(search_in))},  # type: ignore[arg-type]
            ).scalars()
        )
        passages = snippets(session, query, search_in, texts, 24, Highlight(), window)  # type: ignore[arg-type]
    engine.dispose()
    assert matched or search_in != "all"  # every query here matches some article's text
    assert all("<mark>" in passages.get(i, "") for i in matched), (matched, passages)


def page_of(session: Session) -> dict[int, tuple[str | None, str | None]]:
    return {
        row.id: (row.title, row.body)
        for row in session.execute(select(Article.id, Article.title, Article.body))
    }


def test_a_page_of_snippets_is_five_statements_on_the_apps_connections(
    sqlite_seeded_template: Path,
) -> None:
    """The app's SQLite connections get the page tables when they connect, so a page only
    empties and fills them (index and text) and reads them; made inside each page's transaction,
    they were made again for every page (seven statements). Engines made elsewhere make them
    per page, with the same snippets."""
    query = parse_query("talib* OR kabul")
    engine = create_db_engine(settings_for(f"sqlite:///{sqlite_seeded_template}"))
    statements: list[str] = []

    def record(*args: object) -> None:
        statement = str(args[2])
        if not statement.startswith(("BEGIN", "ROLLBACK", "COMMIT")):
            statements.append(" ".join(statement.split()))

    pages = []
    for _ in range(2):
        with Session(engine) as session:
            texts = page_of(session)
            event.listen(engine, "before_cursor_execute", record)
            pages.append(snippets(session, query, "all", texts, 24, Highlight(), 1_500))
            event.remove(engine, "before_cursor_execute", record)
    elsewhere = create_engine(f"sqlite:///{sqlite_seeded_template}")
    with Session(elsewhere) as session:
        pages.append(snippets(session, query, "all", page_of(session), 24, Highlight(), 1_500))
    engine.dispose()
    elsewhere.dispose()
    assert [" ".join(statement.split()[:3]) for statement in statements] == [
        "INSERT INTO temp.page_fts(page_fts)",
        "DELETE FROM temp.page_text",
        "INSERT INTO temp.page_text(id,",
        "INSERT INTO temp.page_fts(rowid,",
        "SELECT rowid, snippet(page_fts,",
    ] * 2
    assert pages[0] and pages[0] == pages[1] == pages[2]


def test_a_second_page_in_one_transaction_shows_only_its_own_texts(
    sqlite_seeded_template: Path,
) -> None:
    """The page table is emptied, index and all, before each page: rows of the page before,
    even under the same ids, neither match nor lend their text."""
    engine = create_db_engine(settings_for(f"sqlite:///{sqlite_seeded_template}"))
    query = parse_query("zebra")
    with Session(engine) as session:
        first = snippets(session, query, "all", {1: ("A zebra", "zebra crossing")}, 24, None, 500)
        second = snippets(
            session, query, "all", {1: ("A horse", "no stripes"), 2: ("Zebra", None)}, 24, None, 500
        )
        session.commit()
    with Session(engine) as session:
        third = snippets(session, query, "all", {3: ("Stripes", "a zebra")}, 24, None, 500)
    engine.dispose()
    assert first == {1: "A zebra"}
    assert second == {2: "Zebra"}
    assert third == {3: "a zebra"}


# Persian-written text, searched in Arabic letters: both are folded as the index folds them.
KABUL = {
    9_001: ("طالبان در کابل", "سخنگوی طالبان در کابل گفت که هیئت روسی به کابل سفر می‌کند."),
}


# Only on PostgreSQL (the case is not generated without it, rather than skipped on SQLite).
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"], indirect=True)
@pytest.mark.parametrize("q", ["taliban", "shoig*", '"security council"', "rus* -ukraine", "كابل"])
@pytest.mark.parametrize("search_in", ["all", "title", "body"])
def test_a_page_on_postgresql_gets_the_snippets_it_gets_on_sqlite(
    seeded_db: str,
    sqlite_seeded_template: Path,
    q: str,
    search_in: SearchIn,
) -> None:
    """Snippets are made from the page's text the same way whichever database holds it (on
    PostgreSQL in an in-memory SQLite table of the thread's own): the same passages, marks
    and folding of Arabic-script letters."""
    query = parse_query(q)
    sqlite = create_engine(f"sqlite:///{sqlite_seeded_template}")
    postgresql = create_engine(seeded_db)
    try:
        with Session(sqlite) as session:
            texts = {**page_of(session), **KABUL}
            expected = snippets(session, query, search_in, texts, 24, Highlight(), 1_500)
        with Session(postgresql) as session:
            assert page_of(session).keys() <= texts.keys()
            found = snippets(session, query, search_in, texts, 24, Highlight(), 1_500)
    finally:
        sqlite.dispose()
        postgresql.dispose()
    assert found == expected
    if search_in != "title" or q == "كابل":
        assert any("<mark>" in snippet for snippet in found.values()), found
