"""language= and entity_type= on /articles and /v2, and their facets, over articles that differ
in both.

Every seed is English and names an entity of every type, so a filter on either that kept every
article (or none at all) would pass on the seeds alone. Each test here ingests, into its own
database and through the real ingest path (language detection, NER, the search index), short
reports in the outlets' other languages (Russian, Dari, Pashto, Urdu) and an English one about
floods that names no person. What each answer must be is read from the tables with plain SQL.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import Settings
from app.models import Article, ArticleEntity, Entity, Source
from app.search.newsapi import slugify
from tests.helpers import TEST_DATA, ingest_paths

LANGUAGES_DIR = TEST_DATA / "languages"
ENTITY_TYPES = ("person", "organization", "location", "other")
Params = list[tuple[str, str]]


@dataclass
class Archive:
    """The seeds and the reports of tests/data/languages, as stored."""

    client: TestClient
    language: dict[int, str]  # article id → its stored language
    types: dict[int, set[str]]  # article id → the types of the entities it names
    key: dict[int, tuple[str | None, str | None]]  # article id → (title, url), as /v2 shows it
    source_languages: list[tuple[str, str]]  # (source name, language) of each article
    floods: int  # the English report about floods, which names places but no person

    def with_language(self, *codes: str) -> set[int]:
        return {article for article, language in self.language.items() if language in codes}

    def with_type(self, *types: str) -> set[int]:
        return {article for article, named in self.types.items() if named & set(types)}


@pytest.fixture
def archive(client: TestClient, settings: Settings, engine: Engine) -> Archive:
    report = ingest_paths(settings, LANGUAGES_DIR)
    assert (report.added, report.failed) == (5, 0), report  # type: ignore[attr-defined]
    with Session(engine) as session:
        articles = session.execute(
            select(Article.id, Article.origin, Article.language, Article.title, Article.url)
        ).all()
        typed = session.execute(
            select(ArticleEntity.article_id, Entity.type)
            .join(Entity, Entity.id == ArticleEntity.entity_id)
            .distinct()
        ).all()
        source_languages = session.execute(
            select(Source.name, Article.language).join(Article, Article.source_id == Source.id)
        ).all()
    types: dict[int, set[str]] = {article_id: set() for article_id, *_ in articles}
    for article_id, entity_type in typed:
        types[article_id].add(entity_type)
    by_file = {Path(origin).name: article_id for article_id, origin, *_ in articles}
    # The file name says which language its text is in: detection must have agreed.
    language = {article_id: code for article_id, _, code, _, _ in articles}
    for path in LANGUAGES_DIR.glob("*.txt"):
        assert language[by_file[path.name]] == path.name[:2], path.name
    return Archive(
        client=client,
        language=language,
        types=types,
        key={article_id: (title, url) for article_id, _, _, title, url in articles},
        source_languages=[(name, code) for name, code in source_languages],
        floods=by_file["en_amu_floods.txt"],
    )


def listed(client: TestClient, params: Params) -> tuple[set[int], int]:
    """The ids /articles lists for params (one page holds them all) and its total."""
    response = client.get("/articles", params=[*params, ("limit", "100")])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    return {item["id"] for item in body["items"]}, body["total"]


def facet(client: TestClient, params: Params) -> tuple[dict[str, Any], int]:
    response = client.get("/articles", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    [counted] = body["facets"].values()
    return counted, body["total"]


def test_the_reports_are_in_five_languages_and_split_the_entity_types(archive: Archive) -> None:
    """The premise of the tests below: every seed names a person, the floods report names
    places but no person, so entity_type=person is neither every article nor every article
    with entities (a filter on "names any entity" fails too)."""
    assert set(archive.language.values()) == {"en", "ru", "fa", "ps", "ur"}
    named = archive.types[archive.floods]
    assert "location" in named and "person" not in named
    assert 0 < len(archive.with_type("person")) < len(archive.with_type(*ENTITY_TYPES))


# Each language alone, and repeated: any of them.
LANGUAGE_CHOICES = [["en"], ["ru"], ["fa"], ["ps"], ["ur"], ["fa", "ps"], ["ru", "ur", "en"]]


def test_language_filter_lists_exactly_the_articles_in_those_languages(
    archive: Archive,
) -> None:
    for codes in LANGUAGE_CHOICES:
        expected = archive.with_language(*codes)
        params = [("language", code) for code in codes]
        assert listed(archive.client, params) == (expected, len(expected)), codes
        upper = [("language", code.upper()) for code in codes]  # codes in any case
        assert listed(archive.client, upper) == (expected, len(expected)), codes


def test_a_language_no_article_is_in_lists_nothing(archive: Archive) -> None:
    assert listed(archive.client, [("language", "de")]) == (set(), 0)


def test_language_facet_counts_each_language_exactly(archive: Archive) -> None:
    counts = Counter(archive.language.values())
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    every, total = facet(archive.client, [("facets", "language"), ("facet_size", "100")])
    assert total == len(archive.language)
    assert [(v["value"], v["count"]) for v in every["values"]] == ranked
    assert (every["other_count"], every["distinct"], every["missing"]) == (0, len(counts), 0)
    top, _ = facet(archive.client, [("facets", "language"), ("facet_size", "2")])
    assert [(v["value"], v["count"]) for v in top["values"]] == ranked[:2]
    rest = sum(count for _, count in ranked[2:])
    assert (top["other_count"], top["distinct"], top["missing"]) == (rest, len(counts), 0)
    # Under a language filter the facet counts only those languages.
    two, total = facet(
        archive.client, [("language", "fa"), ("language", "ru"), ("facets", "language")]
    )
    assert {v["value"]: v["count"] for v in two["values"]} == {"fa": 1, "ru": 1}
    assert total == 2 and (two["other_count"], two["distinct"]) == (0, 2)


def newsapi(client: TestClient, path: str, **params: str) -> tuple[set[Any], int]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    return {(a["title"], a["url"]) for a in body["articles"]}, body["totalResults"]


@pytest.mark.parametrize("path", ["/v2/everything", "/v2/top-headlines"])
def test_newsapi_language_lists_exactly_the_articles_in_those_languages(
    archive: Archive, path: str
) -> None:
    for language in ["ru", "ur", "fa,ps", "en", "EN,ru"]:
        chosen = archive.with_language(*language.lower().split(","))
        expected = {archive.key[article_id] for article_id in chosen}
        found = newsapi(archive.client, path, language=language)
        assert found == (expected, len(expected)), language


def test_newsapi_sources_by_their_most_common_language(archive: Archive) -> None:
    """A source's language is the one most of its articles are in (ties: the first code)."""
    per_source: dict[str, Counter[str]] = {}
    for name, code in archive.source_languages:
        per_source.setdefault(name, Counter())[code] += 1
    main = {
        name: min(counter.items(), key=lambda item: (-item[1], item[0]))[0]
        for name, counter in per_source.items()
    }
    assert "ru" in main.values() and len(set(main.values())) > 1
    for code in sorted(set(main.values())):
        response = archive.client.get("/v2/top-headlines/sources", params={"language": code})
        found = {source["id"] for source in response.json()["sources"]}
        assert found == {slugify(name) for name, language in main.items() if language == code}


def test_entity_type_filter_lists_exactly_the_articles_naming_that_type(
    archive: Archive,
) -> None:
    # Each type alone, and repeated: any of them.
    for types in [[t] for t in ENTITY_TYPES] + [["person", "location"], ["other", "organization"]]:
        expected = archive.with_type(*types)
        params = [("entity_type", t) for t in types]
        assert listed(archive.client, params) == (expected, len(expected)), types


def test_entity_type_facet_counts_articles_per_type_exactly(archive: Archive) -> None:
    counts = {t: len(archive.with_type(t)) for t in ENTITY_TYPES if archive.with_type(t)}
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    without_entities = len(archive.language) - len(archive.with_type(*ENTITY_TYPES))
    every, total = facet(archive.client, [("facets", "entity_type")])
    assert total == len(archive.language)
    assert [(v["value"], v["count"]) for v in every["values"]] == ranked
    assert (every["other_count"], every["distinct"]) == (0, len(counts))
    assert every["missing"] == without_entities
    top, _ = facet(archive.client, [("facets", "entity_type"), ("facet_size", "1")])
    assert top["other_count"] == sum(count for _, count in ranked[1:])
    # Among Urdu and Dari articles only.
    some = archive.with_language("ur", "fa")
    within, total = facet(
        archive.client, [("language", "ur"), ("language", "fa"), ("facets", "entity_type")]
    )
    assert total == len(some)
    assert {v["value"]: v["count"] for v in within["values"]} == {
        t: len(archive.with_type(t) & some) for t in ENTITY_TYPES if archive.with_type(t) & some
    }
    assert within["missing"] == len(some - archive.with_type(*ENTITY_TYPES))
