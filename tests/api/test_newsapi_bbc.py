"""/v2 on the BBC corpus: deep pages, every result exactly once, categories, the time limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.db import create_db_engine
from tests.api.test_limits import NEWSAPI_OVER_THE_LIMIT, past_the_limit
from tests.api.test_newsapi import everything, walk_articles
from tests.clients import bbc_plain_db, bbc_plain_each_engine, bbc_plain_template, client_for
from tests.helpers import settings_for

# Fixtures: the corpus without entities.
__all__ = ["bbc_plain_db", "bbc_plain_each_engine", "bbc_plain_template"]

pytestmark = pytest.mark.corpus


@pytest.fixture
def bbc_engine(bbc_plain_db: str) -> Iterator[Engine]:
    engine = create_db_engine(settings_for(bbc_plain_db))
    yield engine
    engine.dispose()


@pytest.fixture
def corpus_client(bbc_plain_db: str, bbc_engine: Engine) -> Iterator[TestClient]:
    """An API client on the BBC corpus (no entities needed here: a minute to build, not ten)."""
    with client_for(settings_for(bbc_plain_db), bbc_engine) as client:
        yield client


DEEP = [
    ({}, {"sort": "-published_at"}),
    ({"q": "said", "sortBy": "relevancy"}, {"q": "said", "sort": "relevance"}),
    (
        {"q": '"last year" OR market*'},
        {"q": '"last year" OR market*', "sort": "-published_at"},
    ),
]


@pytest.mark.parametrize(("newsapi", "ours"), DEEP)
def test_page_three_holds_results_201_to_300(
    corpus_client: TestClient, newsapi: dict[str, str], ours: dict[str, str]
) -> None:
    total, items = walk_articles(corpus_client, **ours)
    body = everything(corpus_client, page=3, pageSize=100, **newsapi)
    assert body["totalResults"] == total > 300
    assert [a["title"] for a in body["articles"]] == [i["title"] for i in items[200:300]]


@pytest.mark.parametrize(
    ("params", "page_size"),
    [({"q": "year", "sortBy": "relevancy"}, 100), ({"language": "en"}, 97)],
)
def test_all_pages_together_hold_every_result_once(
    corpus_client: TestClient, params: dict[str, str], page_size: int
) -> None:
    seen: list[tuple[str, str]] = []
    page, total = 1, None
    while True:
        body = everything(corpus_client, page=page, pageSize=page_size, **params)
        total = body["totalResults"] if total is None else total
        assert body["totalResults"] == total
        if not body["articles"]:
            break
        seen.extend((a["title"], a["content"]) for a in body["articles"])
        page += 1
    assert total is not None and total > 500
    # (title, body) is unique per stored article (content_hash), so this names each once.
    assert len(seen) == len(set(seen)) == total
    assert page == -(-total // page_size) + 1


@pytest.mark.parametrize(
    ("category", "tag"), [("sports", "sport"), ("technology", "tech"), ("business", "business")]
)
def test_top_headline_categories_are_tags(
    corpus_client: TestClient, category: str, tag: str
) -> None:
    total = corpus_client.get("/articles", params={"tag": tag, "limit": 1}).json()["total"]
    body = everything(corpus_client, "/v2/top-headlines", category=category, pageSize=5)
    assert body["totalResults"] == total > 300
    assert len(body["articles"]) == 5


def test_title_search_and_sourceless_articles(corpus_client: TestClient) -> None:
    total, items = walk_articles(corpus_client, q="election", search_in="title", sort="relevance")
    body: dict[str, Any] = everything(corpus_client, qInTitle="election", sortBy="relevancy")
    assert body["totalResults"] == total > 5
    assert [a["title"] for a in body["articles"]] == [i["title"] for i in items]
    assert all("election" in a["title"].lower() for a in body["articles"])
    # The corpus names no outlet: NewsAPI's shape still has a source, with nulls.
    assert {(a["source"]["id"], a["source"]["name"]) for a in body["articles"]} == {(None, None)}
    assert everything(corpus_client, "/v2/top-headlines/sources")["sources"] == []


def test_a_query_over_the_time_limit_is_a_newsapi_503(bbc_plain_each_engine: str) -> None:
    # Deterministic on both engines: see tests/api/test_limits.py.
    engine = create_db_engine(settings_for(bbc_plain_each_engine))
    try:
        with client_for(past_the_limit(bbc_plain_each_engine), engine) as hurried:
            response = hurried.get("/v2/everything", params={"q": "s*", "sortBy": "relevancy"})
    finally:
        engine.dispose()
    assert response.status_code == 503
    assert response.json() == NEWSAPI_OVER_THE_LIMIT
