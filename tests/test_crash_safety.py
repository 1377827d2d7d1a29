"""kill -9 between two commits of an ingest, then recovery: nothing lost, every entity linked,
and the search index equal to the database.

An ingest commits three things in turn for each batch: the articles, their entity links, the
search index (then moves the index's watermark). NEWSDESK_FAULT_KILL_AT (app/faults.py) kills
the real `newsdesk ingest`, with spaCy on, exactly between two of them. Recovery is what a
user does after a crash: `newsdesk serve` (which brings the index up to date before serving),
then the same ingest again. Afterwards the database must equal one that a clean run of the
same files built (the same articles, entities and mentions per article), and the index must
equal the database, checked both directly and through the API on both engines.

The run is a re-ingest of an edited corpus, so the killed batch holds new articles and an
article whose text changed: its links from the old text must not survive the crash.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from app.config import INGEST_KILL_POINTS, Settings
from app.ingest.read.discovery import find_articles
from app.ingest.read.files import origin_of
from tests.backends import sqlite_url
from tests.crash_state import (
    article_ids,
    assert_clean_run,
    database_links,
    entity_links,
    index_is_behind,
    index_links,
    query,
    run_cli_ingest,
    stored_origins,
)
from tests.helpers import SEEDS_DIR
from tests.server import running_server

BATCH = 8
BBC_PER_CATEGORY = 8
# The kill lands in this batch (counted from 0) of the second ingest.
KILL_BATCH = 3
# Files (by position in ingest order) whose first version was cut short: one in the first
# batch, so the second ingest's first index sync has work, and one in the killed batch.
EDITED = (3, KILL_BATCH * BATCH + 1)
# Files from here on are new to the second ingest: the rest of the killed batch and after.
FIRST_NEW = KILL_BATCH * BATCH + 2
KILLED_BATCH_END = (KILL_BATCH + 1) * BATCH

# Each kill point (every one app/faults.py has) and the n-th time it is reached in the second
# ingest when the killed batch has just been committed (an index sync with nothing to apply
# reaches no point).
KILLS = {
    "articles_committed": KILL_BATCH + 1,
    "index_written": 2,
    "index_committed": 2,
}

# Searches both engines must answer alike, page by page.
SEARCHES: list[dict[str, str]] = [
    {},
    {"sort": "published_at"},
    {"q": "government"},
    {"q": '"prime minister"'},
    {"q": "elect*"},
    {"q": "chelsea OR arsenal"},
    {"tag": "sport"},
    {"tag": "tech", "language": "en"},
    {"entity_type": "person", "q": "minister"},
    {"entity_type": "organization"},
    {"from": "2024-01-01"},
]


@dataclass
class Corpus:
    """An edited corpus folder, its files in ingest order, the database after the first
    version's ingest (the base) and after a clean ingest of the edited one (the reference)."""

    root: Path
    origins: list[str]
    base: Path
    reference: Path


def cut_short(text: str) -> str:
    """The first version of an edited file: its title and first paragraph only."""
    return "\n\n".join(text.split("\n\n")[:2]) + "\n"


def run_ingest(
    root: Path, database: Path, kill_at: str | None = None, workers: int = 1
) -> subprocess.CompletedProcess[str]:
    """`newsdesk ingest` in batches of BATCH: see tests/crash_state.py."""
    return run_cli_ingest(root, database, batch=BATCH, workers=workers, kill_at=kill_at)


def copy_database(source: Path, target: Path) -> Path:
    """The SQLite file with its search index beside it."""
    shutil.copyfile(source, target)
    shutil.copytree(source.with_suffix(".index"), target.with_suffix(".index"))
    return target


@pytest.fixture(scope="module")
def corpus(bbc_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """Seeds and a few BBC articles per category, ingested in their first version (some
    files cut short, the last ones absent), then edited to the second."""
    folder = tmp_path_factory.mktemp("crash")
    root = folder / "articles"
    for category in sorted(path for path in bbc_corpus.iterdir() if path.is_dir()):
        (root / "bbc" / category.name).mkdir(parents=True)
        for path in sorted(category.glob("*.txt"))[:BBC_PER_CATEGORY]:
            shutil.copy(path, root / "bbc" / category.name / path.name)
    shutil.copytree(SEEDS_DIR, root / "seeds")
    files = find_articles([root]).files
    assert len(files) > KILLED_BATCH_END + BATCH, "the killed batch must not be the last"

    full_texts = {position: files[position].read_text() for position in EDITED}
    for position, text in full_texts.items():
        files[position].write_text(cut_short(text))
    hidden = folder / "not yet"
    for path in files[FIRST_NEW:]:
        for part in path.parent.glob(f"{path.stem}.*"):  # with its metadata sidecar
            target = hidden / part.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            part.rename(target)
    base = folder / "base.db"
    assert_clean_run(run_ingest(root, base))

    for position, text in full_texts.items():
        files[position].write_text(text)
    shutil.copytree(hidden, root, dirs_exist_ok=True)
    reference = copy_database(base, folder / "reference.db")
    assert_clean_run(run_ingest(root, reference))

    origins = [origin_of(path) for path in files]
    edited = origins[EDITED[1]]
    # The edit changes what the killed batch's edited article links: stale links would show.
    assert entity_links(base)[edited] != entity_links(reference)[edited]
    return Corpus(root, origins, base, reference)


@contextmanager
def both_engines(database: Path, logs: Path) -> Iterator[tuple[str, str]]:
    """`newsdesk serve` on the tantivy index, which it brings up to date before serving, and a
    server searching with FTS5 alone, on the same database: their URLs."""
    url = sqlite_url(database)
    fts5 = {"NEWSDESK_SEARCH_ENGINE": "database"}
    with (
        running_server(url, logs / "tantivy.log", cli=True) as on_index,
        running_server(url, logs / "fts5.log", fts5) as on_fts5,
    ):
        yield on_index.url, on_fts5.url


def every_page(server: str, params: dict[str, str]) -> tuple[int, list[int]]:
    """The total and the ids of every page of /articles, ten at a time."""
    ids: list[int] = []
    cursor: str | None = None
    totals = set()
    while True:
        page_params = {"sort": "-published_at", **params, "limit": "10"}
        if cursor is not None:
            page_params["cursor"] = cursor
        response = httpx.get(f"{server}/articles", params=page_params, timeout=60)
        assert response.status_code == 200, response.text
        page = response.json()
        totals.add(page["total"])
        ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            assert totals == {len(ids)}, (params, totals, len(ids))
            return len(ids), ids


def assert_index_equals_database(database: Path, on_index: str, on_fts5: str) -> int:
    """The index is current and holds what the database holds; both engines answer alike.
    Returns the number of articles the API shows."""
    ready = httpx.get(f"{on_index}/readyz", timeout=30).json()
    assert (ready["search_index"], ready["search_index_lag"]) == ("current", 0), ready
    assert index_links(database) == database_links(database)
    busiest = query(
        database,
        "SELECT entity_id FROM article_entity GROUP BY entity_id "
        "ORDER BY count(*) DESC, entity_id LIMIT 6",
    )
    searches = SEARCHES + [{"entity": str(entity_id)} for (entity_id,) in busiest]
    for params in searches:
        assert every_page(on_index, params) == every_page(on_fts5, params), params
    total, _ = every_page(on_index, {})
    return total


def assert_database_consistent(database: Path, origins: list[str]) -> None:
    """SQLite's and FTS5's own checks pass, and every file is stored exactly once."""
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # FTS5's own check that the index matches the article table it indexes.
        connection.execute("INSERT INTO article_fts(article_fts) VALUES ('integrity-check')")
        stored = {row[0] for row in connection.execute("SELECT id FROM article")}
        indexed = {row[0] for row in connection.execute("SELECT rowid FROM article_fts")}
        assert indexed == stored
    assert sorted(stored_origins(database)) == sorted(origins)


def assert_killed_where_meant(point: str, database: Path, corpus: Corpus) -> None:
    """The kill left the state its point names: the killed batch committed, nothing after."""
    assert sorted(stored_origins(database)) == sorted(corpus.origins[:KILLED_BATCH_END])
    assert index_is_behind(database)
    links = entity_links(database)
    reference = entity_links(corpus.reference)
    new = corpus.origins[FIRST_NEW:KILLED_BATCH_END]
    assert any(reference[origin] for origin in new), "nothing to link in the killed batch"
    if point == "articles_committed":
        assert all(links[origin] == {} for origin in new), "the new articles are linked"
    else:
        assert all(links[origin] == reference[origin] for origin in new)
    ids = article_ids(database)
    indexed = set(index_links(database))
    if point == "index_written":
        assert indexed == {ids[origin] for origin in corpus.origins[:FIRST_NEW]}
    if point == "index_committed":
        assert indexed == set(ids.values())


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2], ids=["one process", "two workers"])
@pytest.mark.parametrize("point", list(INGEST_KILL_POINTS))
def test_kill_minus_9_then_recovery_links_every_entity_and_catches_the_index_up(
    point: str, workers: int, corpus: Corpus, tmp_path: Path
) -> None:
    """With workers, the killed ingest and the rerun recognise in worker processes (which
    must not outlive the killed one) and store what one process does: the reference."""
    database = copy_database(corpus.base, tmp_path / "crash.db")
    killed = run_ingest(corpus.root, database, f"{point}:{KILLS[point]}", workers)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert_killed_where_meant(point, database, corpus)
    stored_when_killed = len(query(database, "SELECT id FROM article"))

    with both_engines(database, tmp_path) as (on_index, on_fts5):
        # A restart alone brings the index level with what the crash left in the database.
        assert assert_index_equals_database(database, on_index, on_fts5) == stored_when_killed
        # Running the same ingest again finishes the job, the servers still running.
        assert_clean_run(run_ingest(corpus.root, database, workers=workers))
        shown = assert_index_equals_database(database, on_index, on_fts5)
    assert shown >= stored_when_killed
    assert shown == len(query(corpus.reference, "SELECT id FROM article"))
    assert_database_consistent(database, corpus.origins)
    assert entity_links(database) == entity_links(corpus.reference)


@pytest.mark.parametrize("setting", ["articles_comitted", "index_written:0", "index_written:x"])
def test_a_kill_point_that_could_never_be_reached_is_refused_at_start(setting: str) -> None:
    with pytest.raises(ValidationError, match="fault_kill_at"):
        Settings(fault_kill_at=setting)
    assert Settings(fault_kill_at="index_written:2").fault_kill_at == "index_written:2"
