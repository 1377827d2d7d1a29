"""Saved searches through the API: checked like /articles at creation, matched against each
stored batch through the search engine, each match recorded once, listed newest first and
as Atom; on every engine."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from app.ingest.pipeline import Ingest
from app.ingest.store.articles import Outcome
from app.models import Article, SearchMatch, WebhookDelivery
from tests.clients import run_newsdesk
from tests.monitor.world import AUTH, api, draft, monitor_settings, save_search, store

TALIBAN = "Taliban delegation meets Russian officials in Kabul to discuss trade."
WEATHER = "Heavy rain is expected across the region this weekend."
PRIVATE = {"NEWSDESK_WEBHOOK_ALLOW_PRIVATE": "1"}


def counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        matches = session.exec(select(func.count()).select_from(SearchMatch)).one()
        deliveries = session.exec(select(func.count()).select_from(WebhookDelivery)).one()
    return matches, deliveries


def test_a_bad_q_answers_400_when_the_search_is_saved(empty_db: str) -> None:
    with api(monitor_settings(empty_db)) as client:
        bad = client.post(
            "/searches", json={"name": "x", "query": {"q": "Taliban AND"}}, headers=AUTH
        )
        assert bad.status_code == 400, bad.text
        assert bad.json()["code"] == "invalid_query"
        unknown = client.post("/searches", json={"name": "x", "query": {"qq": "a"}}, headers=AUTH)
        assert unknown.status_code == 422
        assert "qq" in unknown.json()["detail"]
        wrong = {"name": "x", "query": {"duplicates": "never"}}
        assert client.post("/searches", json=wrong, headers=AUTH).status_code == 422
        entity = {"name": "x", "query": {"entity": ["Nobody At All"]}}
        assert client.post("/searches", json=entity, headers=AUTH).status_code == 404
        assert client.post("/searches", json={"name": "x"}).status_code == 401
        assert client.get("/searches").json() == {"items": []}


def test_the_secret_is_shown_once_and_the_search_can_be_deleted(empty_db: str) -> None:
    with api(monitor_settings(empty_db)) as client:
        created = save_search(
            client,
            name="Taliban",
            query={"q": "Taliban", "language": "en", "from": "2024-05-01"},
            webhook_url="http://127.0.0.1:9/hook",
        )
        assert created["webhook_secret"].startswith("whsec_")
        assert created["query"] == {"q": "Taliban", "from": "2024-05-01", "language": ["en"]}
        shown = client.get(f"/searches/{created['id']}").json()
        assert shown["webhook_secret"] is None
        assert shown["name"] == "Taliban"
        listed = client.get("/searches").json()["items"]
        assert [s["webhook_secret"] for s in listed] == [None]
        given = "whsec_" + "A" * 43 + "="
        mine = save_search(
            client, name="mine", query={}, webhook_url="http://127.0.0.1:9/", webhook_secret=given
        )
        assert mine["webhook_secret"] == given
        short = {"name": "x", "webhook_url": "http://127.0.0.1:9/", "webhook_secret": "whsec_AA=="}
        assert client.post("/searches", json=short, headers=AUTH).status_code == 422
        assert client.delete(f"/searches/{created['id']}", headers=AUTH).status_code == 200
        assert client.get(f"/searches/{created['id']}").status_code == 404
        assert client.delete(f"/searches/{created['id']}", headers=AUTH).status_code == 404


def test_each_match_is_recorded_once_across_reingest_and_updates(
    empty_db: str, engine: Engine
) -> None:
    settings = monitor_settings(empty_db)
    with api(settings) as client:
        search = save_search(
            client, name="Taliban", query={"q": "Taliban"}, webhook_url="http://127.0.0.1:9/"
        )
        quiet = save_search(client, name="no webhook", query={"q": "rain"})
        store(engine, settings, draft(1, "Talks", TALIBAN), draft(2, "Weather", WEATHER))
        assert counts(engine) == (2, 1)  # one match each; a delivery for the webhook only
        # The same articles again (unchanged), then the matching one edited (still matching).
        store(engine, settings, draft(1, "Talks", TALIBAN), draft(2, "Weather", WEATHER))
        store(engine, settings, draft(1, "Talks resume", TALIBAN + " More talks."))
        assert counts(engine) == (2, 1)
        # An article that newly matches after an update is a new match.
        store(engine, settings, draft(2, "Weather", WEATHER + " The Taliban postponed a match."))
        assert counts(engine) == (3, 2)
        page = client.get(f"/searches/{search['id']}/articles", params={"limit": 1}).json()
        assert [item["url"] for item in page["items"]] == ["https://news.example/2"]
        assert "<mark>Taliban</mark>" in page["items"][0]["snippet"]
        assert page["items"][0]["matched_at"]
        rest = client.get(
            f"/searches/{search['id']}/articles", params={"cursor": page["next_cursor"]}
        ).json()
        assert [item["url"] for item in rest["items"]] == ["https://news.example/1"]
        assert rest["next_cursor"] is None
        bad = client.get(f"/searches/{search['id']}/articles", params={"cursor": "x"})
        assert bad.status_code == 400
        feed = client.get(f"/searches/{quiet['id']}.atom")
        assert feed.status_code == 200
        assert feed.headers["content-type"].startswith("application/atom+xml")
        assert feed.text.count("<entry>") == 1 and "news.example/2" in feed.text
        deliveries = client.get(f"/searches/{search['id']}/deliveries").json()["items"]
        assert [(d["state"], d["articles"], d["attempts"]) for d in deliveries] == [
            ("pending", 1, []),
            ("pending", 1, []),
        ]
        assert client.get(f"/searches/{quiet['id']}/deliveries").json() == {"items": []}


def test_only_the_batch_is_matched_under_every_filter_of_the_query(
    empty_db: str, engine: Engine
) -> None:
    settings = monitor_settings(empty_db)
    with api(settings) as client:
        # Stored before the search was saved: the archive is not scanned, only each batch.
        store(engine, settings, draft(5, "Archived", TALIBAN))
        query = {"q": "Taliban", "from": "2024-05-03"}
        since = save_search(client, name="since May 3", query=query)
        store(engine, settings, draft(1, "Early", TALIBAN), draft(4, "Later", TALIBAN))
        items = client.get(f"/searches/{since['id']}/articles").json()["items"]
        assert [item["url"] for item in items] == ["https://news.example/4"]


def test_a_matching_failure_never_fails_the_ingest(empty_db: str, engine: Engine) -> None:
    settings = monitor_settings(empty_db)
    with api(settings) as client:
        save_search(client, name="Taliban", query={"q": "Taliban"})
    with engine.begin() as connection:  # matching can no longer record anything
        connection.execute(text("DROP TABLE search_match"))
    ingest = Ingest(engine, settings, None)
    (saved,) = ingest.store_drafts([draft(1, "Talks", TALIBAN)])
    assert isinstance(saved, tuple) and saved[1] is Outcome.ADDED
    assert any(note.startswith("saved searches not matched") for note in ingest.report.notes)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Article)).one() == 1


def test_the_searches_commands(empty_db: str) -> None:
    environment = {"NEWSDESK_WEBHOOK_ALLOW_PRIVATE": "1"}
    added = run_newsdesk(
        "searches",
        "add",
        "Taliban in English",
        "--query",
        "q=Taliban&language=en&language=ps",
        "--webhook-url",
        "http://127.0.0.1:9/hook",
        database_url=empty_db,
        **environment,
    )
    assert added.returncode == 0, added.stderr
    created = json.loads(added.stdout)
    assert created["query"] == {"q": "Taliban", "language": ["en", "ps"]}
    assert created["webhook_secret"].startswith("whsec_")
    listed = run_newsdesk("searches", "list", database_url=empty_db)
    assert "Taliban in English" in listed.stdout and "whsec_" not in listed.stdout
    bad = run_newsdesk(
        "searches", "add", "x", "--query", '{"q": "(Taliban"}', database_url=empty_db
    )
    assert bad.returncode == 2 and "unclosed parenthesis" in bad.stderr
    removed = run_newsdesk("searches", "remove", str(created["id"]), database_url=empty_db)
    assert removed.returncode == 0 and "removed search" in removed.stdout
    again = run_newsdesk("searches", "remove", str(created["id"]), database_url=empty_db)
    assert again.returncode == 1 and "no saved search" in again.stderr


def test_an_article_written_through_the_api_is_matched(empty_db: str, engine: Engine) -> None:
    with api(monitor_settings(empty_db)) as client:
        search = save_search(client, name="Taliban", query={"q": "Taliban"})
        article = {"title": "Talks", "body": TALIBAN, "url": "https://news.example/api"}
        assert client.post("/articles", json=article, headers=AUTH).status_code == 201
        assert client.post("/articles", json=article, headers=AUTH).status_code == 200
        items = client.get(f"/searches/{search['id']}/articles").json()["items"]
    assert [item["url"] for item in items] == ["https://news.example/api"]
    assert counts(engine) == (1, 0)


def test_articles_loaded_from_jsonl_are_matched(
    empty_db: str, engine: Engine, tmp_path: Path
) -> None:
    """`newsdesk load-jsonl` matches what it loaded as ingest does, the articles already
    stored left alone, each match recorded once and its webhook delivery queued."""
    settings = monitor_settings(empty_db)
    store(engine, settings, draft(1, "Archived", TALIBAN))  # stored before the search
    with api(settings) as client:
        search = save_search(
            client, name="Taliban", query={"q": "Taliban"}, webhook_url="http://127.0.0.1:9/"
        )
    records = [
        {"title": f"Report {n}", "body": body, "url": f"https://news.example/bulk/{n}"}
        for n, body in enumerate([TALIBAN + " Day two.", WEATHER, TALIBAN + " Day three."])
    ]
    jsonl = tmp_path / "bulk.jsonl"
    jsonl.write_text("".join(json.dumps(record) + "\n" for record in records))
    loaded = run_newsdesk(
        "load-jsonl", str(jsonl), "--batch-size", "2", database_url=empty_db, **PRIVATE
    )
    assert loaded.returncode == 0, loaded.stderr
    assert "3 added" in loaded.stdout and "2 new matches" in loaded.stdout
    with api(settings) as client:
        items = client.get(f"/searches/{search['id']}/articles").json()["items"]
        deliveries = client.get(f"/searches/{search['id']}/deliveries").json()["items"]
    assert sorted(item["url"] for item in items) == [
        "https://news.example/bulk/0",
        "https://news.example/bulk/2",
    ]
    assert [d["articles"] for d in deliveries] == [1, 1]  # one per chunk of 2 that matched
    again = run_newsdesk("load-jsonl", str(jsonl), database_url=empty_db, **PRIVATE)
    assert again.returncode == 0, again.stderr
    assert counts(engine) == (2, 2)
