"""Shared fixtures: a fresh database per test (seeded or empty) and an API client bound to it.

Seeding runs real spaCy once per session into a template database; each test gets its own
copy, so tests never see each other's writes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import PROJECT_ROOT, Settings, get_settings
from app.db import create_db_engine, get_session, upgrade_database

SEEDS_DIR = PROJECT_ROOT / "data" / "articles"
TEST_DATA = PROJECT_ROOT / "tests" / "data"


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
    return get_settings().model_copy(update={"database_url": database_url, **overrides})


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
        from app.ingest.entities import EntityRecognizer

        _recognizer = EntityRecognizer()
    return _recognizer


@pytest.fixture(scope="session")
def empty_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("templates") / "empty.db"
    upgrade_database(sqlite_url(path))
    return path


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("templates") / "seeded.db"
    url = sqlite_url(path)
    upgrade_database(url)
    report = ingest_paths(settings_for(url), SEEDS_DIR)
    assert report.failed == 0, report.failures  # type: ignore[attr-defined]
    return path


@pytest.fixture(scope="session")
def bbc_template(tmp_path_factory: pytest.TempPathFactory, bbc_corpus: Path) -> Path:
    """The whole BBC corpus ingested with entity recognition, once per test session."""
    path = tmp_path_factory.mktemp("templates") / "bbc.db"
    url = sqlite_url(path)
    upgrade_database(url)
    report = ingest_paths(settings_for(url), bbc_corpus)
    assert report.failed == 0, report.failures  # type: ignore[attr-defined]
    print(f"\nBBC corpus ingested with NER: {report.summary()}")  # type: ignore[attr-defined]
    return path


def copy_database(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return sqlite_url(target)


@pytest.fixture
def empty_db(empty_template: Path, tmp_path: Path) -> str:
    """URL of a migrated, empty database of this test's own."""
    return copy_database(empty_template, tmp_path / "newsdesk.db")


@pytest.fixture
def seeded_db(seeded_template: Path, tmp_path: Path) -> str:
    """URL of a database of this test's own holding the five seed articles."""
    return copy_database(seeded_template, tmp_path / "newsdesk.db")


@pytest.fixture
def bbc_db(bbc_template: Path, tmp_path: Path) -> str:
    """URL of a database of this test's own holding the BBC corpus (2,225 articles)."""
    return copy_database(bbc_template, tmp_path / "bbc.db")


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
