"""Sources and entities with their article counts: the catalogue users browse before searching."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.sql import Select
from sqlmodel import Session

from app.keys import name_key
from app.models import Article, ArticleEntity, Entity, EntityAlias, Source


def sources_with_counts(session: Session) -> list[tuple[Source, int]]:
    """Every source and how many articles it has, most articles first."""
    counts = (
        select(Article.source_id, func.count().label("n")).group_by(Article.source_id).subquery()
    )
    rows = session.execute(
        select(Source, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.source_id == Source.id)
        .order_by(func.coalesce(counts.c.n, 0).desc(), Source.name)
    ).all()
    return [(row[0], int(row[1])) for row in rows]


def entity_stats() -> Select[Any]:
    """SELECT entity_id, article count, mention count over all article links."""
    return select(
        ArticleEntity.entity_id,
        func.count().label("articles"),
        func.sum(ArticleEntity.mentions).label("mentions"),
    ).group_by(ArticleEntity.entity_id)


def entity_listing(name: str | None, entity_type: str | None, min_articles: int) -> Select[Any]:
    """Entities with counts, filtered by a name/alias prefix or substring and type."""
    stats = entity_stats().subquery()
    statement = (
        select(Entity, stats.c.articles, stats.c.mentions)
        .join(stats, stats.c.entity_id == Entity.id)
        .where(stats.c.articles >= min_articles)
    )
    if entity_type:
        statement = statement.where(Entity.type == entity_type)
    if name:
        key = name_key(name)
        pattern = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        aliases = select(EntityAlias.entity_id).where(EntityAlias.key.like(pattern, escape="\\"))
        statement = statement.where(or_(Entity.id.in_(aliases)))
    return statement


def aliases_of(session: Session, entity_id: int) -> list[str]:
    return list(
        session.execute(
            select(EntityAlias.alias)
            .where(EntityAlias.entity_id == entity_id)
            .order_by(EntityAlias.alias)
        ).scalars()
    )
