"""Saved-search matching cost: one ingest batch matched against many saved searches.

Usage: python benchmarks/matching.py DATABASE_URL [--searches 1000] [--batch 64] [--runs 5]
(the search engine is the settings', NEWSDESK_SEARCH_ENGINE: tantivy or database).

Saves `--searches` varied searches (a word of the archive's titles each; every third also
filtered by language, every fifth by a date range, every fourth by a category tag, every
tenth by one of the most named people; every sixth a prefix, every ninth an OR of two
words), then times `match_articles` over the `--batch` newest articles, the recorded matches
cleared between runs so each run records them again. The searches, matches and deliveries
it made are deleted at the end, so the database is left as it was. Prints one JSON line:
the median and worst seconds per batch (and the median CPU seconds of this process, which
waiting for a core on a shared machine does not inflate), and the matches recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from collections import Counter
from typing import Any

from sqlalchemy import delete, text
from sqlmodel import Session, col, select

from app.config import get_settings
from app.db import create_db_engine
from app.models import Article, SavedSearch, SearchMatch, WebhookDelivery
from app.monitor.matching import match_articles
from app.monitor.searches import add_search

PREFIX = "bench "
TAGS = ("business", "entertainment", "politics", "sport", "tech")


def saved_queries(session: Session, count: int) -> list[dict[str, Any]]:
    """`count` varied /articles queries, from the archive's own titles and names."""
    titles = session.exec(select(col(Article.title)).limit(20_000)).all()
    words = Counter(w.lower() for t in titles if t for w in re.findall(r"[A-Za-z]{5,}", t))
    vocabulary = [word for word, _ in words.most_common(count)]
    people = list(
        session.execute(
            text(
                "SELECT e.name FROM entity e JOIN article_entity ae ON ae.entity_id = e.id "
                "WHERE e.type = 'person' AND ae.article_id <= 20000 "
                "GROUP BY e.id ORDER BY count(*) DESC, e.id LIMIT 20"
            )
        ).scalars()
    )
    queries: list[dict[str, Any]] = []
    for n in range(count):
        word = vocabulary[n % len(vocabulary)]
        query: dict[str, Any] = {"q": word}
        if n % 6 == 0:
            query["q"] = word[:5] + "*"
        elif n % 9 == 0:
            query["q"] = f"{word} OR {vocabulary[(n * 7 + 1) % len(vocabulary)]}"
        if n % 3 == 0:
            query["language"] = ["en"]
        if n % 5 == 0:
            query["from"] = "2000-01-01"
        if n % 4 == 1:
            query["tag"] = [TAGS[n % len(TAGS)]]
        if n % 10 == 7 and people:
            query["entity"] = [people[n % len(people)]]
        queries.append(query)
    return queries


def measure(database_url: str, searches: int, batch_size: int, runs: int) -> dict[str, Any]:
    settings = get_settings().model_copy(update={"database_url": database_url})
    engine = create_db_engine(settings, writer=True)
    try:
        with Session(engine) as session:
            for n, query in enumerate(saved_queries(session, searches)):
                add_search(session, settings, f"{PREFIX}{n}", query)
            session.commit()
            ids = session.exec(
                select(col(Article.id)).order_by(col(Article.id).desc()).limit(batch_size)
            ).all()
        batch = [i for i in ids if i is not None]
        seconds: list[float] = []
        cpu: list[float] = []
        matched = 0
        for _ in range(runs):
            _clear(engine, matches_only=True)
            started, cpu_started = time.perf_counter(), time.process_time()
            report = match_articles(engine, settings, batch)
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            matched = report.matches
    finally:
        _clear(engine, matches_only=False)
        engine.dispose()
    return {
        "engine": settings.search_engine,
        "searches": searches,
        "batch": len(batch),
        "runs": runs,
        "matches": matched,
        "median_seconds": statistics.median(seconds),
        "worst_seconds": max(seconds),
        # On a shared machine the wall time is mostly waiting for a core: CPU time too.
        "median_cpu_seconds": statistics.median(cpu),
        "load_average": os.getloadavg()[0],
    }


def _clear(engine: Any, matches_only: bool) -> None:
    """Delete the benchmark's matches and deliveries (and, at the end, its searches)."""
    with Session(engine) as session:
        mine = select(col(SavedSearch.id)).where(col(SavedSearch.name).startswith(PREFIX))
        session.execute(delete(SearchMatch).where(col(SearchMatch.search_id).in_(mine)))
        session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.search_id).in_(mine)))
        if not matches_only:
            session.execute(delete(SavedSearch).where(col(SavedSearch.name).startswith(PREFIX)))
        session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database_url")
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(measure(args.database_url, args.searches, args.batch, args.runs)))


if __name__ == "__main__":
    main()
