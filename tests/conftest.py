"""Shared fixtures: a fresh database per test (seeded or empty) and an API client bound to it.

Seeding runs real spaCy once per session into a template database; each test gets its own
copy, so tests never see each other's writes. Under `make mutation` a template is shared
between mutant runs when the mutant cannot have changed it (tests/mutation_templates.py).

Every database fixture runs on SQLite searched by FTS5 ([sqlite]), on SQLite searched by the
tantivy index beside it ([tantivy]), and on PostgreSQL too when TEST_DATABASE_URL is set
([postgresql]; see tests/backends.py). A PostgreSQL test gets its
own database, created from a template database with CREATE DATABASE ... TEMPLATE and dropped
afterwards. Tests that only make sense on one backend say so with a marker (`postgres`) or
by not using these fixtures (the FTS5 and sqlite3-file tests).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import PROJECT_ROOT, Settings, get_settings
from app.db import create_db_engine, get_session, upgrade_database
from tests.backends import PostgresServer, copy_rows, probe_postgres
from tests.mutation_templates import build_template

SEEDS_DIR = PROJECT_ROOT / "data" / "articles"
TEST_DATA = PROJECT_ROOT / "tests" / "data"

Backend = Literal["sqlite", "tantivy", "postgresql"]
# A template database: a SQLite file, or the name of a PostgreSQL database.
Template = Path | str

POSTGRES = probe_postgres()
BACKENDS: list[Backend] = ["sqlite", "tantivy"] + (["postgresql"] if POSTGRES.server else [])
# The search engine of each test database (a URL): FTS5 ("database") or the tantivy index.
# Databases a test makes itself get the default, as a user would.
SEARCH_ENGINES: dict[str, str] = {}


def pytest_report_header() -> str:
    return POSTGRES.message


def pytest_sessionstart(session: pytest.Session) -> None:
    if POSTGRES.required and POSTGRES.server is None:
        pytest.exit(
            f"NEWSDESK_REQUIRE_POSTGRES=1, but the PostgreSQL half can not run: {POSTGRES.reason}",
            pytest.ExitCode.USAGE_ERROR,
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if POSTGRES.server is None:
        terminalreporter.write_line(POSTGRES.message, yellow=True, bold=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if POSTGRES.server is not None:
        POSTGRES.server.close()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Where the test's data lives and is searched: "sqlite" (FTS5), "tantivy" (SQLite with
    the search index) and "postgresql" with TEST_DATABASE_URL."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """The PostgreSQL server of TEST_DATABASE_URL (the test is skipped without one)."""
    if POSTGRES.server is None:
        pytest.skip(POSTGRES.message)
    return POSTGRES.server


def bbc_corpus_path() -> Path | None:
    """The BBC corpus: NEWSDESK_BBC_CORPUS, or ../shared/corpus/bbc beside the repository."""
    configured = os.environ.get("NEWSDESK_BBC_CORPUS")
    candidate = Path(configured) if configured else PROJECT_ROOT.parent / "shared/corpus/bbc"
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session")
def bbc_corpus() -> Path:
    path = bbc_corpus_path()
    if path is None:
        pytest.skip(
            "BBC corpus not found: set NEWSDESK_BBC_CORPUS to the corpus/bbc folder "
            "(it is at ../shared/corpus/bbc in CI)"
        )
    return path


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


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


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


@pytest.fixture(scope="session")
def sqlite_empty_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("templates") / "empty.db"
    build_template("empty", path, build_empty_database)
    return path


@pytest.fixture(scope="session")
def sqlite_seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("templates") / "seeded.db"
    build_template("seeded", path, lambda path: seed_database(sqlite_url(path)))
    return path


def build_empty_database(path: Path) -> None:
    upgrade_database(sqlite_url(path))
    build_search_index(path)


@pytest.fixture(scope="session")
def sqlite_bbc_template(tmp_path_factory: pytest.TempPathFactory, bbc_corpus: Path) -> Path:
    """The whole BBC corpus ingested with entity recognition into SQLite, once per session."""
    path = tmp_path_factory.mktemp("templates") / "bbc.db"
    url = sqlite_url(path)
    upgrade_database(url)
    report = ingest_paths(settings_for(url, search_engine="database"), bbc_corpus)
    assert report.failed == 0, report.failures  # type: ignore[attr-defined]
    print(f"\nBBC corpus ingested with NER: {report.summary()}")  # type: ignore[attr-defined]
    build_search_index(path)
    return path


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


def copy_of_sqlite(sqlite_template: Path) -> Callable[[str], None]:
    """A builder for a PostgreSQL template holding the rows of a SQLite template."""

    def build(url: str) -> None:
        upgrade_database(url)
        copy_rows(sqlite_url(sqlite_template), url)

    return build


@pytest.fixture(scope="session")
def empty_template(backend: Backend, request: pytest.FixtureRequest) -> Template:
    """A migrated, empty template database of the backend."""
    if backend != "postgresql":
        return request.getfixturevalue("sqlite_empty_template")  # type: ignore[no-any-return]
    return request.getfixturevalue("postgres_server").template("empty", upgrade_database)


@pytest.fixture(scope="session")
def seeded_template(backend: Backend, request: pytest.FixtureRequest) -> Template:
    """A template database of the backend holding the seeds (ingested into each backend)."""
    if backend != "postgresql":
        return request.getfixturevalue("sqlite_seeded_template")  # type: ignore[no-any-return]
    return request.getfixturevalue("postgres_server").template("seeded", seed_database)


@pytest.fixture(scope="session")
def bbc_template(backend: Backend, request: pytest.FixtureRequest) -> Template:
    """The BBC corpus ingested with NER: the SQLite file, or on PostgreSQL a copy of its rows
    (the same ids, so answers compare one to one; PostgreSQL ingest has tests of its own)."""
    sqlite_template: Path = request.getfixturevalue("sqlite_bbc_template")
    if backend != "postgresql":
        return sqlite_template
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.template("bbc", copy_of_sqlite(sqlite_template))


def copy_database(template: Path, target: Path, backend: Backend = "sqlite") -> str:
    """A copy of a SQLite template; for [tantivy] with its search index, else without."""
    shutil.copyfile(template, target)
    url = sqlite_url(target)
    if backend == "tantivy":
        shutil.copytree(template.with_suffix(".index"), target.with_suffix(".index"))
    SEARCH_ENGINES[url] = "tantivy" if backend == "tantivy" else "database"
    return url


def fresh_database(template: Template, target: Path, backend: Backend) -> Iterator[str]:
    """A database of the test's own copied from template: yields its URL, then removes it."""
    if isinstance(template, Path):
        yield copy_database(template, target, backend)
        return
    assert POSTGRES.server is not None
    url = POSTGRES.server.clone(template)
    try:
        yield url
    finally:
        POSTGRES.server.release(url)


@pytest.fixture
def empty_db(empty_template: Template, tmp_path: Path, backend: Backend) -> Iterator[str]:
    """URL of a migrated, empty database of this test's own."""
    yield from fresh_database(empty_template, tmp_path / "newsdesk.db", backend)


@pytest.fixture
def seeded_db(seeded_template: Template, tmp_path: Path, backend: Backend) -> Iterator[str]:
    """URL of a database of this test's own holding the five seed articles."""
    yield from fresh_database(seeded_template, tmp_path / "newsdesk.db", backend)


@pytest.fixture
def bbc_db(bbc_template: Template, tmp_path: Path, backend: Backend) -> Iterator[str]:
    """URL of a database of this test's own holding the BBC corpus (2,225 articles)."""
    yield from fresh_database(bbc_template, tmp_path / "bbc.db", backend)


@pytest.fixture
def bbc_client(bbc_db: str) -> Iterator[TestClient]:
    """An API client on a copy of the ingested BBC corpus."""
    settings = settings_for(bbc_db)
    engine = create_db_engine(settings)
    with make_client(settings, engine) as test_client:
        yield test_client
    engine.dispose()


@pytest.fixture
def settings(seeded_db: str) -> Settings:
    return settings_for(seeded_db)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings)
    yield engine
    engine.dispose()


def make_client(settings: Settings, engine: Engine) -> TestClient:
    from app.main import create_app

    app = create_app()

    def session_override() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    app.dependency_overrides[get_settings] = lambda: settings
    app.dependency_overrides[get_session] = session_override
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """An API client on the seeded database."""
    with make_client(settings, engine) as test_client:
        yield test_client


@pytest.fixture
def seed_ids(engine: Engine) -> dict[str, int]:
    """Article id by seed number ('000' ... '004')."""
    from sqlalchemy import select

    from app.models import Article

    with Session(engine) as session:
        rows = session.execute(select(Article.id, Article.origin)).all()
    return {Path(origin).name[:3]: article_id for article_id, origin in rows}


@pytest.fixture
def far_east_local_zone() -> Iterator[None]:
    """The process's local zone 14 hours ahead of UTC, as on a server in Kiribati."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Kiritimati"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()
