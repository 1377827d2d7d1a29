"""Snippets come from a one-page FTS5 table of passage windows: every match is shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlmodel import Session

from app.models import Article
from app.search.query import parse_query, to_fts5
from app.search.text import Highlight, fts5_columns, snippets


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
