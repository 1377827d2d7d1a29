"""Saved-search matching cost: one ingest batch matched against many saved searches.

Usage: python benchmarks/matching.py DATABASE_URL [--searches 1000] [--batch 64] [--runs 5]

Saves `--searches` searches (a word of the archive's titles each; every third also filtered
by language, every fifth by a date range) on a copy you can spare, then times
`match_articles` over the `--batch` newest articles, the recorded matches cleared between
runs so each run records them again. Prints the median and worst seconds per batch.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from collections import Counter

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.config import get_settings
from app.db import create_db_engine
from app.models import Article, SavedSearch, SearchMatch, WebhookDelivery
from app.monitor.matching import match_articles
from app.monitor.searches import add_search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database_url")
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    settings = get_settings().model_copy(update={"database_url": args.database_url})
    engine = create_db_engine(settings, writer=True)
    with Session(engine) as session:
        titles = session.exec(select(col(Article.title)).limit(20_000)).all()
        words = Counter(w.lower() for t in titles if t for w in re.findall(r"[A-Za-z]{5,}", t))
        vocabulary = [word for word, _ in words.most_common(args.searches)]
        have = len(session.exec(select(SavedSearch)).all())
        for n in range(have, args.searches):
            query: dict[str, object] = {"q": vocabulary[n % len(vocabulary)]}
            if n % 3 == 0:
                query["language"] = ["en"]
            if n % 5 == 0:
                query["from"] = "2000-01-01"
            add_search(session, settings, f"bench {n}", query)
        session.commit()
        ids = session.exec(
            select(col(Article.id)).order_by(col(Article.id).desc()).limit(args.batch)
        ).all()
    batch = [i for i in ids if i is not None]
    seconds: list[float] = []
    matched = 0
    for _ in range(args.runs):
        with Session(engine) as session:
            session.execute(delete(SearchMatch))
            session.execute(delete(WebhookDelivery))
            session.commit()
        started = time.perf_counter()
        report = match_articles(engine, settings, batch)
        seconds.append(time.perf_counter() - started)
        matched = report.matches
    engine.dispose()
    print(
        f"{args.searches} saved searches, batch of {len(batch)} ({settings.search_engine}): "
        f"{matched} matches; median {statistics.median(seconds):.3f} s, "
        f"worst {max(seconds):.3f} s per batch"
    )


if __name__ == "__main__":
    main()
