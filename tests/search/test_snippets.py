"""Snippets for queries with a prefix come from a one-page FTS5 table: the same passages."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlmodel import Session

from app.models import Article
from app.search.query import parse_query
from app.search.text import _fts5_snippets, _page_fts5_snippets


@pytest.mark.parametrize("q", ["taliban", "shoig*", "talib* kabul", '"security coun"*', "rus*"])
@pytest.mark.parametrize("search_in", ["all", "title", "body"])
def test_a_page_table_gives_the_passages_of_the_whole_index(
    sqlite_seeded_template: Path, q: str, search_in: str
) -> None:
    """On the seeds in SQLite: FTS5 snippets are SQLite's, on either search engine."""
    engine = create_engine(f"sqlite:///{sqlite_seeded_template}")
    query = parse_query(q)
    with Session(engine) as session:
        texts = {
            row.id: (row.title, row.body)
            for row in session.execute(select(Article.id, Article.title, Article.body))
        }
        whole = dict(_fts5_snippets(session, query, search_in, list(texts), 24))  # type: ignore[arg-type]
        page = dict(_page_fts5_snippets(session, query, search_in, texts, 24))  # type: ignore[arg-type]
    engine.dispose()
    assert page == whole
    if search_in == "all":  # every query here matches some article's text
        assert whole and all("\x02" in passage for passage in whole.values())
