"""Article search: filters, sort orders, exact totals and keyset paging with no depth limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Float, and_, false, func, literal, or_, select
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from app.models import Article, ArticleEntity, ArticleTag, Entity, Source
from app.search.cursor import Cursor, InvalidCursor
from app.search.query import Query
from app.search.text import SearchIn, matches

Sort = Literal["relevance", "published_at", "-published_at"]


@dataclass
class ArticleFilter:
    """Everything that narrows a set of articles; shared by search, facets, timeline, exports."""

    query: Query | None = None
    search_in: SearchIn = "all"
    source_ids: list[int] | None = None
    published_from: datetime | None = None
    published_to: datetime | None = None
    entity_groups: list[list[int]] = field(default_factory=list)
    entity_types: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    exclude_duplicates: bool = False


@dataclass
class Hit:
    article: Article
    source: Source | None
    score: float | None


def filter_conditions(flt: ArticleFilter) -> list[ColumnElement[bool]]:
    """WHERE conditions on Article for every filter except the text query."""
    conditions: list[ColumnElement[bool]] = []
    if flt.source_ids is not None:
        conditions.append(Article.source_id.in_(flt.source_ids) if flt.source_ids else false())
    if flt.published_from is not None:
        conditions.append(Article.published_at >= flt.published_from)
    if flt.published_to is not None:
        conditions.append(Article.published_at <= flt.published_to)
    for group in flt.entity_groups:
        conditions.append(
            Article.id.in_(
                select(ArticleEntity.article_id).where(ArticleEntity.entity_id.in_(group))
            )
        )
    if flt.entity_types:
        conditions.append(
            Article.id.in_(
                select(ArticleEntity.article_id)
                .join(Entity, Entity.id == ArticleEntity.entity_id)
                .where(Entity.type.in_(flt.entity_types))
            )
        )
    if flt.languages:
        conditions.append(Article.language.in_(flt.languages))
    if flt.tags:
        conditions.append(
            Article.id.in_(select(ArticleTag.article_id).where(ArticleTag.tag.in_(flt.tags)))
        )
    if flt.exclude_duplicates:
        conditions.append(Article.duplicate_of.is_(None))
    return conditions


def matching_ids(session: Session, flt: ArticleFilter) -> Select[Any]:
    """SELECT article.id, score for every article the filter admits (score NULL without q)."""
    statement: Select[Any]
    if flt.query is not None:
        matched = matches(session.get_bind().dialect.name, flt.query, flt.search_in).subquery()
        statement = select(Article.id, matched.c.score).join(matched, matched.c.id == Article.id)
    else:
        statement = select(Article.id, literal(None, Float).label("score"))
    return statement.where(*filter_conditions(flt))


def count_articles(session: Session, flt: ArticleFilter) -> int:
    ids = matching_ids(session, flt).subquery()
    return int(session.execute(select(func.count()).select_from(ids)).scalar_one())


def _order_and_seek(
    sort: Sort, score: Any, key: list[Any] | None
) -> tuple[list[Any], ColumnElement[bool] | None]:
    """ORDER BY for the sort, and the condition that starts after `key` (the last row)."""
    published, article_id = Article.published_at, Article.id
    if sort == "relevance":
        order = [score.desc(), article_id.asc()]
        if key is None:
            return order, None
        last_score, last_id = float(key[0]), int(key[1])
        return order, or_(score < last_score, and_(score == last_score, article_id > last_id))
    descending = sort == "-published_at"
    # Articles without a date come last in both directions.
    order = [
        published.is_(None),
        published.desc() if descending else published.asc(),
        article_id.desc() if descending else article_id.asc(),
    ]
    if key is None:
        return order, None
    last_published = datetime.fromisoformat(key[0]) if key[0] is not None else None
    last_id = int(key[1])
    after_id = article_id < last_id if descending else article_id > last_id
    if last_published is None:
        return order, and_(published.is_(None), after_id)
    after_date = published < last_published if descending else published > last_published
    return order, or_(
        published.is_(None),
        after_date,
        and_(published == last_published, after_id),
    )


def sort_key(sort: Sort, hit: Hit) -> list[Any]:
    if sort == "relevance":
        return [hit.score, hit.article.id]
    published = hit.article.published_at
    return [published.isoformat() if published else None, hit.article.id]


def newest_id(session: Session) -> int:
    return int(session.execute(select(func.coalesce(func.max(Article.id), 0))).scalar_one())


def search_articles(
    session: Session, flt: ArticleFilter, sort: Sort, limit: int, cursor: Cursor | None
) -> tuple[list[Hit], int]:
    """One page of hits after `cursor`, and the snapshot (newest id) the walk is bound to."""
    if sort == "relevance" and flt.query is None:
        raise InvalidCursor("sort=relevance needs a text query q")
    snapshot = cursor.snapshot if cursor else newest_id(session)
    ids = matching_ids(session, flt).where(Article.id <= snapshot).subquery()
    order, seek = _order_and_seek(sort, ids.c.score, cursor.key if cursor else None)
    statement = (
        select(Article, Source, ids.c.score)
        .join(ids, ids.c.id == Article.id)
        .outerjoin(Source, Source.id == Article.source_id)
        .order_by(*order)
        .limit(limit)
    )
    if seek is not None:
        statement = statement.where(seek)
    rows = session.execute(statement).all()
    return [Hit(article=row[0], source=row[1], score=row[2]) for row in rows], snapshot


def top_entities(
    session: Session, article_ids: Sequence[int], per_article: int
) -> dict[int, list[tuple[Entity, int]]]:
    """The most-mentioned entities of each article, most mentions first."""
    if not article_ids:
        return {}
    rows = session.execute(
        select(ArticleEntity.article_id, Entity, ArticleEntity.mentions)
        .join(Entity, Entity.id == ArticleEntity.entity_id)
        .where(ArticleEntity.article_id.in_(article_ids))
        .order_by(ArticleEntity.article_id, ArticleEntity.mentions.desc(), Entity.name)
    ).all()
    result: dict[int, list[tuple[Entity, int]]] = {}
    for article_id, entity, mentions in rows:
        entries = result.setdefault(article_id, [])
        if len(entries) < per_article:
            entries.append((entity, mentions))
    return result
