"""facets= on /articles: counts under the same filters, checked against independent queries."""

from __future__ import annotations

import calendar
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import create_db_engine
from app.models import Article, ArticleEntity, ArticleTag, Entity
from tests.gold import seeds_naming
from tests.helpers import settings_for

Params = list[tuple[str, str]]


def get_facets(client: TestClient, params: Params) -> dict[str, Any]:
    response = client.get("/articles", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def total(client: TestClient, params: Params) -> int:
    response = client.get("/articles", params=[*params, ("limit", "1")])
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def narrowing(facet: str, value: dict[str, Any]) -> Params:
    """The filter that selects exactly the articles counted under one facet value."""
    if facet in ("source", "entity"):
        return [(facet, str(value["id"]))]
    if facet in ("entity_type", "language"):
        return [(facet, value["value"])]
    year, month = (int(part) for part in value["value"].split("-"))
    last = calendar.monthrange(year, month)[1]
    return [("from", f"{value['value']}-01"), ("to", f"{value['value']}-{last:02d}")]


def assert_counts_match_independent_queries(
    client: TestClient, filters: Params, facets: dict[str, Any]
) -> None:
    for name, facet in facets.items():
        assert facet["values"], f"{name} has no values under {filters}"
        for value in facet["values"]:
            expected = total(client, [*filters, *narrowing(name, value)])
            assert value["count"] == expected, (name, value)


def assert_single_valued_facet_adds_up(facet: dict[str, Any], page_total: int) -> None:
    listed = sum(value["count"] for value in facet["values"])
    assert listed + facet["other_count"] + facet["missing"] == page_total
    # Values left out are counted in other_count (each at least once) and in distinct.
    shown, rest = len(facet["values"]), facet["other_count"]
    assert facet["distinct"] == shown if rest == 0 else shown < facet["distinct"] <= shown + rest


def test_facets_on_the_seeds_count_every_value(client: TestClient) -> None:
    body = get_facets(client, [("facets", "source,language,month")])
    assert body["total"] == 5
    sources = body["facets"]["source"]
    assert {v["value"] for v in sources["values"]} == {
        "Afghanistan International",
        "Amu TV",
        "The Khorasan Diary",
        "The Express Tribune",
        "Asia Times",
    }
    assert all(v["count"] == 1 and isinstance(v["id"], int) for v in sources["values"])
    assert (sources["distinct"], sources["other_count"], sources["missing"]) == (5, 0, 0)
    assert body["facets"]["language"]["values"] == [
        {"value": "en", "id": None, "type": None, "count": 5}
    ]
    months = body["facets"]["month"]
    assert sorted(v["value"] for v in months["values"]) == ["2024-04", "2024-05", "2024-11"]
    # The two undated seeds are left out of the values and counted as missing.
    assert months["missing"] == 2
    for name in ("source", "language", "month"):
        assert_single_valued_facet_adds_up(body["facets"][name], body["total"])


def test_facet_size_lists_the_top_values_and_sums_the_rest(client: TestClient) -> None:
    facet = get_facets(client, [("facets", "source"), ("facet_size", "2")])["facets"]["source"]
    # All counts tie at 1, so the order is by name.
    assert [v["value"] for v in facet["values"]] == ["Afghanistan International", "Amu TV"]
    assert (facet["other_count"], facet["distinct"], facet["missing"]) == (3, 5, 0)


def entity_counts(engine: Engine, article_ids: set[int]) -> dict[int, int]:
    """Articles per entity among `article_ids`, counted straight from the tables."""
    with Session(engine) as session:
        rows = session.execute(
            select(ArticleEntity.entity_id, func.count(ArticleEntity.article_id.distinct()))
            .where(ArticleEntity.article_id.in_(article_ids))
            .group_by(ArticleEntity.entity_id)
        ).all()
    return {entity_id: count for entity_id, count in rows}


def type_counts(engine: Engine, article_ids: set[int]) -> dict[str, int]:
    """Articles per entity type among `article_ids`, counted straight from the tables."""
    with Session(engine) as session:
        rows = session.execute(
            select(Entity.type, func.count(ArticleEntity.article_id.distinct()))
            .join(Entity, Entity.id == ArticleEntity.entity_id)
            .where(ArticleEntity.article_id.in_(article_ids))
            .group_by(Entity.type)
        ).all()
    return {entity_type: count for entity_type, count in rows}


def assert_entity_facet_is_exact(facet: dict[str, Any], expected: dict[int, int]) -> None:
    """Each listed entity has its count, the listed are the biggest, and the rest adds up."""
    size = len(facet["values"])
    assert {v["id"]: v["count"] for v in facet["values"]}.items() <= expected.items()
    assert [v["count"] for v in facet["values"]] == sorted(expected.values(), reverse=True)[:size]
    assert facet["other_count"] == sum(expected.values()) - sum(v["count"] for v in facet["values"])
    assert facet["distinct"] == len(expected)


def test_entity_facets_are_most_mentioned_first_and_match_entity_filters(
    client: TestClient, engine: Engine, seed_ids: dict[str, int]
) -> None:
    filters: Params = [("q", "Taliban")]
    body = get_facets(client, [*filters, ("facets", "entity"), ("facets", "entity_type")])
    entities = body["facets"]["entity"]
    # Every seed mentions Putin, Russia and the Taliban: ties at the top, ordered by name.
    tied = [(v["value"], v["type"]) for v in entities["values"] if v["count"] == 5]
    assert ("Vladimir Putin", "person") in tied
    assert [name for name, _ in tied] == sorted(name for name, _ in tied)
    assert_entity_facet_is_exact(entities, entity_counts(engine, set(seed_ids.values())))
    assert_counts_match_independent_queries(client, filters, body["facets"])


@pytest.mark.parametrize("size", [1, 3, 10, 100])
def test_entity_facet_of_some_seeds_counts_exactly_what_they_name(
    client: TestClient, engine: Engine, seed_ids: dict[str, int], size: int
) -> None:
    """Under a filter that admits two seeds (the gold says which), counts, other_count and
    distinct are those of the two seeds' entities, counted from the tables."""
    admitted = seeds_naming("Donald Trump") | seeds_naming("Dmitry Medvedev")
    assert 0 < len(admitted) < len(seed_ids)
    filters: Params = [("entity_any", "Donald Trump"), ("entity_any", "Dmitry Medvedev")]
    asked = [*filters, ("facets", "entity,entity_type"), ("facet_size", str(size))]
    body = get_facets(client, asked)
    assert body["total"] == len(admitted)
    ids = {seed_ids[number] for number in admitted}
    assert_entity_facet_is_exact(body["facets"]["entity"], entity_counts(engine, ids))
    types = type_counts(engine, ids)
    by_type = body["facets"]["entity_type"]
    assert {v["value"]: v["count"] for v in by_type["values"]}.items() <= types.items()
    unlisted = sum(types.values()) - sum(v["count"] for v in by_type["values"])
    assert (by_type["other_count"], by_type["distinct"]) == (unlisted, len(types))
    # Every listed value's count is also the total of /articles filtered on it.
    assert_counts_match_independent_queries(client, filters, body["facets"])


def test_facets_follow_every_filter(client: TestClient) -> None:
    filters: Params = [("from", "2024-05-01"), ("entity", "Vladimir Putin")]
    body = get_facets(client, [*filters, ("facets", "source,month,entity_type,language")])
    assert body["total"] == 2
    assert_counts_match_independent_queries(client, filters, body["facets"])
    assert body["facets"]["month"]["missing"] == 0  # the date filter admits dated articles only


def test_facets_are_absent_unless_asked_for(client: TestClient) -> None:
    assert get_facets(client, [])["facets"] is None


def test_a_search_without_matches_has_empty_facets(client: TestClient) -> None:
    body = get_facets(client, [("q", "xylophonequartet"), ("facets", "source,entity")])
    assert body["total"] == 0
    for facet in body["facets"].values():
        assert facet == {"values": [], "other_count": 0, "distinct": 0, "missing": 0}


@pytest.mark.parametrize(
    "params",
    [
        [("facets", "sources")],
        [("facets", "source,,bogus")],
        [("facets", "source"), ("facet_size", "0")],
        [("facets", "source"), ("facet_size", "101")],
    ],
)
def test_bad_facet_parameters_are_422(client: TestClient, params: Params) -> None:
    response = client.get("/articles", params=params)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_parameter"


def test_unknown_facet_error_lists_the_choices(client: TestClient) -> None:
    body = client.get("/articles", params={"facets": "topic"}).json()
    allowed = ["source", "entity", "entity_type", "language", "tag", "month"]
    assert body["extra"]["allowed"] == allowed
    assert "'topic'" in body["detail"]


@pytest.mark.corpus
def test_bbc_entity_facets_per_category_match_independent_queries(
    bbc_client: TestClient,
) -> None:
    filters: Params = [("tag", "tech")]
    body = get_facets(bbc_client, [*filters, ("facets", "entity,entity_type,language")])
    assert body["total"] > 300
    assert body["facets"]["language"]["values"][0]["count"] == body["total"]
    assert len(body["facets"]["entity"]["values"]) == 10
    assert_counts_match_independent_queries(bbc_client, filters, body["facets"])


def articles_per_tag(database_url: str) -> dict[str, int]:
    """Articles per tag and in all, counted straight from the tables."""
    engine = create_db_engine(settings_for(database_url))
    try:
        with Session(engine) as session:
            rows = session.execute(
                select(ArticleTag.tag, func.count(ArticleTag.article_id.distinct())).group_by(
                    ArticleTag.tag
                )
            ).all()
            everything = session.execute(select(func.count()).select_from(Article)).scalar_one()
    finally:
        engine.dispose()
    return {**{tag: count for tag, count in rows}, "*": everything}


@pytest.mark.corpus
def test_bbc_categories_and_whole_corpus_facets(bbc_client: TestClient, bbc_db: str) -> None:
    expected = articles_per_tag(bbc_db)
    categories = ("business", "entertainment", "politics", "sport", "tech")
    assert set(expected) == {*categories, "*"}
    for tag in categories:
        body = get_facets(bbc_client, [("tag", tag), ("facets", "language")])
        assert body["total"] == expected[tag] > 300
        assert body["facets"]["language"]["values"][0]["count"] == expected[tag]
    body = get_facets(bbc_client, [("facets", "source,month,language"), ("facet_size", "100")])
    assert body["total"] == expected["*"] > 2000
    # The BBC files carry no outlet or date: every article is missing both.
    assert body["facets"]["source"]["missing"] == body["total"]
    assert body["facets"]["month"] == {
        "values": [],
        "other_count": 0,
        "distinct": 0,
        "missing": body["total"],
    }
    for name in ("source", "month", "language"):
        assert_single_valued_facet_adds_up(body["facets"][name], body["total"])


@pytest.mark.corpus
def test_bbc_facets_under_a_text_query_and_small_facet_size(
    bbc_client: TestClient, bbc_db: str
) -> None:
    filters: Params = [("q", "election"), ("tag", "politics")]
    body = get_facets(bbc_client, [*filters, ("facets", "entity"), ("facet_size", "5")])
    entity = body["facets"]["entity"]
    assert len(entity["values"]) == 5
    matched = {item["id"] for item in walk(bbc_client, filters)}
    assert len(matched) == body["total"] > 50
    engine = create_db_engine(settings_for(bbc_db))
    try:
        expected = entity_counts(engine, matched)
    finally:
        engine.dispose()
    assert len(expected) > 5
    assert_entity_facet_is_exact(entity, expected)
    assert_counts_match_independent_queries(bbc_client, filters, body["facets"])


def walk(client: TestClient, params: Params) -> list[dict[str, Any]]:
    """Every /articles item for params, page by page."""
    items: list[dict[str, Any]] = []
    cursor: list[tuple[str, str]] = []
    while True:
        body = get_facets(client, [*params, ("limit", "100"), *cursor])
        items += body["items"]
        if body["next_cursor"] is None:
            return items
        cursor = [("cursor", body["next_cursor"])]
