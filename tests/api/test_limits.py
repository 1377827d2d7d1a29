"""A slow query ends in a 503, not a stuck worker; oversized and out-of-range input is refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.db import create_db_engine
from tests.clients import bbc_plain_db, bbc_plain_template, client_for
from tests.conftest import settings_for

__all__ = ["bbc_plain_db", "bbc_plain_template"]  # fixtures used below

# Real work on 2,225 articles: every word starting with "s", ranked, with two facets.
HEAVY = {"q": "s*", "sort": "relevance", "facets": "source,month", "limit": 100}


@pytest.fixture
def bbc_engine(bbc_plain_db: str) -> Iterator[Engine]:
    engine = create_db_engine(settings_for(bbc_plain_db))
    yield engine
    engine.dispose()


@pytest.mark.corpus
def test_a_query_over_the_time_limit_answers_503(bbc_plain_db: str, bbc_engine: Engine) -> None:
    hurried = client_for(settings_for(bbc_plain_db, query_timeout_ms=1), bbc_engine)
    patient = client_for(settings_for(bbc_plain_db, query_timeout_ms=60_000), bbc_engine)
    with hurried, patient:
        response = hurried.get("/articles", params=HEAVY)
        assert response.status_code == 503
        assert response.json() == {
            "detail": "the query took longer than the 1 ms limit; narrow it (fewer prefix* "
            "terms, more filters) or try again",
            "code": "query_timeout",
            "extra": {"limit_ms": 1},
        }
        # The same pooled connection serves the next request, without the old deadline.
        answered = patient.get("/articles", params=HEAVY)
        assert answered.status_code == 200
        assert answered.json()["total"] > 2000
        assert len(answered.json()["items"]) == 100


@pytest.mark.corpus
def test_an_export_over_the_time_limit_answers_503(bbc_plain_db: str, bbc_engine: Engine) -> None:
    with client_for(settings_for(bbc_plain_db, query_timeout_ms=1), bbc_engine) as hurried:
        response = hurried.get("/articles", params={"q": "s*", "format": "csv"})
    assert response.status_code == 503
    assert response.json()["code"] == "query_timeout"


def test_the_limit_can_be_switched_off(seeded_db: str, engine: Engine) -> None:
    with client_for(settings_for(seeded_db, query_timeout_ms=0), engine) as client:
        assert client.get("/articles", params={"q": "t*"}).json()["total"] == 5


def test_an_overlong_query_string_answers_414(client: TestClient) -> None:
    response = client.get("/articles", params={"q": "taliban " * 1200})
    assert response.status_code == 414
    assert response.json()["code"] == "uri_too_long"
    assert "the limit is 8192" in response.json()["detail"]
    assert response.headers["content-type"] == "application/json"


def test_a_query_string_under_the_limit_is_answered(client: TestClient) -> None:
    # 7 KB of query string gets through the 8 KB limit; the q length limit then speaks.
    response = client.get("/articles", params={"q": "taliban " * 900})
    assert response.status_code == 400
    assert response.json()["code"] == "query_too_long"


def test_the_url_limit_is_a_setting(seeded_db: str, engine: Engine) -> None:
    with client_for(settings_for(seeded_db, max_url_length=300), engine) as client:
        assert client.get("/articles", params={"q": "a" * 200}).status_code == 200
        assert client.get("/articles", params={"q": "a" * 400}).status_code == 414


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/articles", {"limit": 0}, "limit"),
        ("/articles", {"limit": 101}, "limit"),
        ("/articles", {"limit": "ten"}, "limit"),
        ("/articles", {"facets": "source", "facet_size": 0}, "facet_size"),
        ("/articles", {"facets": "source", "facet_size": 101}, "facet_size"),
        ("/entities", {"limit": 101}, "limit"),
        ("/entities", {"min_articles": 0}, "min_articles"),
        ("/articles/0", {}, "article_id"),
        ("/articles/99999999999999999999", {}, "article_id"),
    ],
)
def test_out_of_range_parameters_answer_422(
    client: TestClient, path: str, params: dict, field: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_parameter"
    assert body["detail"].startswith(f"{field}: ")
