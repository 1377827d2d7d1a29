"""Fixtures for the collector: sites (real HTTP servers on 127.0.0.1, one port per host),
BBC stories to publish on them, and a collector on the test's own database (its harness
and helpers are in tests/collect/harness.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from app.config import Settings
from app.db import create_db_engine
from tests.collect import corpus
from tests.collect.harness import FAST, Harness
from tests.collect.site import Site
from tests.helpers import settings_for


@pytest.fixture
def sites() -> Iterator[Callable[[], Site]]:
    """Make hosts: each call starts one more server; all stop after the test."""
    made: list[Site] = []

    def make() -> Site:
        made.append(Site())
        return made[-1]

    yield make
    for site in made:
        site.close()


@pytest.fixture
def stories(bbc_corpus: Path) -> list[corpus.Story]:
    return corpus.load_stories(bbc_corpus, "politics", 6)


@pytest.fixture
def collect_settings(empty_db: str) -> Settings:
    return settings_for(empty_db, **FAST)


@pytest.fixture
def collect_engine(collect_settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(collect_settings, writer=True)
    yield engine
    engine.dispose()


@pytest.fixture
def harness(collect_settings: Settings, collect_engine: Engine) -> Iterator[Harness]:
    made = Harness(collect_settings, collect_engine)
    yield made
    made.close()
