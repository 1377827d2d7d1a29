"""What the saved-search tests share: settings with fast retries, an API client with a key,
articles stored through the real ingest path, and saving a search."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.api.security import key_digest
from app.config import Settings
from app.db import create_db_engine
from app.ingest.document import ArticleDraft
from app.ingest.pipeline import Ingest, Saved
from tests.clients import client_for
from tests.helpers import settings_for

KEY = "monitor-test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
# Retries within a test's seconds; a receiver that hangs is given up on quickly.
FAST = {
    "webhook_allow_private": True,
    "webhook_retry_base_seconds": 0.2,
    "webhook_timeout_seconds": 1.0,
    "search_index_wait_ms": 5_000,
}


def monitor_settings(database_url: str, **overrides: object) -> Settings:
    return settings_for(database_url, **{**FAST, "api_key_hash": key_digest(KEY), **overrides})


@contextmanager
def api(settings: Settings) -> Iterator[TestClient]:
    engine = create_db_engine(settings)
    try:
        with client_for(settings, engine) as client:
            yield client
    finally:
        engine.dispose()


def draft(n: int, title: str, body: str) -> ArticleDraft:
    return ArticleDraft(
        origin=f"wire/{n}.txt",
        title=title,
        body=body,
        url=f"https://news.example/{n}",
        published_at=datetime(2024, 5, n, tzinfo=UTC),
        language="en",
    )


def store(engine: Engine, settings: Settings, *drafts: ArticleDraft) -> list[Saved]:
    """Store drafts as ingest and collection do (matching saved searches after the batch)."""
    saved = Ingest(engine, settings, None).store_drafts(list(drafts))
    assert all(isinstance(s, tuple) for s in saved), saved
    return saved  # type: ignore[return-value]  # no failures, checked above


def save_search(client: TestClient, **body: Any) -> dict[str, Any]:
    answer = client.post("/searches", json=body, headers=AUTH)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created
