"""A batch's matches are what /articles lists: varied saved searches (words, phrases,
prefixes, OR and NOT, title only, accents, tags, dates, sources, entities, duplicates)
matched against a batch of BBC articles record, for each search, exactly the batch's
articles that /articles lists with its query; on every engine.

A fifth of the corpus is ingested without entity recognition (the recognised corpus takes
half an hour to build on a loaded machine); two entities are linked to articles by id.

The batch is indexed alone to be matched (app/search/batch.py), so this is the check that
the small index answers as the archive's does.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import create_db_engine
from app.models import ArticleEntity, Entity, SearchMatch
from app.monitor.matching import match_articles
from app.search.tantivy.sync import sync_search_index
from tests.corpus_variety import spread_dates_and_sources
from tests.helpers import ingest_paths
from tests.monitor.world import api, monitor_settings, save_search

CORPUS_STEP = 5  # every fifth BBC file: 445 articles
BATCH_STEP = 7  # every seventh of those: a batch of 64, spread over them
QUERIES: list[dict[str, Any]] = [
    {"q": "economy"},
    {"q": '"interest rates"'},
    {"q": "elect*"},
    {"q": "film OR music", "search_in": "title"},
    {"q": "government -labour"},
    {"q": "(oil OR gas) prices"},
    {"q": "cafe"},
    {"tag": "sport"},
    {"q": "growth", "tag": "business", "from": "2004-01-01", "to": "2005-06-30"},
    {"q": "game", "source": ["Reuters", "BBC News"]},
    {"q": "shares", "entity_type": "organization"},
    {"q": "mobile phone", "language": "en"},
    {"q": "said", "duplicates": "exclude", "source": "The Guardian"},
]


def listed(client: TestClient, query: dict[str, Any]) -> set[int]:
    """Every article /articles lists with the query, page after page."""
    params = [
        (k, v)
        for k, value in query.items()
        for v in (value if isinstance(value, list) else [value])
    ]
    found: set[int] = set()
    cursor: str | None = None
    while True:
        page = client.get(
            "/articles",
            params=[*params, ("limit", "100")] + ([("cursor", cursor)] if cursor else []),
        )
        assert page.status_code == 200, page.text
        body = page.json()
        found |= {item["id"] for item in body["items"]}
        cursor = body["next_cursor"]
        if cursor is None:
            return found


def ingest_part_of_the_corpus(settings: Settings, corpus: Path, into: Path) -> None:
    """Every CORPUS_STEP-th BBC file, in its category's folder (its tag), ingested."""
    for n, file in enumerate(sorted(corpus.glob("*/*.txt"))):
        if n % CORPUS_STEP == 0:
            (into / file.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(file, into / file.parent.name / file.name)
    report = ingest_paths(settings, into, nlp=False)
    assert report.failed == 0  # type: ignore[attr-defined]


def link_entities(writer: Engine, ids: list[int]) -> tuple[int, int]:
    """A person named by every fourth article and an organisation by every sixth."""
    with writer.begin() as connection:
        person, org = (
            connection.execute(
                insert(Entity).values(name=name, type=kind).returning(col(Entity.id))
            ).scalar_one()
            for name, kind in (("Ada Person", "person"), ("Acme Org", "organization"))
        )
        links = [(i, person) for i in ids if i % 4 == 0] + [(i, org) for i in ids if i % 6 == 1]
        connection.execute(
            insert(ArticleEntity),
            [{"article_id": a, "entity_id": e, "mentions": 1, "forms": ["x"]} for a, e in links],
        )
    return person, org


@pytest.mark.corpus
def test_a_batch_matches_what_articles_lists(
    empty_db: str, bbc_corpus: Path, tmp_path: Path
) -> None:
    settings = monitor_settings(empty_db)
    ingest_part_of_the_corpus(settings, bbc_corpus, tmp_path / "bbc")
    writer = create_db_engine(settings, writer=True)
    spread_dates_and_sources(writer)
    with writer.connect() as connection:
        ids = list(connection.execute(text("SELECT id FROM article ORDER BY id")).scalars())
    person, org = link_entities(writer, ids)
    sync_search_index(settings, writer)
    batch = set(ids[::BATCH_STEP])
    queries = [
        *QUERIES,
        {"entity": str(person)},
        {"entity": str(person), "q": "year"},
        {"entity_any": [str(person), str(org)], "tag": ["business", "tech"]},
    ]
    try:
        with api(settings) as client:
            searches = [
                save_search(client, name=f"search {n}", query=query)["id"]
                for n, query in enumerate(queries)
            ]
            report = match_articles(writer, settings, sorted(batch))
            expected = {
                s: listed(client, q) & batch for s, q in zip(searches, queries, strict=True)
            }
        with Session(writer) as session:
            rows = session.exec(
                select(col(SearchMatch.search_id), col(SearchMatch.article_id))
            ).all()
    finally:
        writer.dispose()
    recorded: dict[int, set[int]] = {s: set() for s in searches}
    for search_id, article_id in rows:
        recorded[search_id].add(article_id)
    assert recorded == expected
    assert report.searches == len(queries) and report.matches == sum(map(len, expected.values()))
    # The searches tell the batch's articles apart: half match some of it, none all of it.
    assert sum(1 for found in expected.values() if found) >= len(queries) // 2
    assert all(found != batch for found in expected.values())
