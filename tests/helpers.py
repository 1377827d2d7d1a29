"""Plain helpers the fixtures (in conftest.py) and tests share: settings for a test
database, a real ingest, and the builders of the seeded and empty template databases.

Kept out of conftest.py so tests import them from a module of their own (issue 13); the
template builders here are inputs of the mutation template cache (tests/mutation_templates.py).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.config import PROJECT_ROOT, Settings, get_settings
from app.db import create_db_engine, upgrade_database
from tests.backends import SEARCH_ENGINES, sqlite_url

SEEDS_DIR = PROJECT_ROOT / "data" / "articles"
TEST_DATA = PROJECT_ROOT / "tests" / "data"


def bbc_corpus_path() -> Path | None:
    """The BBC corpus: NEWSDESK_BBC_CORPUS, or ../shared/corpus/bbc beside the repository."""
    configured = os.environ.get("NEWSDESK_BBC_CORPUS")
    candidate = Path(configured) if configured else PROJECT_ROOT.parent / "shared/corpus/bbc"
    return candidate if candidate.is_dir() else None


def shared_template(
    tmp_path_factory: pytest.TempPathFactory, file_name: str, build: Callable[[Path], None]
) -> Path:
    """A template database (`file_name`, and its `.index` beside it) built by build(path) once
    per run: under pytest-xdist the first worker to need it builds it in the run's shared
    temporary folder while the others wait, so the minutes of a BBC ingest are spent once.
    Tests only copy or read a template, so sharing it between processes is safe."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        path = tmp_path_factory.mktemp("templates") / file_name
        build(path)
        return path
    folder = tmp_path_factory.getbasetemp().parent / "shared-templates"
    folder.mkdir(exist_ok=True)
    path = folder / file_name
    built = path.with_name(f"{file_name}.built")
    with path.with_name(f"{file_name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the worker dies
        if not built.exists():
            # What a worker that failed half-way left behind.
            for partial in path.parent.glob(f"{path.name}*"):
                if partial.suffix not in {".lock", ".built"}:
                    shutil.rmtree(partial) if partial.is_dir() else partial.unlink()
            shutil.rmtree(path.with_suffix(".index"), ignore_errors=True)
            build(path)
            built.touch()
    return path


@contextmanager
def machine_lock(folder: Path, *, alone: bool) -> Iterator[None]:
    """The pytest-xdist workers' lock on the machine, in the run's shared `folder`: shared by
    ordinary tests, exclusive for a test that needs the machine to itself. Everyone passes a
    turnstile first, which a test waiting to be alone holds, so it is not starved."""
    with (folder / "machine.lock").open("a") as lock:
        with (folder / "machine.turnstile").open("a") as turnstile:
            fcntl.flock(turnstile, fcntl.LOCK_EX)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
            finally:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def settings_for(database_url: str, **overrides: object) -> Settings:
    """Settings for a test database. The per-request time limit is generous here: tests check
    answers on a shared machine; tests of the limit itself pass their own."""
    update = {
        "database_url": database_url,
        "query_timeout_ms": 60_000,
        "search_engine": SEARCH_ENGINES.get(database_url, "tantivy"),
        **overrides,
    }
    return get_settings().model_copy(update=update)


def ingest_paths(settings: Settings, *paths: Path, nlp: bool = True) -> object:
    """Run a real ingest (the same code as `newsdesk ingest`) and return its report."""
    from app.ingest.pipeline import Ingest, apply_alias_file

    engine = create_db_engine(settings, writer=True)
    try:
        if settings.aliases_file.exists():
            apply_alias_file(engine, settings.aliases_file)
        recognizer = shared_recognizer() if nlp else None
        return Ingest(engine, settings, recognizer).run(list(paths))
    finally:
        engine.dispose()


_recognizer: object | None = None


def shared_recognizer():  # type: ignore[no-untyped-def]
    """One spaCy pipeline for the whole test session (loading it takes seconds)."""
    global _recognizer
    if _recognizer is None:
        from app.ingest.entities.recognition import EntityRecognizer

        _recognizer = EntityRecognizer()
    return _recognizer


def build_empty_database(path: Path) -> None:
    upgrade_database(sqlite_url(path))
    build_search_index(path)


def seed_database(url: str) -> None:
    """Migrate and ingest the five seed articles with entity recognition (the real code)."""
    upgrade_database(url)
    report = ingest_paths(settings_for(url, search_engine="database"), SEEDS_DIR)
    assert report.failed == 0, report.failures  # type: ignore[attr-defined]
    if url.startswith("sqlite"):
        build_search_index(Path(url.removeprefix("sqlite:///")))


def build_search_index(database: Path) -> None:
    """The tantivy index beside a SQLite template (copied with it for [tantivy] tests)."""
    from app.search.tantivy.sync import sync_search_index

    url = sqlite_url(database)
    settings = settings_for(url, search_engine="tantivy")
    engine = create_db_engine(settings, writer=True)
    try:
        assert sync_search_index(settings, engine, rebuild=True) is not None
    finally:
        engine.dispose()


def catch_up(settings: Settings, engine: Engine, timeout: float = 60.0) -> None:
    """Sync the settings' index until it holds every change the database has: on PostgreSQL
    a transaction still running anywhere on the server (another test's) holds the boundary
    back for a moment."""
    import time

    from app.search.tantivy.changes import backlog
    from app.search.tantivy.index import search_index_for
    from app.search.tantivy.sync import sync_index

    index = search_index_for(settings)
    assert index is not None
    deadline = time.monotonic() + timeout
    while True:
        sync_index(index, engine)
        state = index.read_state()
        assert state is not None
        with engine.connect() as connection:
            if backlog(connection, state.watermark).changes == 0:
                return
        assert time.monotonic() < deadline, "the index did not catch up"
        time.sleep(0.1)


def wait_for_boundary_past_the_log(engine: Engine, timeout: float = 60.0) -> None:
    """Wait until every transaction that logged a change has ended: the boundary a sync
    reaches (and below which writers prune) is past them. A transaction of another test,
    anywhere on the server, holds it back for a while."""
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as connection:
            passed = connection.execute(
                text(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint "
                    "> coalesce(max(xid), 0) FROM search_change"
                )
            ).scalar_one()
        if passed:
            return
        assert time.monotonic() < deadline, "a transaction stayed open on the server"
        time.sleep(0.1)
