"""API nodes reading a real streaming replica (NEWSDESK_READ_DATABASE_URL), writes on the primary.

The replica (tests/replica.py) is a hot standby of the test server, one per session. A node
reading it keeps its own tantivy index current from the change log over the replica, and
must answer exactly as a node on the primary; its writes go to the primary; when the
replica goes away the node reports not ready (never a 500) and recovers by itself.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.config import Settings
from app.db import create_db_engine
from tests.backends import PostgresServer
from tests.clients import client_for
from tests.helpers import catch_up, ingest_paths, settings_for
from tests.nodes import logged, wait_until_current
from tests.replica import Replica
from tests.server import running_server

pytestmark = pytest.mark.postgres

KEY = "replica-node-write-key-5b1e"
AUTH = {"X-Api-Key": KEY}
ARTICLE = {
    "title": "Ministers meet in Tashkent over the Amu Darya",
    "body": "TASHKENT — Water ministers met on Tuesday to practise hydrodiplomacy.",
    "url": "https://wire.example/2024/07/amu-darya-talks",
    "publisher": "Example Wire",
    "published": "2024-07-02",
    "language": "en",
}
# Requests whose answers a node on the replica must give exactly as one on the primary.
SAME_ANSWERS: list[tuple[str, dict[str, str]]] = [
    ("/articles", {}),
    ("/articles", {"q": "taliban", "facets": "source,entity,entity_type,language,month"}),
    ("/articles", {"q": "putin OR water", "sort": "relevance"}),
    ("/articles", {"entity_type": "person", "sort": "published_at"}),
    ("/timeline", {"interval": "month"}),
    ("/timeline", {"q": "taliban", "interval": "week", "by": "source"}),
    ("/entities", {}),
    ("/sources", {}),
]


@pytest.fixture
def primary_db(postgres_server: PostgresServer, seeded_template_pg: str) -> Iterator[str]:
    url = postgres_server.clone(seeded_template_pg)
    yield url
    postgres_server.release(url)


@pytest.fixture
def seeded_template_pg(postgres_server: PostgresServer) -> str:
    from tests.helpers import seed_database

    return postgres_server.template("seeded", seed_database)


def node_settings(primary_url: str, index_dir: Path, read_url: str | None = None) -> Settings:
    """An API node with its own index folder, reading `read_url` when given."""
    return settings_for(
        primary_url,
        search_engine="tantivy",
        search_index_dir=index_dir,
        read_database_url=read_url,
        api_key_hash=hashlib.sha256(KEY.encode()).hexdigest(),
    )


def node_client(stack: ExitStack, settings: Settings) -> TestClient:
    """The app in-process, its reads on settings.reading_url, its index caught up."""
    engine = create_db_engine(settings, reader=True)
    stack.callback(engine.dispose)
    catch_up(settings, engine)
    return stack.enter_context(client_for(settings, engine))


def answers(client: TestClient) -> list[Any]:
    found = []
    for path, params in SAME_ANSWERS:
        response = client.get(path, params=params)
        assert response.status_code == 200, (path, params, response.text)
        found.append(response.json())
    return found


def test_a_node_on_the_replica_answers_as_a_node_on_the_primary(
    replica: Replica, primary_db: str, tmp_path: Path
) -> None:
    # An ingest on the primary, after the seeds: the replica must have replayed it.
    extra = tmp_path / "articles"
    extra.mkdir()
    (extra / "900_water.txt").write_text(f"{ARTICLE['title']}\n\n{ARTICLE['body']}\n")
    report = ingest_paths(settings_for(primary_db), extra, nlp=False)
    assert report.added == 1  # type: ignore[attr-defined]
    replica.wait_replayed(primary_db)
    replica_url = replica.url_of(primary_db)
    with ExitStack() as stack:
        on_primary = node_client(stack, node_settings(primary_db, tmp_path / "a.index"))
        on_replica = node_client(
            stack, node_settings(primary_db, tmp_path / "b.index", replica_url)
        )
        reading = create_db_engine(
            node_settings(primary_db, tmp_path / "b.index", replica_url), reader=True
        )
        stack.callback(reading.dispose)
        with reading.connect() as connection:  # what the replica node reads: the standby
            assert connection.execute(text("SELECT pg_is_in_recovery()")).scalar_one()
        for client in (on_primary, on_replica):
            assert client.get("/readyz").json()["search_index"] == "current"
        primary_answers = answers(on_primary)
        assert answers(on_replica) == primary_answers
        assert primary_answers[0]["total"] == 6  # the seeds and the new article
        assert primary_answers[1]["facets"]["entity"]["values"]


def test_a_write_on_a_replica_node_goes_to_the_primary(
    replica: Replica, primary_db: str, tmp_path: Path
) -> None:
    replica.wait_replayed(primary_db)
    replica_url = replica.url_of(primary_db)
    with ExitStack() as stack:
        settings = node_settings(primary_db, tmp_path / "b.index", replica_url)
        node = node_client(stack, settings)
        response = node.post("/articles", json=ARTICLE, headers=AUTH)
        assert response.status_code == 201, response.text
        article_id = response.json()["id"]
        primary = create_db_engine(settings_for(primary_db))
        stack.callback(primary.dispose)
        with primary.connect() as connection:
            stored = connection.execute(
                text("SELECT title FROM article WHERE id = :id"), {"id": article_id}
            ).scalar_one()
        assert stored == ARTICLE["title"]
        replica.wait_replayed(primary_db)
        reading = create_db_engine(settings, reader=True)
        stack.callback(reading.dispose)
        catch_up(settings, reading)  # what the node's catch-up thread does, over the replica
        found = node.get("/articles", params={"q": "hydrodiplomacy"}).json()
        assert [item["id"] for item in found["items"]] == [article_id]


def wait_for(client: httpx.Client, path: str, status: int, timeout: float = 60.0) -> list[int]:
    """Poll `path` until it answers `status`; every status seen on the way."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen.append(client.get(path).status_code)
        if seen[-1] == status:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"{path} never answered {status}: {seen[-20:]}")


def test_a_node_reports_not_ready_while_its_replica_is_down_then_recovers(
    replica: Replica, primary_db: str, tmp_path: Path
) -> None:
    replica.wait_replayed(primary_db)
    env = {
        "NEWSDESK_READ_DATABASE_URL": replica.url_of(primary_db),
        "NEWSDESK_SEARCH_INDEX_DIR": str(tmp_path / "node.index"),
        "NEWSDESK_SEARCH_INDEX_POLL_MS": "100",
    }
    with (
        running_server(primary_db, tmp_path / "server.log", env, cli=True) as server,
        httpx.Client(base_url=server.url, timeout=30) as http,
    ):
        wait_until_current(http)
        before = http.get("/articles", params={"q": "taliban"}).json()
        replica.stop()
        try:
            seen = wait_for(http, "/readyz", 503)
            statuses = {http.get("/articles", params={"q": "taliban"}).status_code}
            statuses.add(http.get("/timeline", params={"interval": "month"}).status_code)
        finally:
            replica.start()
        seen += wait_for(http, "/readyz", 200)
        wait_until_current(http)
        after = http.get("/articles", params={"q": "taliban"}).json()
        assert 500 not in seen and statuses == {503}, (seen, statuses)
        assert after == before and after["total"] > 0
        # A standby can't LISTEN: the node found that out once, and polls.
        assert len(logged(server, "search_change_listen_standby")) == 1
        assert not logged(server, "search_change_listening")
