"""An in-process API client built for given settings (API key, CORS, limits), and a BBC
corpus database without entities for tests that need volume."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.api.deps import current_settings
from app.config import PROJECT_ROOT, Settings
from app.db import create_db_engine, get_session, upgrade_database
from tests.backends import copy_database
from tests.helpers import ingest_paths, settings_for, shared_template


def make_client(settings: Settings, engine: Engine) -> TestClient:
    """An API client on `engine` whose requests see `settings` (the app built with defaults)."""
    from app.main import create_app

    app = create_app()

    def session_override() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    app.dependency_overrides[current_settings] = lambda: settings
    app.dependency_overrides[get_session] = session_override
    return TestClient(app, raise_server_exceptions=False)


def client_for(settings: Settings, engine: Engine) -> TestClient:
    """Like make_client, but the app itself is built from `settings`."""
    from app.main import create_app

    app = create_app(settings)

    def session_override() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    app.dependency_overrides[current_settings] = lambda: settings
    app.dependency_overrides[get_session] = session_override
    return TestClient(app, raise_server_exceptions=False)


@contextmanager
def client_with(database_url: str, **overrides: object) -> Iterator[TestClient]:
    """A client on `database_url` whose app is built with these setting overrides."""
    settings = settings_for(database_url, **overrides)
    engine = create_db_engine(settings)
    try:
        with client_for(settings, engine) as client:
            yield client
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def bbc_plain_template(tmp_path_factory: pytest.TempPathFactory, bbc_corpus: Path) -> Path:
    """The BBC corpus ingested without entity recognition (a minute, not ten), with the
    tantivy index the ingest keeps beside it: for tests that need volume, not entities.
    Import this fixture into the test module to use it."""

    def build(path: Path) -> None:
        url = f"sqlite:///{path}"
        upgrade_database(url)
        report = ingest_paths(settings_for(url), bbc_corpus, nlp=False)
        assert report.failed == 0, report.failures  # type: ignore[attr-defined]

    return shared_template(tmp_path_factory, "bbc-plain.db", build)


@pytest.fixture(params=["sqlite", "tantivy"])
def bbc_plain_each_engine(
    request: pytest.FixtureRequest, bbc_plain_template: Path, tmp_path: Path
) -> str:
    """URL of this test's own copy of the BBC corpus database (no entities), searched by FTS5
    ([sqlite]) or by the tantivy index copied with it ([tantivy])."""
    return copy_database(bbc_plain_template, tmp_path / "bbc-plain.db", request.param)


@pytest.fixture
def bbc_plain_db(bbc_plain_template: Path, tmp_path: Path) -> str:
    """URL of this test's own copy of the BBC corpus database (no entities)."""
    target = tmp_path / "bbc-plain.db"
    shutil.copyfile(bbc_plain_template, target)
    return f"sqlite:///{target}"


def run_newsdesk(*args: str, database_url: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """The `newsdesk` command as a user runs it (a subprocess of this checkout's code), on
    `database_url`, with extra environment variables."""
    env = {**os.environ, "DATABASE_URL": database_url, **environ}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=300,
    )
