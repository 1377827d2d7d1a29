"""What the NewsAPI-compatible endpoints need beyond article search: source slugs and profiles,
and the start of page N of a result set."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import Row, func, select
from sqlmodel import Session, col

from app.models import Article, ArticleTag, Source
from app.search.articles import matching_ids, newest_id, sort_order
from app.search.catalog import sources_with_counts
from app.search.cursor import Cursor
from app.search.filter import ArticleFilter, Sort
from app.search.lookup import NotFound

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """A NewsAPI-style source id: 'The Khorasan Diary' → 'the-khorasan-diary'."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_SLUG.sub("-", plain.replace("'", "").replace("’", "")).strip("-")


def source_slugs(session: Session) -> dict[int, str]:
    """Every source's slug by id; stable: when two names give one slug, the newer source
    gets its id appended ('bbc-news-7')."""
    slugs: dict[int, str] = {}
    taken: set[str] = set()
    for source_id, name in session.execute(
        select(col(Source.id), col(Source.name)).order_by(col(Source.id))
    ):
        slug = slugify(name) or f"source-{source_id}"
        if slug in taken:
            slug = f"{slug}-{source_id}"
        taken.add(slug)
        slugs[source_id] = slug
    return slugs


def resolve_source_refs(session: Session, values: list[str]) -> list[int]:
    """Source ids for slugs, names (any case) or numeric ids; NotFound names the first unknown."""
    slugs = source_slugs(session)
    by_ref: dict[str, int] = {slug: source_id for source_id, slug in slugs.items()}
    for source_id, name in session.execute(select(col(Source.id), col(Source.name))):
        by_ref.setdefault(name.casefold(), source_id)
        by_ref.setdefault(str(source_id), source_id)
    ids: list[int] = []
    for value in values:
        found = by_ref.get(value.strip().casefold())
        if found is None:
            choices = list(slugs.values())
            close = process.extract(value, choices, scorer=fuzz.WRatio, limit=5, score_cutoff=60)
            raise NotFound("source", value, [match[0] for match in close])
        ids.append(found)
    return ids


@dataclass
class SourceProfile:
    """A source as NewsAPI describes one: its most common tag and language stand in for
    NewsAPI's category and language."""

    id: int
    slug: str
    name: str
    domain: str | None
    article_count: int
    category: str | None
    language: str | None


def source_profiles(session: Session) -> list[SourceProfile]:
    """Every source with its article count, most frequent tag and language; most articles first."""
    slugs = source_slugs(session)
    tags = _most_common(
        session.execute(
            select(col(Article.source_id), col(ArticleTag.tag), func.count())
            .join(ArticleTag, col(ArticleTag.article_id) == col(Article.id))
            .where(col(Article.source_id).is_not(None))
            .group_by(col(Article.source_id), col(ArticleTag.tag))
        ).all()
    )
    languages = _most_common(
        session.execute(
            select(col(Article.source_id), col(Article.language), func.count())
            .where(col(Article.source_id).is_not(None), col(Article.language).is_not(None))
            .group_by(col(Article.source_id), col(Article.language))
        ).all()
    )
    return [
        SourceProfile(
            id=source.id,
            slug=slugs[source.id],
            name=source.name,
            domain=source.domain,
            article_count=count,
            category=tags.get(source.id),
            language=languages.get(source.id),
        )
        for source, count in sources_with_counts(session)
        if source.id is not None
    ]


def _most_common(rows: Sequence[Row[int, str, int]]) -> dict[int, str]:
    """The most frequent value per source from (source id, value, count) rows; ties by value."""
    counters: dict[int, Counter[str]] = {}
    for source_id, value, count in rows:
        counters.setdefault(source_id, Counter())[value] = count
    return {
        source_id: min(counter.items(), key=lambda item: (-item[1], item[0]))[0]
        for source_id, counter in counters.items()
    }


def page_cursor(session: Session, flt: ArticleFilter, sort: Sort, offset: int) -> Cursor | None:
    """A cursor positioned after the first `offset` (>= 1) results, so that page N is a keyset
    seek; None when there are not that many results.

    Finding the row at the offset reads only ids and sort keys (no article text), so a deep
    page costs one scan of the matching ids before it, not of the articles.
    """
    snapshot = newest_id(session)
    ids = matching_ids(session, flt).where(col(Article.id) <= snapshot).subquery()
    order = sort_order(sort, ids.c.score)
    row = session.execute(
        select(col(Article.published_at), col(Article.id), ids.c.score)
        .join(ids, ids.c.id == col(Article.id))
        .order_by(*order)
        .offset(offset - 1)
        .limit(1)
    ).first()
    if row is None:
        return None
    published, article_id, score = row
    if sort == "relevance":
        return Cursor(key=[score, article_id], snapshot=snapshot, query_hash="")
    stamp = published.isoformat() if published is not None else None
    return Cursor(key=[stamp, article_id], snapshot=snapshot, query_hash="")
