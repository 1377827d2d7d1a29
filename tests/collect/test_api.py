"""/sources over HTTP: each source's feeds and health after real rounds; POST and DELETE
behind the API key; the usual error contract (401, 404, 409, 422)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.api.deps import current_settings
from app.api.security import key_digest
from app.db import get_session
from app.main import create_app
from app.models import Article, CollectionSource, Source
from tests.clients import client_for
from tests.collect import corpus
from tests.collect.harness import Harness, publish
from tests.collect.site import Reply, Site

pytestmark = pytest.mark.corpus
KEY = "collect-test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def client(harness: Harness) -> Iterator[TestClient]:
    settings = harness.settings.model_copy(update={"api_key_hash": key_digest(KEY)})
    app = create_app(settings)

    def session_override() -> Iterator[Session]:
        with Session(harness.engine) as session:
            yield session

    app.dependency_overrides[current_settings] = lambda: settings
    app.dependency_overrides[get_session] = session_override
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_source_added_through_the_api_shows_its_feeds_and_health_after_a_round(
    client: TestClient, harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:2])
    site.route("/rss", Reply(corpus.rss2(stories[:2], base=site.base).encode()))
    body = {"url": site.url("/rss"), "name": "Local News", "interval": "2h", "tags": ["uk"]}
    assert client.post("/sources", json=body).status_code == 401
    added = client.post("/sources", json=body, headers=AUTH)
    assert added.status_code == 201, added.text
    source = added.json()
    [feed] = source["feeds"]
    assert (source["name"], feed["url"], feed["kind"], feed["interval"], feed["tags"]) == (
        "Local News",
        site.url("/rss"),
        "feed",
        "2h",
        ["uk"],
    )
    assert feed["health"]["last_fetch"] is None and feed["health"]["next_fetch"] is None
    assert harness.round(everything_due=False).added == 2
    shown = client.get(f"/sources/{source['id']}").json()
    health = shown["feeds"][0]["health"]
    assert (health["http_status"], health["consecutive_failures"]) == (200, 0)
    assert (health["articles_24h"], health["articles_7d"]) == (2, 2)
    assert health["last_fetch"] is not None and health["next_fetch"] > health["last_fetch"]
    assert shown["health"] == health and shown["article_count"] == 2
    listed = client.get("/sources").json()["items"]
    assert [item["feeds"][0]["url"] for item in listed if item["feeds"]] == [site.url("/rss")]


def test_a_failing_source_says_so_in_its_health(
    client: TestClient, harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    site.route("/rss", Reply(corpus.rss2(stories[:1], base=site.base).encode()))
    [feed] = harness.add(site.url("/rss"))
    site.route("/rss", Reply(b"", 503))
    harness.round()
    health = client.get(f"/sources/{feed.source_id}").json()["health"]
    assert (health["http_status"], health["consecutive_failures"]) == (503, 1)
    assert health["last_error"] == "HTTP 503"


def test_post_refuses_a_url_collected_already_or_unreadable(
    client: TestClient, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    site.route("/rss", Reply(corpus.rss2(stories[:1], base=site.base).encode()))
    assert client.post("/sources", json={"url": site.url("/rss")}, headers=AUTH).status_code == 201
    again = client.post("/sources", json={"url": site.url("/rss")}, headers=AUTH)
    assert (again.status_code, again.json()["code"]) == (409, "source_exists")
    missing = client.post("/sources", json={"url": site.url("/none")}, headers=AUTH)
    assert (missing.status_code, missing.json()["code"]) == (422, "invalid_source")
    assert "HTTP 404" in missing.json()["detail"]
    for bad in ({"url": "ftp://x/y"}, {"url": site.url("/a"), "kind": "blog"}, {"u": 1}):
        answer = client.post("/sources", json=bad, headers=AUTH)
        assert answer.status_code == 422, bad
    interval = client.post(
        "/sources", json={"url": site.url("/b"), "interval": "soon"}, headers=AUTH
    )
    assert (interval.status_code, interval.json()["code"]) == (422, "invalid_parameter")


def test_delete_stops_collecting_and_keeps_the_articles(
    client: TestClient, harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    publish(site, stories[:1])
    site.route("/rss", Reply(corpus.rss2(stories[:1], base=site.base).encode()))
    [feed] = harness.add(site.url("/rss"))
    assert harness.round().added == 1
    assert client.delete(f"/sources/{feed.source_id}").status_code == 401
    removed = client.delete(f"/sources/{feed.source_id}", headers=AUTH)
    assert removed.json() == {"removed": [site.url("/rss")]}
    assert client.get(f"/sources/{feed.source_id}").json()["feeds"] == []
    assert client.delete(f"/sources/{feed.source_id}", headers=AUTH).status_code == 404
    with Session(harness.engine) as session:
        assert session.exec(select(func.count()).select_from(Article)).one() == 1
    assert harness.round().sources == 0


def test_unknown_sources_and_parameters_are_refused(client: TestClient) -> None:
    assert client.get("/sources/999").json()["code"] == "not_found"
    assert client.get("/sources/0").status_code == 422
    answer = client.get("/sources?health=1")
    assert (answer.status_code, answer.json()["code"]) == (422, "unknown_parameter")
    assert client.get("/sources/1?x=1").json()["code"] == "unknown_parameter"


def test_post_refuses_private_addresses_unless_allowed(
    client: TestClient, harness: Harness, sites: Callable[[], Site], stories: list[corpus.Story]
) -> None:
    site = sites()
    site.route("/rss", Reply(corpus.rss2(stories[:1], base=site.base).encode()))
    settings = harness.settings.model_copy(
        update={"api_key_hash": key_digest(KEY), "collect_allow_private": False}
    )
    with client_for(settings, harness.engine) as guarded:
        for url in (
            site.url("/rss"),
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.7/",
        ):
            for kind in ("auto", "feed"):
                body = {"url": url, "kind": kind}
                answer = guarded.post("/sources", json=body, headers=AUTH)
                assert (answer.status_code, answer.json()["code"]) == (422, "private_address")
        detail = guarded.post("/sources", json={"url": site.url("/rss")}, headers=AUTH).json()
        assert "127.0.0.1 is a loopback address" in detail["detail"]
        assert "NEWSDESK_COLLECT_ALLOW_PRIVATE=1" in detail["detail"]
        metadata = guarded.post("/sources", json={"url": "http://169.254.169.254/"}, headers=AUTH)
        assert "cloud metadata address" in metadata.json()["detail"]
    assert site.requests == []  # nothing was asked of the private host
    # A collection round refuses them too (a source added by the command line, say).
    guarded_round = harness.with_settings(collect_allow_private=False)
    with Session(harness.engine) as session:
        session.add(
            CollectionSource(source_id=_outlet(session), url=site.url("/other"), kind="feed")
        )
        session.commit()
    try:
        report = guarded_round.round()
    finally:
        guarded_round.close()
    assert [reason for _, reason in report.failures] == [
        "not fetched: 127.0.0.1 is a loopback address (NEWSDESK_COLLECT_ALLOW_PRIVATE=1 allows it)"
    ]
    assert site.requests == []
    # Allowed (the other tests' setting), the same URL is added.
    assert client.post("/sources", json={"url": site.url("/rss")}, headers=AUTH).status_code == 201


def _outlet(session: Session) -> int:
    outlet = Source(name="Intranet", domain="127.0.0.1")
    session.add(outlet)
    session.flush()
    assert outlet.id is not None
    return outlet.id
