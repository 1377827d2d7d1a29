"""Every filter of the registry (app/search/filter.py), on every engine, against its meaning.

One case per registry entry, run on SQLite FTS5, the tantivy index and PostgreSQL over the
nine articles of tests/filter_world.py: a filter added to the registry without a case here
fails `test_every_registry_filter_has_a_case`. The registry's facets (language, tag) are
counted on every engine and compared with the articles' own values, and the new
parameters (`author`, `facets=tag`) are checked through the API and its OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.search.filter import FILTERS, ArticleFilter
from tests.clients import make_client
from tests.filter_world import (
    MAY_1,
    ROWS,
    Row,
    World,
    build_world,
    expected,
    listed,
    on_domain,
)
from tests.helpers import settings_for

Case = Callable[[World], tuple[ArticleFilter, list[str]]]

# Each entry's case: a filter and the articles its meaning picks out (neither all nor none).
CASES: dict[str, Case] = {
    "up_to_id": lambda w: (
        ArticleFilter(up_to_id=w.ids["a4"]),
        ["a1", "a2", "a3", "a4"],
    ),
    "article_ids": lambda w: (
        ArticleFilter(article_ids=[w.ids["a2"], w.ids["a5"], w.ids["a9"]]),
        ["a2", "a5", "a9"],
    ),
    "source": lambda w: (ArticleFilter(source_ids=[w.source_ids["wire"]]), ["a2", "a7"]),
    "published": lambda w: (
        ArticleFilter(published_from=MAY_1),
        expected(lambda r: r.published is not None and r.published >= MAY_1),
    ),
    "entity": lambda w: (ArticleFilter(entity_groups=[[w.entity_ids["NATO"]]]), ["a2", "a3"]),
    "entity_type": lambda w: (ArticleFilter(entity_types=["other"]), ["a5"]),
    "language": lambda w: (ArticleFilter(languages=["de", "fr"]), ["a2", "a3"]),
    "tag": lambda w: (ArticleFilter(tags=["politics"]), ["a2", "a4"]),
    "author": lambda w: (
        ArticleFilter(authors=["jane DOE", "élise dupont"]),
        expected(lambda r: (r.author or "").lower() in ("jane doe", "élise dupont")),
    ),
    "duplicates": lambda w: (
        ArticleFilter(exclude_duplicates=True),
        expected(lambda r: r.duplicate_of is None),
    ),
    "domain": lambda w: (
        ArticleFilter(domains=["news.example"]),
        expected(lambda r: on_domain(r, ["news.example"])),
    ),
    "exclude_domain": lambda w: (
        ArticleFilter(exclude_domains=["khorasan.example"]),
        expected(lambda r: not on_domain(r, ["khorasan.example"])),
    ),
}


@pytest.fixture
def world(empty_db: str, backend: str) -> Iterator[World]:
    world = build_world(empty_db, backend)
    yield world
    world.engine.dispose()


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with make_client(settings_for(str(world.engine.url)), world.engine) as test_client:
        yield test_client


def test_every_registry_filter_has_a_case() -> None:
    assert sorted(CASES) == sorted(entry.name for entry in FILTERS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_registry_filter_admits_what_it_means(world: World, name: str) -> None:
    flt, meant = CASES[name](world)
    assert meant and meant != expected(lambda r: True), "the case must tell filters apart"
    assert world.names(flt) == meant


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_registry_filter_admits_what_it_means_among_given_articles(
    world: World, name: str
) -> None:
    """Matching a batch asks each filter about the batch's articles alone (article_ids):
    the filter admits the given articles it means, and no others."""
    flt, meant = CASES[name](world)
    others = [article for article in sorted(world.ids) if article not in meant]
    given = [world.ids[article] for article in meant[::2] + others[::2]]
    if flt.article_ids is not None:
        given = [article_id for article_id in given if article_id in flt.article_ids]
    assert world.names(replace(flt, article_ids=given)) == meant[::2]


def test_every_registry_parameter_is_an_articles_parameter(client: TestClient) -> None:
    declared = {
        parameter["name"]
        for parameter in client.get("/openapi.json").json()["paths"]["/articles"]["get"][
            "parameters"
        ]
    }
    for entry in FILTERS:
        assert set(entry.parameters) <= declared, entry.name


def test_author_is_the_whole_byline_in_any_case_and_repeats_as_any_of(
    client: TestClient, world: World
) -> None:
    assert listed(client, world, author="jane doe") == ["a1", "a2"]
    assert listed(client, world, author="ÉLISE DUPONT") == ["a4"]
    assert listed(client, world, author=["Jane Doe-Smith", "élise dupont"]) == ["a4", "a6"]
    assert listed(client, world, author="Jane") == []
    assert listed(client, world, author="jane doe", q="markets") == ["a1"]
    refused = client.get("/articles", params={"authr": "jane doe"})
    assert refused.status_code == 422
    assert "did you mean author?" in refused.json()["detail"]


def test_openapi_documents_author_and_the_tag_facet(client: TestClient) -> None:
    get = client.get("/openapi.json").json()["paths"]["/articles"]["get"]
    parameters = {parameter["name"]: parameter for parameter in get["parameters"]}
    assert "byline" in parameters["author"]["description"]
    assert "tag" in parameters["facets"]["description"]


def facet_of(client: TestClient, name: str, **params: Any) -> dict[str, Any]:
    response = client.get("/articles", params={"facets": name, **params})
    assert response.status_code == 200, response.text
    facet: dict[str, Any] = response.json()["facets"][name]
    return facet


def meant_counts(values: Callable[[Row], list[str]], rows: list[Row]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        for value in values(row):
            counts[value] = counts.get(value, 0) + 1
    return counts


@pytest.mark.parametrize(
    ("name", "values"),
    [("tag", lambda r: r.tags), ("language", lambda r: [r.language])],
)
@pytest.mark.parametrize("params", [{}, {"duplicates": "exclude"}, {"q": "report"}])
def test_registry_facets_count_each_value_of_the_matches(
    client: TestClient,
    world: World,
    name: str,
    values: Callable[[Row], list[str]],
    params: dict[str, str],
) -> None:
    matched = set(listed(client, world, **params))
    rows = [row for row in ROWS if row.name in matched]
    facet = facet_of(client, name, **params)
    counts = {value["value"]: value["count"] for value in facet["values"]}
    assert counts == meant_counts(values, rows)
    assert facet["missing"] == sum(1 for row in rows if not values(row))
    assert facet["distinct"] == len(counts) and facet["other_count"] == 0
