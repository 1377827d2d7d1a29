"""Dates and sources for copies of the BBC corpus, whose files carry neither.

Engine comparisons of date orders, month facets, source facets and timelines compare
nothing on the plain corpus ([] with []). `spread_dates_and_sources` gives a copy dates
over four years (several articles to a day and an hour, one in ten undated) and five
sources (one article in nine without), each derived from the article id, so every copy,
SQLite or PostgreSQL, gets the same values and the answers compare one to one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.engine import Engine
from sqlmodel import col

from app.models import Article, Source

SOURCES = ["BBC News", "Reuters", "Associated Press", "The Guardian", "Agence France-Presse"]
FIRST_DAY = datetime(2003, 6, 1, tzinfo=UTC)


def published_for(article_id: int) -> datetime | None:
    if article_id % 10 == 0:
        return None
    days, hours = (article_id * 7919) % 1500, (article_id * 31) % 24
    return FIRST_DAY + timedelta(days=days, hours=hours)


def source_for(article_id: int) -> str | None:
    """One of SOURCES, or None; unevenly spread, so the counts differ by source."""
    if article_id % 9 == 0:
        return None
    return SOURCES[min((article_id * 13) % 7, len(SOURCES) - 1)]


def spread_dates_and_sources(
    engine: Engine, published: Callable[[int], datetime | None] = published_for
) -> None:
    """Set every article's published_at (`published`) and source from its id (through the
    ORM tables, so the same on every database, and logged for the search index like any
    change)."""
    with engine.begin() as connection:
        source_ids = {
            name: connection.execute(
                insert(Source)
                .values(name=name, domain=f"source{i}.example")
                .returning(col(Source.id))
            ).scalar_one()
            for i, name in enumerate(SOURCES)
        }
        rows = []
        for article_id in connection.execute(text("SELECT id FROM article")).scalars():
            source = source_for(article_id)
            rows.append(
                {
                    "article_id": article_id,
                    "published": published(article_id),
                    "source": source_ids[source] if source is not None else None,
                }
            )
        connection.execute(
            update(Article)
            .where(col(Article.id) == bindparam("article_id"))
            .values(published_at=bindparam("published"), source_id=bindparam("source")),
            rows,
        )
