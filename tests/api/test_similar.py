"""GET /articles/{id}/similar on the seeds and on the BBC corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.config import Settings
from app.db import create_db_engine
from tests.helpers import ingest_paths, settings_for
from tests.ingest.test_duplicates import seed_copy


def test_the_same_story_by_another_outlet_is_the_top_match(
    client: TestClient, seed_ids: dict[str, int]
) -> None:
    page = client.get(f"/articles/{seed_ids['000']}/similar").json()
    assert page["article_id"] == seed_ids["000"]
    top = page["items"][0]
    assert top["id"] == seed_ids["001"]
    assert top["source"]["name"]
    assert top["url"].startswith("https://")
    assert "Collective Security Treaty Organization" in top["shared_entities"]
    assert top["shared_terms"]
    assert set(top) >= {"id", "title", "url", "source", "published_at", "score", "duplicate_of"}
    back = client.get(f"/articles/{seed_ids['001']}/similar", params={"limit": 1}).json()
    assert [item["id"] for item in back["items"]] == [seed_ids["000"]]


def test_unknown_article_and_bad_limits_are_clear_errors(client: TestClient) -> None:
    missing = client.get("/articles/999999/similar")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    for params in ({"limit": 0}, {"limit": 51}, {"duplicates": "maybe"}):
        response = client.get("/articles/1/similar", params=params)
        assert response.status_code == 422, params
        assert response.json()["code"] == "invalid_parameter"
    assert client.get("/articles/0/similar").status_code == 422
    assert client.get("/articles/abc/similar").status_code == 422


def test_duplicates_exclude_leaves_out_near_duplicate_copies(
    settings: Settings, client: TestClient, seed_ids: dict[str, int], tmp_path: Path
) -> None:
    ingest_paths(settings, seed_copy(tmp_path, "https://copy.example/1", "2024-12-01"), nlp=False)
    engine = create_db_engine(settings)
    with engine.connect() as connection:
        copy_id = connection.execute(
            text("SELECT id FROM article WHERE url = 'https://copy.example/1'")
        ).scalar_one()
    engine.dispose()
    with_copies = client.get(f"/articles/{seed_ids['001']}/similar").json()["items"]
    copy = next(item for item in with_copies if item["id"] == copy_id)
    assert copy["duplicate_of"] == seed_ids["000"]
    # Seed 000's own near-duplicate is the closest article to it there is.
    own = client.get(f"/articles/{seed_ids['000']}/similar").json()["items"]
    assert own[0]["id"] == copy_id and own[0]["score"] > own[1]["score"]
    hidden = client.get(
        f"/articles/{seed_ids['001']}/similar", params={"duplicates": "exclude"}
    ).json()["items"]
    assert copy_id not in {item["id"] for item in hidden}
    assert hidden[0]["id"] == seed_ids["000"]


@pytest.mark.corpus
def test_bbc_similar_articles_share_the_category(bbc_db: str, bbc_client: TestClient) -> None:
    engine = create_db_engine(settings_for(bbc_db))
    with engine.connect() as connection:
        category = dict(connection.execute(text("SELECT article_id, tag FROM article_tag")).all())
    engine.dispose()
    ids = sorted(category)
    sample = ids[:: len(ids) // 50][:50]
    same = considered = 0
    for article_id in sample:
        items = bbc_client.get(f"/articles/{article_id}/similar", params={"limit": 3}).json()
        assert len(items["items"]) == 3, article_id
        for item in items["items"]:
            considered += 1
            same += category[item["id"]] == category[article_id]
    rate = same / considered
    print(f"\nBBC: {rate:.1%} of the top-3 similar articles of 50 articles share the category")
    assert rate >= 0.8  # chance is about 20% (five categories of similar size)
