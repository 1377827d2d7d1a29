"""JSON request logs with request ids, Prometheus metrics, liveness and readiness."""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import create_db_engine, downgrade_database, head_revision
from app.models import Entity
from tests.clients import client_for
from tests.helpers import settings_for
from tests.server import running_server


def test_a_request_id_is_generated_and_returned(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_the_clients_request_id_is_kept(client: TestClient) -> None:
    response = client.get("/articles", headers={"X-Request-ID": "edge-7f3a.2"})
    assert response.headers["x-request-id"] == "edge-7f3a.2"
    missing = client.get("/articles/999999", headers={"X-Request-ID": "edge-404"})
    assert missing.headers["x-request-id"] == "edge-404"


def test_a_request_id_that_could_forge_log_lines_is_replaced(client: TestClient) -> None:
    forged = 'x", "status": 200, "evil": "'
    response = client.get("/healthz", headers={"X-Request-ID": forged})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_every_log_line_is_json_and_each_request_logs_one(
    seeded_db: str, tmp_path: Path, seed_ids: dict[str, int]
) -> None:
    with running_server(seeded_db, tmp_path / "server.log") as server:
        httpx.get(f"{server.url}/articles", params={"q": "Taliban"}, headers={"X-Request-ID": "a1"})
        httpx.get(f"{server.url}/articles/{seed_ids['001']}", headers={"X-Request-ID": "a2"})
        httpx.get(f"{server.url}/no/such/page", headers={"X-Request-ID": "a3"})
    log = server.log()  # once the server has stopped: a line is written after its response
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert any("Uvicorn running" in entry["message"] for entry in entries)  # uvicorn's too
    by_id = {entry.get("request_id"): entry for entry in entries if entry.get("request_id")}
    search = by_id["a1"]
    assert search["logger"] == "newsdesk.access"
    assert (search["method"], search["path"], search["route"], search["status"]) == (
        "GET",
        "/articles",
        "/articles",
        200,
    )
    assert isinstance(search["duration_ms"], float) and search["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", search["time"])
    one = by_id["a2"]
    assert (one["path"], one["route"]) == (f"/articles/{seed_ids['001']}", "/articles/{article_id}")
    assert (by_id["a3"]["status"], by_id["a3"]["route"]) == (404, "unmatched")
    for request_id in ("a1", "a2", "a3"):
        assert sum(entry.get("request_id") == request_id for entry in entries) == 1


# The access log writes durations in milliseconds to two places: off by 5 µs at most.
LOGGED_ROUNDING = 0.005 / 1000


def scrape(client: TestClient) -> dict[str, list]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def test_metrics_count_and_time_requests_per_route_template(
    client: TestClient, engine: Engine, seed_ids: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="newsdesk.access")
    for number in ("000", "001", "002"):
        assert client.get(f"/articles/{seed_ids[number]}").status_code == 200
    assert client.get("/articles/999999").status_code == 404
    assert client.get("/no/such/page").status_code == 404
    families = scrape(client)

    counts = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in families["newsdesk_http_requests"]
        if s.name == "newsdesk_http_requests_total"
    }
    assert counts[("GET", "/articles/{article_id}", "200")] == 3
    assert counts[("GET", "/articles/{article_id}", "404")] == 1
    assert counts[("GET", "unmatched", "404")] == 1
    assert not any(re.search(r"/articles/\d", route) for _, route, _ in counts)  # templates only

    # The histogram holds each of the four requests once, in seconds: the very durations the
    # access log wrote (in milliseconds, to 0.01), bucket by bucket and in its sum.
    logged = [
        vars(record)["duration_ms"] / 1000
        for record in caplog.records
        if vars(record).get("route") == "/articles/{article_id}"
    ]
    assert len(logged) == 4
    timed = [
        s
        for s in families["newsdesk_http_request_duration_seconds"]
        if (s.labels["method"], s.labels["route"]) == ("GET", "/articles/{article_id}")
    ]
    buckets = {float(s.labels["le"]): s.value for s in timed if s.name.endswith("_bucket")}
    assert buckets[math.inf] == 4
    for bound, count in buckets.items():
        if all(abs(seconds - bound) > LOGGED_ROUNDING for seconds in logged):
            assert count == sum(seconds <= bound for seconds in logged), bound
    summed = {s.name.rsplit("_", 1)[1]: s.value for s in timed if "le" not in s.labels}
    assert summed["count"] == 4
    assert abs(summed["sum"] - sum(logged)) <= 4 * LOGGED_ROUNDING

    with Session(engine) as session:
        entities = session.execute(select(func.count()).select_from(Entity)).scalar_one()
    assert families["newsdesk_articles"][0].value == 5
    assert families["newsdesk_entities"][0].value == entities > 0


def test_readyz_is_ok_on_a_migrated_database(client: TestClient, backend: str) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    head = head_revision()
    index = {"tantivy": ("current", 0)}.get(backend, ("not_used", None))
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "schema_revision": head,
        "expected_revision": head,
        "search_index": index[0],
        "search_index_lag": index[1],
        "search_index_lag_seconds": None,  # kept by PostgreSQL's change log only
    }


def test_readyz_is_503_until_the_database_is_migrated(seeded_db: str, engine: Engine) -> None:
    downgrade_database(seeded_db, "-1")
    with client_for(settings_for(seeded_db), engine) as client:
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200  # alive, just not ready
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"]) == ("not_ready", "ok")
    assert body["schema_revision"] != body["expected_revision"] == head_revision()


def test_health_and_readiness_are_503_when_the_database_cannot_be_opened(
    tmp_path: Path,
) -> None:
    settings = settings_for(f"sqlite:///{tmp_path}")  # a directory: SQLite cannot open it
    engine = create_db_engine(settings)
    with client_for(settings, engine) as client:
        health = client.get("/healthz")
        ready = client.get("/readyz")
        search = client.get("/articles")
    engine.dispose()
    assert (health.status_code, health.json()["database"]) == (503, "unreachable")
    assert (ready.status_code, ready.json()["database"]) == (503, "unreachable")
    assert (search.status_code, search.json()["code"]) == (503, "database_unavailable")
