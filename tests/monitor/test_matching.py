"""A batch's matches are what /articles lists: varied saved searches (words, phrases,
prefixes, OR and NOT, title only, accents, tags, dates, sources, entities, duplicates)
matched against a batch of the BBC corpus record, for each search, exactly the batch's
articles that /articles lists with its query; on every engine.

The batch is indexed alone to be matched (app/search/batch.py), so this is the check that
the small index answers as the archive's does.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, col, select

from app.db import create_db_engine
from app.models import SearchMatch
from app.monitor.matching import match_articles
from app.search.tantivy.sync import sync_search_index
from tests.corpus_variety import spread_dates_and_sources
from tests.monitor.world import api, monitor_settings, save_search

# Every 35th article of the 2,225: a batch of 64, spread over the corpus.
BATCH_STEP = 35
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
    {"q": "shares", "entity_type": "org"},
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


@pytest.mark.corpus
def test_a_batch_matches_what_articles_lists(bbc_db: str) -> None:
    settings = monitor_settings(bbc_db)
    writer = create_db_engine(settings, writer=True)
    spread_dates_and_sources(writer)
    sync_search_index(settings, writer)
    with writer.connect() as connection:
        ids = list(connection.execute(text("SELECT id FROM article ORDER BY id")).scalars())
        person = connection.execute(
            text(
                "SELECT e.name FROM entity e JOIN article_entity ae ON ae.entity_id = e.id "
                "WHERE e.type = 'person' GROUP BY e.id ORDER BY count(*) DESC, e.id LIMIT 1"
            )
        ).scalar_one()
    batch = set(ids[::BATCH_STEP])
    queries = [*QUERIES, {"entity": person}, {"entity": person, "q": "minister"}]
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
    # The searches tell the batch's articles apart: most match some of it, none all of it.
    assert sum(1 for found in expected.values() if found) >= len(queries) - 2
    assert all(found != batch for found in expected.values())
