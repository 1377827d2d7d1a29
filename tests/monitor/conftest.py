"""The saved-search tests' database engine (writes take SQLite's lock up front, as ingest's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from app.db import create_db_engine
from tests.monitor.world import monitor_settings


@pytest.fixture
def engine(empty_db: str) -> Iterator[Engine]:
    made = create_db_engine(monitor_settings(empty_db), writer=True)
    yield made
    made.dispose()
