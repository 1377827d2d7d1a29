"""Snippets for queries with a prefix come from a one-page FTS5 table: the same passages."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.models import Article
from app.search.query import parse_query
from app.search.text import _fts5_snippets, _page_fts5_snippets


@pytest.mark.parametrize("q", ["taliban", "shoig*", "talib* kabul", '"security coun"*', "rus*"])
@pytest.mark.parametrize("search_in", ["all", "title", "body"])
def test_a_page_table_gives_the_passages_of_the_whole_index(
    engine: Engine, backend: str, q: str, search_in: str
) -> None:
    if backend == "postgresql":
        pytest.skip("FTS5 snippets are SQLite's")
    query = parse_query(q)
    with Session(engine) as session:
        texts = {
            row.id: (row.title, row.body)
            for row in session.execute(select(Article.id, Article.title, Article.body))
        }
        whole = dict(_fts5_snippets(session, query, search_in, list(texts), 24))  # type: ignore[arg-type]
        page = dict(_page_fts5_snippets(session, query, search_in, texts, 24))  # type: ignore[arg-type]
    assert page == whole
    if search_in == "all":  # every query here matches some article's text
        assert whole and all("\x02" in passage for passage in whole.values())
