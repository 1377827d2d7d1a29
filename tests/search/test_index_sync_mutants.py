"""Tests for mutants of app/search/tantivy/sync.py that the rest of the suite let through
(docs/mutation.md), on a copy of the seeds with their index. Listed in [tool.mutmut], so
that adding a test here does not change mutmut's test selection (which would make it check
every mutant again)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import create_db_engine
from app.models import Article
from app.search.tantivy.index import SearchIndex, search_index_for
from app.search.tantivy.sync import READ_CHUNK, sync_index
from tests.backends import copy_database
from tests.helpers import settings_for


@pytest.fixture
def indexed(sqlite_seeded_template: Path, tmp_path: Path) -> Iterator[tuple[Settings, Engine]]:
    """A copy of the seeds with their search index, and a writer engine on it."""
    url = copy_database(sqlite_seeded_template, tmp_path / "newsdesk.db", "tantivy")
    settings_ = settings_for(url)
    engine = create_db_engine(settings_, writer=True)
    yield settings_, engine
    engine.dispose()


def index_of(settings_: Settings) -> SearchIndex:
    index = search_index_for(settings_)
    assert index is not None
    return index


def test_the_summary_says_whether_the_index_was_rebuilt_or_updated(
    indexed: tuple[Settings, Engine],
) -> None:
    settings_, engine = indexed
    index = index_of(settings_)
    rebuilt = sync_index(index, engine, rebuild=True)
    assert re.fullmatch(r"search index rebuilt: 5 articles in \d+\.\ds", rebuilt.summary())
    with engine.begin() as connection:
        connection.execute(text("UPDATE article SET title = title || ' ' WHERE id = 5"))
    updated = sync_index(index, engine)
    assert re.fullmatch(r"search index updated: 1 articles in \d+\.\ds", updated.summary())


def test_a_rebuild_reads_every_chunk_and_counts_them_all(
    indexed: tuple[Settings, Engine],
) -> None:
    settings_, engine = indexed
    extra = READ_CHUNK + 1  # the rebuild reads the articles in two chunks and then some
    with Session(engine) as session:
        session.add_all(
            Article(title=f"Filler {n}", body="filler", content_hash=f"f{n}", origin=f"f{n}")
            for n in range(extra)
        )
        session.commit()
    index = index_of(settings_)
    report = sync_index(index, engine, rebuild=True)
    assert report.rebuilt and report.applied == 5 + extra
    searcher = index.any_searcher()
    assert searcher is not None and searcher.num_docs == 5 + extra
