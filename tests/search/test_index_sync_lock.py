"""Several processes bringing one search index up to date at once: an API node's workers
each start a catch-up, and on SQLite every ingest syncs the index after its batches.

Seen at 1M articles on PostgreSQL: a node started with two workers on an empty index folder.
One worker began building; the other, finding no finished index either, emptied the folder
under it and its catch-up thread died on tantivy's "No such file or directory". Here the
build is held mid-way (an Event, not a race), and the second process is a second
SearchIndex on the same folder, as another process has.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.config import Settings
from app.db import create_db_engine
from app.search.tantivy import sync
from app.search.tantivy.catchup import IndexCatchUp
from app.search.tantivy.index import IndexBusy, SearchIndex, search_index_for
from tests.backends import copy_database
from tests.helpers import settings_for


@pytest.fixture
def unindexed(sqlite_seeded_template: Path, tmp_path: Path) -> Iterator[tuple[Settings, Engine]]:
    """A copy of the seeds whose index folder is gone: the next sync builds it."""
    url = copy_database(sqlite_seeded_template, tmp_path / "newsdesk.db", "tantivy")
    settings = settings_for(url)
    index = search_index_for(settings)
    assert index is not None
    shutil.rmtree(index.directory)
    engine = create_db_engine(settings, writer=True)
    yield settings, engine
    engine.dispose()


def article_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM article")).scalar_one())


def test_a_second_process_waits_for_a_build_under_way_instead_of_emptying_its_folder(
    unindexed: tuple[Settings, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, engine = unindexed
    first = search_index_for(settings)
    assert first is not None
    building, release = threading.Event(), threading.Event()
    add_all = sync._add_all

    def held_build(*args: object, **kwargs: object) -> int:
        if not building.is_set():
            building.set()
            assert release.wait(30)
        return add_all(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sync, "_add_all", held_build)
    reports: list[sync.SyncReport] = []
    builder = threading.Thread(
        target=lambda: reports.append(sync.sync_index(first, engine, wait_seconds=0))
    )
    builder.start()
    try:
        assert building.wait(30), "the first process never started building"
        files = sorted(path.name for path in first.directory.iterdir())
        second = SearchIndex(first.directory)
        with pytest.raises(IndexBusy):
            sync.sync_index(second, engine, wait_seconds=0)
        assert sorted(path.name for path in first.directory.iterdir()) == files
    finally:
        release.set()
        builder.join(60)

    articles = article_count(engine)
    assert [(report.rebuilt, report.applied) for report in reports] == [(True, articles)]
    again = sync.sync_index(SearchIndex(first.directory), engine, wait_seconds=0)
    assert (again.rebuilt, again.applied) == (False, 0)
    handle = SearchIndex(first.directory).open()
    assert handle is not None
    assert handle.searcher().num_docs == articles


def test_the_catch_up_outlives_an_index_folder_it_cannot_use(
    unindexed: tuple[Settings, Engine],
) -> None:
    """A folder the node can't write (here a file where the folder should be) is logged
    and tried again at each poll; once it is usable the index is built, with no restart."""
    settings, engine = unindexed
    settings = settings.model_copy(
        update={"search_index_listen": False, "search_index_poll_ms": 50}
    )
    index = search_index_for(settings)
    assert index is not None
    index.directory.write_text("not a folder")
    catch_up = IndexCatchUp(settings, index)
    catch_up.start()
    try:
        time.sleep(0.5)  # several polls, each failing on the file
        assert catch_up._thread.is_alive()
        index.directory.unlink()
        deadline = time.monotonic() + 30
        while index.read_state() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        state = index.read_state()
        assert state is not None, "the index was never built once the folder was usable"
        handle = index.open()
        assert handle is not None
        handle.reload()
        assert handle.searcher().num_docs == article_count(engine)
    finally:
        catch_up.stop()
