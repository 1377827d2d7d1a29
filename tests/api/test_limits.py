"""A slow query ends in a 503, not a stuck worker; oversized and out-of-range input is refused.

Whether a real query outruns a real limit depends on the machine, so the time-limit tests
make it certain: on SQLite (FTS5 and tantivy) the fault_expired_query_deadline setting
starts each request past its limit, and the first statement longer than a progress-handler
check is stopped by SQLite; on PostgreSQL another transaction holds a lock the query waits
for, until the server's statement_timeout cancels it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from app.config import Settings
from app.db import create_db_engine
from tests.backends import SEARCH_ENGINES, PostgresServer
from tests.clients import bbc_plain_each_engine, bbc_plain_template, client_for
from tests.helpers import seed_database, settings_for

__all__ = ["bbc_plain_each_engine", "bbc_plain_template"]  # fixtures used below

# Real work on 2,225 articles: every word starting with "s", ranked, with two facets.
HEAVY = {"q": "s*", "sort": "relevance", "facets": "source,month", "limit": 100}
LIMIT_MS = 1


def over_the_limit(limit_ms: int = LIMIT_MS) -> dict[str, object]:
    """The documented 503 of a request over its time limit."""
    return {
        "detail": f"the query took longer than the {limit_ms} ms limit; narrow it (fewer "
        "prefix* terms, more filters) or try again",
        "code": "query_timeout",
        "extra": {"limit_ms": limit_ms},
    }


NEWSAPI_OVER_THE_LIMIT = {
    "status": "error",
    "code": "queryTimeout",
    "message": "the query took longer than the time limit; narrow it or try again",
}
FIRST_BATCH_OVER_THE_LIMIT = {
    "detail": f"the export's first batch took longer than the {LIMIT_MS} ms limit; narrow the "
    "query or try again",
    "code": "query_timeout",
}


def past_the_limit(url: str) -> Settings:
    """Settings whose requests start past their time limit (SQLite; see the module doc)."""
    return settings_for(url, query_timeout_ms=LIMIT_MS, fault_expired_query_deadline=True)


@pytest.fixture
def corpus_engine(bbc_plain_each_engine: str) -> Iterator[Engine]:
    """The corpus's engine; one pooled connection, so one request's leftovers meet the next."""
    engine = create_db_engine(settings_for(bbc_plain_each_engine, database_pool_size=1))
    yield engine
    engine.dispose()


@pytest.mark.corpus
def test_a_query_over_the_time_limit_answers_503(
    bbc_plain_each_engine: str, corpus_engine: Engine
) -> None:
    url = bbc_plain_each_engine
    hurried = client_for(past_the_limit(url), corpus_engine)
    patient = client_for(settings_for(url, query_timeout_ms=0), corpus_engine)
    with hurried, patient:
        response = hurried.get("/articles", params=HEAVY)
        assert response.status_code == 503
        assert response.json() == over_the_limit()
        # The same pooled connection serves the next request, which sets no limit of its
        # own: nothing of the old deadline is left on it.
        answered = patient.get("/articles", params=HEAVY)
        assert answered.status_code == 200
        assert answered.json()["total"] > 2000
        assert len(answered.json()["items"]) == 100


@pytest.mark.corpus
def test_an_export_over_the_time_limit_answers_503(
    bbc_plain_each_engine: str, corpus_engine: Engine
) -> None:
    with client_for(past_the_limit(bbc_plain_each_engine), corpus_engine) as hurried:
        response = hurried.get("/articles", params={"q": "s*", "format": "csv"})
    # FTS5 counts the matches in the request's own statements, where the limit stops it; the
    # index counts without the database, so the limit stops the export's first batch.
    stopped_in_first_batch = SEARCH_ENGINES[bbc_plain_each_engine] == "tantivy"
    assert response.status_code == 503
    assert response.json() == (
        FIRST_BATCH_OVER_THE_LIMIT if stopped_in_first_batch else over_the_limit()
    )


@pytest.fixture
def postgres_seeded(postgres_server: PostgresServer) -> Iterator[str]:
    """A PostgreSQL database of this test's own holding the five seeds."""
    url = postgres_server.clone(postgres_server.template("seeded", seed_database))
    yield url
    postgres_server.release(url)


@contextmanager
def articles_locked(url: str) -> Iterator[None]:
    """Another transaction holds the article table: every query of it waits until the
    block ends, so it runs past any time limit, certainly."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            # Were the time limit not to stop the query, the server ends this transaction
            # after 30 s and the query goes on: the test then fails (this connection is
            # gone) instead of hanging.
            connection.exec_driver_sql("SET LOCAL idle_in_transaction_session_timeout = '30s'")
            connection.exec_driver_sql("LOCK TABLE article IN ACCESS EXCLUSIVE MODE")
            yield
        # Leaving the connection rolled the transaction back: the lock is gone.
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_query_over_the_time_limit_answers_503_on_postgresql(postgres_seeded: str) -> None:
    limit_ms = 200
    engine = create_db_engine(settings_for(postgres_seeded))
    hurried = client_for(settings_for(postgres_seeded, query_timeout_ms=limit_ms), engine)
    patient = client_for(settings_for(postgres_seeded), engine)
    try:
        with hurried, patient:
            with articles_locked(postgres_seeded):
                response = hurried.get("/articles", params={"q": "t*"})
                export = hurried.get("/articles", params={"q": "t*", "format": "csv"})
                newsapi = hurried.get("/v2/everything", params={"q": "t*"})
            assert (response.status_code, response.json()) == (503, over_the_limit(limit_ms))
            assert (export.status_code, export.json()) == (503, over_the_limit(limit_ms))
            assert (newsapi.status_code, newsapi.json()) == (503, NEWSAPI_OVER_THE_LIMIT)
            # statement_timeout was SET LOCAL: the pooled connection serves without it.
            answered = patient.get("/articles", params={"q": "t*"})
            assert answered.status_code == 200
            assert answered.json()["total"] == 5
    finally:
        engine.dispose()


@pytest.mark.corpus
def test_the_limit_can_be_switched_off(bbc_plain_each_engine: str, corpus_engine: Engine) -> None:
    # Even a deadline passed from the start stops nothing when there is no limit.
    settings = past_the_limit(bbc_plain_each_engine).model_copy(update={"query_timeout_ms": 0})
    with client_for(settings, corpus_engine) as client:
        response = client.get("/articles", params=HEAVY)
    assert response.status_code == 200
    assert response.json()["total"] > 2000


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
