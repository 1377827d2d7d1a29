"""Tests for mutants of app/search/tantivy/sync.py that the rest of the suite let through
(docs/mutation.md), on a copy of the seeds with their index. Listed in [tool.mutmut], so
that adding a test here does not change mutmut's test selection (which would make it check
every mutant again)."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import tantivy
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import create_db_engine
from app.models import Article
from app.search import tantivy as tantivy_engine
from app.search.filter import ArticleFilter
from app.search.query import parse_query
from app.search.tantivy.index import SearchIndex, search_index_for
from app.search.tantivy.sync import (
    READ_CHUNK,
    REBUILD_SHARE,
    documents,
    prune_changes,
    sync_index,
    sync_search_index,
)
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


def add_articles(engine: Engine, count: int, prefix: str) -> None:
    with Session(engine) as session:
        session.add_all(
            Article(
                title=f"Filler {n}", body="filler", content_hash=f"{prefix}{n}", origin="filler"
            )
            for n in range(count)
        )
        session.commit()


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
    before = time.perf_counter()
    updated = sync_index(index, engine)
    assert 0 <= updated.seconds <= time.perf_counter() - before  # the time it took
    assert re.fullmatch(r"search index updated: 1 articles in \d+\.\ds", updated.summary())
    state = index.read_state()
    assert state is not None and updated.watermark == state.watermark
    with engine.connect() as connection:  # the applied changes are pruned
        left = connection.execute(text("SELECT count(*) FROM search_change")).scalar_one()
    assert left == 0


def test_a_rebuild_reads_every_chunk_and_counts_them_all(
    indexed: tuple[Settings, Engine],
) -> None:
    settings_, engine = indexed
    extra = READ_CHUNK + 1  # the rebuild reads the articles in two chunks
    add_articles(engine, extra, "f")
    index = index_of(settings_)
    report = sync_index(index, engine, rebuild=True)
    assert report.rebuilt and report.applied == 5 + extra
    searcher = index.any_searcher()
    assert searcher is not None and searcher.num_docs == 5 + extra


def test_changes_to_more_than_a_quarter_of_the_index_rebuild_it(
    indexed: tuple[Settings, Engine],
) -> None:
    settings_, engine = indexed
    index = index_of(settings_)
    # Below 1,000 documents the share is taken of 1,000: 250 changes are applied one by one,
    # 251 rebuild every document.
    threshold = int(REBUILD_SHARE * 1_000)
    add_articles(engine, threshold, "a")
    applied = sync_index(index, engine)
    assert (applied.applied, applied.rebuilt) == (threshold, False)
    add_articles(engine, threshold + 1, "b")
    rebuilt = sync_index(index, engine)
    assert (rebuilt.applied, rebuilt.rebuilt) == (5 + 2 * threshold + 1, True)


def test_an_article_without_title_or_body_text_gives_the_index_no_words(
    indexed: tuple[Settings, Engine],
) -> None:
    settings_, engine = indexed
    with Session(engine) as session:
        article = Article(title=None, body="", content_hash="empty", origin="empty")
        session.add(article)
        session.commit()
        article_id = article.id
    assert article_id is not None
    with engine.connect() as connection:
        [document] = documents(index_of(settings_), connection, [article_id])
    fields = document.to_dict()
    assert (fields["id"], fields["title"], fields["body"]) == ([article_id], [""], [""])


def synced_events(caplog: pytest.LogCaptureFixture, event: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "newsdesk.search" and r.msg == event]


def test_each_sync_logs_what_it_applied_and_how(
    indexed: tuple[Settings, Engine], caplog: pytest.LogCaptureFixture
) -> None:
    settings_, engine = indexed
    with engine.begin() as connection:
        connection.execute(text("UPDATE article SET title = title || ' ' WHERE id IN (2, 4)"))
    with caplog.at_level(logging.INFO, logger="newsdesk.search"):
        sync_index(index_of(settings_), engine)
        sync_index(index_of(settings_), engine, rebuild=True)
    updated, rebuilt = synced_events(caplog, "search_index_synced")
    assert (updated.applied, updated.rebuilt) == (2, False)  # type: ignore[attr-defined]
    assert (rebuilt.applied, rebuilt.rebuilt) == (5, True)  # type: ignore[attr-defined]


def test_a_busy_writer_is_logged_and_the_sync_left_for_later(
    indexed: tuple[Settings, Engine], caplog: pytest.LogCaptureFixture
) -> None:
    settings_, engine = indexed
    with engine.begin() as connection:
        connection.execute(text("UPDATE article SET title = title || ' ' WHERE id = 3"))
    held = tantivy.Index.open(str(index_of(settings_).directory)).writer(50_000_000, 1)
    with caplog.at_level(logging.WARNING, logger="newsdesk.search"):
        assert sync_search_index(settings_, engine, wait_seconds=0.0) is None
    [busy] = synced_events(caplog, "search_index_busy")
    assert "LockBusy" in busy.error  # type: ignore[attr-defined]
    held.rollback()
    del held
    report = sync_search_index(settings_, engine)
    assert report is not None and report.applied == 1


def test_an_index_already_current_is_left_alone_even_while_its_writer_is_busy(
    indexed: tuple[Settings, Engine],
) -> None:
    settings_, engine = indexed
    index = index_of(settings_)
    state = index.read_state()
    assert state is not None
    held = tantivy.Index.open(str(index.directory)).writer(50_000_000, 1)
    before = time.perf_counter()
    report = sync_index(index, engine, wait_seconds=0.0)  # no writer needed: no IndexBusy
    outside = time.perf_counter() - before
    held.rollback()
    del held
    assert (report.applied, report.rebuilt, report.watermark) == (0, False, state.watermark)
    assert 0 <= report.seconds <= outside  # the time it took, not a moment
    assert re.fullmatch(r"search index updated: 0 articles in \d+\.\ds", report.summary())


def change_log_rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM search_change")).scalar_one())


def test_a_change_log_locked_by_another_writer_is_kept_for_the_next_sync(
    indexed: tuple[Settings, Engine], caplog: pytest.LogCaptureFixture
) -> None:
    settings_, engine = indexed
    with engine.begin() as connection:
        connection.execute(text("UPDATE article SET title = title || ' ' WHERE id = 1"))
    assert change_log_rows(engine) > 0
    impatient = create_db_engine(
        settings_.model_copy(update={"sqlite_busy_timeout_ms": 50}), writer=True
    )
    try:
        with engine.begin() as holder, caplog.at_level(logging.WARNING, logger="newsdesk.search"):
            holder.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock is held
            prune_changes(impatient, 10**9)
        [kept] = synced_events(caplog, "search_change_not_pruned")
        assert "locked" in kept.error  # type: ignore[attr-defined]
        assert change_log_rows(engine) > 0
        prune_changes(impatient, 10**9)
        assert change_log_rows(engine) == 0
    finally:
        impatient.dispose()


def test_a_sync_waits_for_a_writer_released_within_its_wait(
    indexed: tuple[Settings, Engine],
) -> None:
    settings_, engine = indexed
    with engine.begin() as connection:
        connection.execute(text("UPDATE article SET title = title || ' ' WHERE id = 2"))
    # Another writer, dropped (its lock released) half a second into the sync's wait.
    held = [tantivy.Index.open(str(index_of(settings_).directory)).writer(50_000_000, 1)]
    release = threading.Timer(0.5, lambda: held.pop().rollback())
    release.start()
    try:
        report = sync_search_index(settings_, engine, wait_seconds=30.0)
    finally:
        release.join()
    assert report is not None and report.applied == 1


def test_the_settings_sync_rebuilds_when_asked(indexed: tuple[Settings, Engine]) -> None:
    settings_, engine = indexed
    report = sync_search_index(settings_, engine, rebuild=True)
    assert report is not None and (report.applied, report.rebuilt) == (5, True)


def test_the_settings_sync_gives_up_after_the_wait_it_is_given(
    indexed: tuple[Settings, Engine],
) -> None:
    settings_, engine = indexed
    with engine.begin() as connection:
        connection.execute(text("UPDATE article SET title = title || ' ' WHERE id = 4"))
    # Another writer, released three seconds in: well after this sync's wait, well within
    # the default one.
    held = [tantivy.Index.open(str(index_of(settings_).directory)).writer(50_000_000, 1)]
    release = threading.Timer(3.0, lambda: held.pop().rollback())
    release.start()
    try:
        assert sync_search_index(settings_, engine, wait_seconds=0.2) is None
    finally:
        release.join()
    report = sync_search_index(settings_, engine)
    assert report is not None and report.applied == 1


def answers(index: SearchIndex, filters: list[ArticleFilter]) -> list[list[int]]:
    """The ids the index finds for each filter."""
    searcher = index.any_searcher()
    assert searcher is not None
    return [sorted(index.ids_of(searcher, index.compile(flt, None), 100)) for flt in filters]


def test_a_rebuild_built_in_a_pool_indexes_what_one_built_here_does(
    indexed: tuple[Settings, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `newsdesk load-jsonl --workers` builds the documents of ranges of ids in other
    # processes; threads run the same code here, where the test can see it.
    settings_, engine = indexed
    monkeypatch.setattr(tantivy_engine.sync, "READ_CHUNK", 2)  # four ranges of ids
    add_articles(engine, 3, "g")  # ids 6 to 8, and 6 deleted: a range with one article
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM article WHERE id = 6"))
    with engine.connect() as connection:
        titles = connection.execute(text("SELECT title FROM article")).scalars().all()
        tags = connection.execute(text("SELECT DISTINCT tag FROM article_tag")).scalars().all()
    filters = [ArticleFilter()]
    filters += [ArticleFilter(query=parse_query(title.split()[0])) for title in titles if title]
    filters += [ArticleFilter(tags=[tag]) for tag in tags]
    index = index_of(settings_)
    here = sync_index(index, engine, rebuild=True)
    expected = answers(index, filters)
    with ThreadPoolExecutor(2) as pool:
        pooled = sync_index(index, engine, rebuild=True, pool=pool)
    assert pooled.applied == here.applied == 7
    assert answers(index, filters) == expected
    assert expected[0] == [1, 2, 3, 4, 5, 7, 8] and all(expected[1:])  # each finds some


def copy_sqlite(source: str, target: str) -> None:
    """The whole database `source` written over `target` (SQLite's online backup)."""
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)


def test_a_database_put_back_from_an_earlier_copy_is_followed_from_its_own_log(
    indexed: tuple[Settings, Engine], tmp_path: Path
) -> None:
    # A backup restored over the database: its change log ends below the index's watermark.
    settings_, engine = indexed
    index = index_of(settings_)
    live, earlier = str(engine.url.database), str(tmp_path / "earlier.db")
    sync_index(index, engine)
    copy_sqlite(live, earlier)
    with engine.begin() as connection:
        connection.execute(text("UPDATE article SET title = title || ' ' WHERE id IN (1, 2)"))
    ahead = sync_index(index, engine).watermark
    copy_sqlite(earlier, live)
    put_back = sync_index(index, engine)
    assert put_back.watermark < ahead  # the watermark follows the database back
    with engine.begin() as connection:
        connection.execute(text("UPDATE article SET body = body || ' platypus' WHERE id = 4"))
    assert sync_index(index, engine).applied == 1
    assert answers(index, [ArticleFilter(query=parse_query("platypus"))]) == [[4]]
