"""The search service alone picks the engine: every list endpoint is answered by the
configured one (the index on [tantivy], never the slow path in silence), and no API module
reaches an engine past it."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.api.summaries import summarize
from app.config import Settings
from app.search.filter import ArticleFilter, Sort
from app.search.lookup import resolve_entity
from app.search.query import parse_query
from app.search.service import SearchService
from tests.backends import Backend

API = Path(__file__).resolve().parents[2] / "app" / "api"
# Modules an API module must not import: the engines sit behind app/search/service.py.
ENGINE_MODULES = ("app.search.tantivy",)  # index, sync, aggregations, engine

Answers = Counter[tuple[str, str]]


def search_answers(client: TestClient) -> Answers:
    """newsdesk_search_answers_total from /metrics, by (engine, answer)."""
    answers: Answers = Counter()
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "newsdesk_search_answers_total":
                key = (sample.labels["engine"], sample.labels["answer"])
                answers[key] = int(sample.value)
    return answers


def answered(client: TestClient, path: str, params: dict[str, str | int]) -> Answers:
    """What answering one request asked of which engine."""
    before = search_answers(client)
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return search_answers(client) - before


def test_every_list_endpoint_is_answered_by_the_configured_engine(
    client: TestClient, backend: Backend
) -> None:
    engine = "index" if backend == "tantivy" else "database"
    first = client.get("/articles", params={"q": "Taliban", "limit": 2}).json()
    assert first["next_cursor"] is not None
    requests: list[tuple[str, dict[str, str | int], list[str]]] = [
        ("/articles", {"q": "Taliban", "limit": 2}, ["page", "count"]),
        (
            "/articles",
            {"q": "Taliban", "limit": 2, "cursor": first["next_cursor"]},
            ["page", "count"],
        ),
        (
            "/articles",
            {"q": "Taliban", "sort": "-published_at", "facets": "source,entity,month"},
            ["page", "count", "facets"],
        ),
        ("/articles", {"entity": "Russia", "sort": "published_at"}, ["page", "count"]),
        ("/articles", {"q": "Taliban", "format": "csv"}, ["count", "page"]),
        ("/entities/16/articles", {"sort": "-published_at"}, ["page", "count"]),
        ("/timeline", {"q": "Taliban", "by": "source"}, ["timeline"]),
        ("/v2/everything", {"q": "Taliban", "pageSize": 2, "page": 2}, ["count", "seek", "page"]),
        ("/v2/top-headlines", {"q": "Taliban"}, ["count", "page"]),
        ("/articles.atom", {"q": "Taliban"}, ["page"]),
    ]
    for path, params, kinds in requests:
        found = answered(client, path, params)
        assert set(found) == {(engine, kind) for kind in kinds}, (path, params, found)


def test_unfiltered_date_pages_walk_the_database_on_every_engine(client: TestClient) -> None:
    # The database's (published_at, id) index reads one page where the engine ranks all.
    found = answered(client, "/articles", {"limit": 2})
    assert found[("database", "page")] == 1
    assert ("index", "page") not in found


@pytest.mark.parametrize(
    "params", [{"q": "Taliban"}, {"sort": "-published_at"}, {"entity": "Russia"}], ids=str
)
def test_a_page_and_its_items_load_no_orm_object(
    settings: Settings, engine: Engine, params: dict[str, str]
) -> None:
    # A page's rows and top entities are plain rows: ORM objects (with their JSON columns
    # decoded) cost a search page more than reading it did.
    flt = ArticleFilter(query=parse_query(params["q"])) if "q" in params else ArticleFilter()
    if "entity" in params:
        with Session(engine) as lookup:
            flt = ArticleFilter(entity_groups=[resolve_entity(lookup, params["entity"])])
    sort: Sort = "relevance" if "q" in params else "-published_at"
    with Session(engine) as session:
        page = SearchService(session, settings).article_page(flt, sort, limit=3)
        items = summarize(session, settings.snippet_tokens, flt, page.hits, None)
        assert items and any(item.entities for item in items)
        assert not list(session.identity_map.values())


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, by its full name (`from app.search import index` too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", sorted(API.rglob("*.py")), ids=lambda p: p.name)
def test_no_api_module_imports_a_search_engine(path: Path) -> None:
    engines = {
        name
        for name in imported_modules(path)
        if any(name.startswith(module) for module in ENGINE_MODULES)
    }
    assert not engines, f"{path.name} imports {sorted(engines)}: ask app.search.service instead"
