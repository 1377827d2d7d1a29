"""The seed gold, scored end to end: real extraction, spaCy, linking and store, read back from
the database and through the API (the `client` fixture ingested the five seeds)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import PROJECT_ROOT
from app.keys import name_key
from app.models import Article, ArticleEntity, Entity, EntityAlias

GOLD = json.loads((PROJECT_ROOT / "tests" / "data" / "expected.json").read_text(encoding="utf-8"))


@dataclass
class Linked:
    """An entity as stored for one article: the forms the article used and all its aliases."""

    id: int
    name: str
    type: str
    forms: list[str]
    alias_keys: set[str] = field(default_factory=set)


@pytest.fixture
def stored(engine: Engine) -> dict[str, list[Linked]]:
    """Per seed file name, the entities linked to its article."""
    with Session(engine) as session:
        aliases: dict[int, set[str]] = {}
        for entity_id, key in session.execute(select(EntityAlias.entity_id, EntityAlias.key)):
            aliases.setdefault(entity_id, set()).add(key)
        rows = session.execute(
            select(Article.origin, Entity.id, Entity.name, Entity.type, ArticleEntity.forms)
            .join(ArticleEntity, ArticleEntity.article_id == Article.id)
            .join(Entity, Entity.id == ArticleEntity.entity_id)
        ).all()
    result: dict[str, list[Linked]] = {}
    for origin, entity_id, name, entity_type, forms in rows:
        linked = Linked(entity_id, name, entity_type, forms, aliases.get(entity_id, set()))
        result.setdefault(Path(origin).name, []).append(linked)
    return result


def unlinked_forms(entities: list[Linked], listed: dict[str, Any]) -> list[str] | None:
    """The listed forms that do not name the listed entity; None when it is not linked at all.

    A form names the entity when looking it up (as `/articles?entity=` does) finds it.
    """
    for entity in entities:
        if entity.name == listed["name"] and entity.type == listed["type"]:
            return [form for form in listed["forms"] if name_key(form) not in entity.alias_keys]
    return None


def score(stored: dict[str, list[Linked]]) -> tuple[float, float, list[str]]:
    """Recall of listed entities (with all their forms), precision of stored entities against
    the listed ones (types person, organization and location: the gold lists no 'other'),
    and what recall missed."""
    listed = found = named = matched = 0
    missing: list[str] = []
    for file_name, gold in GOLD["articles"].items():
        entities = stored[file_name]
        for wanted in gold["entities"]:
            listed += 1
            unlinked = unlinked_forms(entities, wanted)
            if unlinked == []:
                found += 1
            else:
                missing.append(f"{file_name[:3]} {wanted['name']}: {unlinked or 'not found'}")
        gold_names = {(g["name"], g["type"]) for g in gold["entities"]}
        kept = [e for e in entities if e.type != "other"]
        named += len(kept)
        matched += sum((e.name, e.type) in gold_names for e in kept)
    return found / listed, matched / named, missing


def test_gold_recall_and_precision_end_to_end(stored: dict[str, list[Linked]]) -> None:
    recall, precision, missing = score(stored)
    report = f"gold recall {recall:.1%}, precision {precision:.1%}; missing: {missing}"
    print("\n" + report)
    assert recall >= 0.95, report


def test_no_not_entities_are_stored(stored: dict[str, list[Linked]]) -> None:
    for file_name, gold in GOLD["articles"].items():
        forbidden = {name_key(junk) for junk in gold["not_entities"]}
        for entity in stored[file_name]:
            keys = {name_key(entity.name), *(name_key(form) for form in entity.forms)}
            assert not forbidden & keys, (file_name, entity)
            assert not any("\n" in form for form in entity.forms), (file_name, entity)


def test_same_entity_groups_are_one_entity_across_the_corpus(
    client: TestClient, engine: Engine
) -> None:
    """Every form of a group names one entity, and filters /articles to the same articles."""
    for group in GOLD["same_entity"]:
        ids: set[int] = set()
        articles = set()
        for form in group:
            with Session(engine) as session:
                named = session.execute(
                    select(EntityAlias.entity_id).where(EntityAlias.key == name_key(form))
                ).scalars()
                ids.update(named)
            page = client.get("/articles", params={"entity": form, "limit": 100}).json()
            articles.add(frozenset(item["id"] for item in page["items"]))
        assert len(ids) == 1, f"{group} names entities {ids}"
        assert len(articles) == 1 and all(articles), (group, articles)


def test_putin_however_written_filters_the_same_articles(
    client: TestClient, seed_ids: dict[str, int]
) -> None:
    results = []
    for name in ("Putin", "Vladimir V. Putin", "vladimir putin", "Mr. Putin", "VLADIMIR PUTIN"):
        page = client.get("/articles", params={"entity": name, "limit": 100}).json()
        results.append(sorted(item["id"] for item in page["items"]))
    assert results[0] == sorted(seed_ids.values())
    assert all(result == results[0] for result in results)
