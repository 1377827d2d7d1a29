"""Compared queries' counts and shares' denominators are kept between requests until the
archive changes: a repeated comparison asks the engine for nothing, and an ingest, an edit
or a delete shows in the very next answer; on every engine."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests.backends import POSTGRES, sqlite_url
from tests.helpers import wait_for_boundary_past_the_log
from tests.monitor.world import AUTH, api, draft, monitor_settings, store

TALIBAN = "Taliban delegation meets Russian officials in Kabul to discuss trade."
WEATHER = "Heavy rain is expected across the region this weekend."
COMPARE = [
    ("query", "taliban:q=Taliban"),
    ("query", "rain:q=rain"),
    ("interval", "month"),
    ("normalize", "share"),
]
SHARE = [("interval", "month"), ("normalize", "share")]


def timelines_asked(client: TestClient) -> float:
    """How many timelines the engines answered (newsdesk_search_answers_total)."""
    text = client.get("/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "newsdesk_search_answers"
        for sample in family.samples
        if sample.name == "newsdesk_search_answers_total" and sample.labels["answer"] == "timeline"
    )


def get(client: TestClient, path: str, params: list[tuple[str, str]]) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def other_database(url: str, folder: Path) -> str:
    """Another database on the server of `url` (PostgreSQL: the suite's admin database)."""
    if url.startswith("postgresql"):
        assert POSTGRES.server is not None
        return POSTGRES.server.admin_url.render_as_string(hide_password=False)
    return sqlite_url(folder / "other.db")


def by_period(body: dict[str, Any]) -> dict[str, int]:
    return dict(zip(body["periods"], body["denominators"], strict=True))


def test_a_repeated_comparison_counts_nothing_again(empty_db: str, engine: Engine) -> None:
    settings = monitor_settings(empty_db)
    store(engine, settings, draft(1, "Talks", TALIBAN), draft(2, "Rain", WEATHER))
    with api(settings) as client:
        first = get(client, "/timeline/compare", COMPARE)
        asked = timelines_asked(client)
        again = get(client, "/timeline/compare", COMPARE)
        assert timelines_asked(client) == asked  # numerators and denominator kept
    assert asked == 3  # the two queries share one denominator
    assert again == first
    assert [q["denominators"] for q in first["queries"]] == [[2], [2]]
    assert [q["shares"] for q in first["queries"]] == [[0.5], [0.5]]


def test_another_databases_transactions_leave_the_kept_counts_kept(
    empty_db: str, engine: Engine, tmp_path: Path
) -> None:
    """On PostgreSQL every database of the server shares the transaction numbers (CI's
    parallel workers each have their own database): a transaction elsewhere that began
    before this archive's changes and ends between two requests changes nothing here."""
    settings = monitor_settings(empty_db)
    elsewhere = create_engine(other_database(empty_db, tmp_path))
    try:
        with elsewhere.connect() as other:
            other.execute(text("CREATE TEMPORARY TABLE traffic (n integer)"))  # a writer
            store(engine, settings, draft(1, "Talks", TALIBAN), draft(2, "Rain", WEATHER))
            with api(settings) as client:
                first = get(client, "/timeline/compare", COMPARE)
                asked = timelines_asked(client)
                other.commit()
                if empty_db.startswith("postgresql"):  # the server's oldest is past them
                    wait_for_boundary_past_the_log(engine)
                again = get(client, "/timeline/compare", COMPARE)
                assert timelines_asked(client) == asked
    finally:
        elsewhere.dispose()
    assert again == first


def test_an_ingest_an_edit_and_a_delete_show_in_the_next_share(
    empty_db: str, engine: Engine
) -> None:
    settings = monitor_settings(empty_db)
    store(engine, settings, draft(1, "Talks", TALIBAN), draft(2, "Rain", WEATHER))
    with api(settings) as client:
        assert by_period(get(client, "/timeline", SHARE)) == {"2024-05": 2}
        compared = get(client, "/timeline/compare", COMPARE)
        assert [q["counts"] for q in compared["queries"]] == [[1], [1]]
        # Stored by the ingest path (another connection than the server's).
        store(engine, settings, draft(3, "More rain", WEATHER + " Floods."))
        assert by_period(get(client, "/timeline", SHARE)) == {"2024-05": 3}
        compared = get(client, "/timeline/compare", COMPARE)
        assert [q["denominators"] for q in compared["queries"]] == [[3], [3]]
        assert [q["counts"] for q in compared["queries"]] == [[1], [2]]
        # Written through the API, then moved to June by an update, then deleted.
        article = {
            "title": "Talks resume",
            "body": TALIBAN + " Again.",
            "url": "https://news.example/api/1",
            "published": "2024-05-20T10:00:00Z",
        }
        added = client.post("/articles", json=article, headers=AUTH)
        assert added.status_code == 201, added.text
        assert by_period(get(client, "/timeline", SHARE)) == {"2024-05": 4}
        moved = {**article, "published": datetime(2024, 6, 2, tzinfo=UTC).isoformat()}
        assert client.post("/articles", json=moved, headers=AUTH).status_code == 200
        assert by_period(get(client, "/timeline", SHARE)) == {"2024-05": 3, "2024-06": 1}
        compared = get(client, "/timeline/compare", COMPARE)
        assert [q["denominators"] for q in compared["queries"]] == [[3, 1], [3, 1]]
        assert [q["counts"] for q in compared["queries"]] == [[1, 1], [2, 0]]
        gone = client.delete(f"/articles/{added.json()['id']}", headers=AUTH)
        assert gone.status_code == 204
        assert by_period(get(client, "/timeline", SHARE)) == {"2024-05": 3}
        compared = get(client, "/timeline/compare", COMPARE)
        assert [q["denominators"] for q in compared["queries"]] == [[3], [3]]
        assert [q["counts"] for q in compared["queries"]] == [[1], [2]]
