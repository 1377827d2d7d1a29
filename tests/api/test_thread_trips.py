"""A request's trips through the thread pool: each costs CPU (about 0.1 ms measured in
process on uvloop; through HTTP within the noise) and more while threads take turns at
the GIL, so only database work makes one (app/api/routing.py,
app/api/deps.py). Counted on the app as `newsdesk serve` builds it, its own session
dependency and engine included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.db import get_engine
from app.main import create_app


@pytest.fixture
def served(
    seeded_db: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, list[str]]]:
    """A client of the app built from the environment, and the names of the functions each
    request has run in a worker thread (emptied before each request by the test)."""
    monkeypatch.setenv("DATABASE_URL", seeded_db)
    get_settings.cache_clear()
    get_engine.cache_clear()
    trips: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(function: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(function, "__name__", repr(function)))
        return await run_sync(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    try:
        with TestClient(create_app()) as client:
            yield client, trips
    finally:
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()


def closing_trips(url: str) -> int:
    """SQLite's session closes on the event loop; PostgreSQL's rollback is a round trip."""
    return 0 if url.startswith("sqlite") else 1


@pytest.mark.parametrize(
    ("path", "params", "work"),
    [
        ("/healthz", {}, 1),
        ("/articles", {"q": "Taliban"}, 1),
        ("/articles", {"q": "Taliban", "facets": "source,month"}, 1),
        ("/articles", {}, 1),
        ("/timeline", {"q": "Taliban", "interval": "month"}, 1),
        # A filter naming a source is looked up in the database before the search runs.
        ("/articles", {"q": "Taliban", "source": "Amu TV"}, 2),
    ],
)
def test_a_request_makes_a_trip_only_for_its_database_work(
    served: tuple[TestClient, list[str]],
    seeded_db: str,
    path: str,
    params: dict[str, str],
    work: int,
) -> None:
    client, trips = served
    client.get(path, params=params)  # a first request may set up the engine or the index
    trips.clear()
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    if path == "/articles" and "q" in params:
        assert response.json()["total"] >= 1, "the seeds mention the Taliban"
    assert len(trips) == work + closing_trips(seeded_db), trips
