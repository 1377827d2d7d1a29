"""Facet counts over exactly the articles a filter admits, aggregated in SQL.

Every facet is one GROUP BY over the filtered id set (`matching_ids`, the same filter as the
result page), so counts never disagree with `total` and no article row is loaded to count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, Row, String, cast, func, null, select
from sqlalchemy.sql import Select, SQLColumnExpression, Subquery
from sqlmodel import Session, col

from app.models import Article, ArticleEntity, Entity, Source
from app.search.articles import matching_ids
from app.search.filter import ArticleFilter, FacetCounting, facet_countings, filter_conditions
from app.search.periods import period_key_sql

# Facets that name their values from other tables (sources, entities) or count what no
# filter reads (months); the registry's facets (app/search/filter.py) come between.
NAMED_FACETS = ("source", "entity", "entity_type")
FACET_NAMES: tuple[str, ...] = (*NAMED_FACETS, *facet_countings(), "month")
# Facets where an article counts once under each of its values.
MULTI_VALUED = {"entity", "entity_type"} | {
    name for name, counting in facet_countings().items() if counting.multi_valued
}
# A facet value as _ranked reads it: id, value, type, count (n), and the facet's number of
# distinct values and of article-value pairs.
RankedValue = Row[int | None, str, str | None, int, int, int]


@dataclass
class FacetValue:
    value: str
    count: int
    id: int | None = None
    type: str | None = None


@dataclass
class FacetCounts:
    """The top values; `other_count` sums the counts of the values not listed.

    For single-valued facets (source, language, month) `other_count` is a number of
    articles, and sum(counts) + other_count + missing == total. For multi-valued ones
    (entity, entity_type, tag) an article counts once under each value it has, so `other_count`
    counts article-value pairs; `distinct - len(values)` is the number of values not listed.
    """

    values: list[FacetValue]
    other_count: int
    distinct: int
    missing: int


def _filtered(session: Session, flt: ArticleFilter, key: SQLColumnExpression[Any]) -> Subquery:
    """The filtered ids with one more column `key` (an Article column or expression)."""
    return matching_ids(session, flt).add_columns(key.label("key")).subquery()


def _article_counts(ids: Subquery) -> Subquery:
    """Articles per non-null key of a single-valued facet."""
    return (
        select(ids.c.key, func.count().label("n"))
        .where(ids.c.key.is_not(None))
        .group_by(ids.c.key)
        .subquery()
    )


def _source_counts(session: Session, flt: ArticleFilter) -> Select[*tuple[Any, ...]]:
    counts = _article_counts(_filtered(session, flt, col(Article.source_id)))
    return select(
        counts.c.key.label("id"),
        col(Source.name).label("value"),
        cast(null(), String).label("type"),
        counts.c.n,
    ).join(Source, col(Source.id) == counts.c.key)


def _plain_counts(ids: Subquery) -> Select[*tuple[Any, ...]]:
    counts = _article_counts(ids)
    return select(
        cast(null(), Integer).label("id"),
        counts.c.key.label("value"),
        cast(null(), String).label("type"),
        counts.c.n,
    )


def _mentions(session: Session, flt: ArticleFilter) -> Select[Any]:
    """FROM article_entity, narrowed to the matching articles (no join when all match)."""
    statement: Select[Any] = select().select_from(ArticleEntity)
    if flt.query is None and not filter_conditions(flt):
        # Every article matches: joining the id set would only cost a lookup per mention.
        return statement
    ids = matching_ids(session, flt).subquery()
    return statement.join(ids, ids.c.id == col(ArticleEntity.article_id))


def _entity_counts(session: Session, flt: ArticleFilter) -> Select[*tuple[Any, ...]]:
    counts = (
        _mentions(session, flt)
        .add_columns(col(ArticleEntity.entity_id).label("key"), func.count().label("n"))
        .group_by(col(ArticleEntity.entity_id))
        .subquery()
    )
    # Names are joined to the grouped rows (one per entity), not to every mention.
    return select(
        counts.c.key.label("id"),
        col(Entity.name).label("value"),
        col(Entity.type).label("type"),
        counts.c.n,
    ).join(Entity, col(Entity.id) == counts.c.key)


def _entity_type_counts(session: Session, flt: ArticleFilter) -> Select[*tuple[Any, ...]]:
    return (
        _mentions(session, flt)
        .add_columns(
            cast(null(), Integer).label("id"),
            col(Entity.type).label("value"),
            cast(null(), String).label("type"),
            func.count(col(ArticleEntity.article_id).distinct()).label("n"),
        )
        .join(Entity, col(Entity.id) == col(ArticleEntity.entity_id))
        .group_by(col(Entity.type))
    )


def _value_pairs(session: Session, flt: ArticleFilter, counting: FacetCounting) -> Subquery:
    """One row (id, value) per matching article and value of a registry facet."""
    return counting.pairs(matching_ids(session, flt)).subquery()


def _registry_counts(pairs: Subquery, counting: FacetCounting) -> Select[*tuple[Any, ...]]:
    articles = pairs.c.id.distinct() if counting.multi_valued else pairs.c.id
    return select(
        cast(null(), Integer).label("id"),
        pairs.c.value,
        cast(null(), String).label("type"),
        func.count(articles).label("n"),
    ).group_by(pairs.c.value)


def value_counts(session: Session, flt: ArticleFilter, name: str) -> Select[*tuple[Any, ...]]:
    """SELECT id, value, type, n: one row per value of facet `name` among the matches."""
    countings = facet_countings()
    if name in countings:
        return _registry_counts(_value_pairs(session, flt, countings[name]), countings[name])
    if name == "source":
        return _source_counts(session, flt)
    if name == "entity":
        return _entity_counts(session, flt)
    if name == "entity_type":
        return _entity_type_counts(session, flt)
    if name == "month":
        dialect = session.get_bind().dialect.name
        month = period_key_sql(dialect, "month", col(Article.published_at))
        return _plain_counts(_filtered(session, flt, month))
    raise ValueError(f"unknown facet {name!r}")


def articles_with_values(session: Session, flt: ArticleFilter, name: str) -> int:
    """How many matching articles have at least one value of a multi-valued facet."""
    countings = facet_countings()
    if name in countings:
        pairs = _value_pairs(session, flt, countings[name])
        return int(session.execute(select(func.count(pairs.c.id.distinct()))).scalar_one())
    statement = _mentions(session, flt).add_columns(
        func.count(col(ArticleEntity.article_id).distinct())
    )
    return int(session.execute(statement).scalar_one())


def _ranked(session: Session, flt: ArticleFilter, name: str, size: int) -> list[RankedValue]:
    """The `size` most frequent values (ties by value), each row with the facet's totals."""
    rows = value_counts(session, flt, name).subquery()
    statement = (
        select(
            rows.c.id,
            rows.c.value,
            rows.c.type,
            rows.c.n,
            func.count().over().label("distinct"),
            func.sum(rows.c.n).over().label("pairs"),
        )
        .order_by(rows.c.n.desc(), rows.c.value, rows.c.id)
        .limit(size)
    )
    return list(session.execute(statement).all())


def top_values(session: Session, flt: ArticleFilter, name: str, size: int) -> list[FacetValue]:
    """The `size` most frequent values of facet `name` among the matches."""
    return _as_values(_ranked(session, flt, name, size))


def _as_values(rows: list[RankedValue]) -> list[FacetValue]:
    return [FacetValue(value=str(r.value), count=int(r.n), id=r.id, type=r.type) for r in rows]


def facet(session: Session, flt: ArticleFilter, name: str, size: int, total: int) -> FacetCounts:
    """The top values of one facet, the rest summed, and the matches without a value."""
    top = _ranked(session, flt, name, size)
    distinct = int(top[0].distinct) if top else 0
    pairs = int(top[0].pairs) if top else 0
    values = _as_values(top)
    if name in MULTI_VALUED:
        missing = total - articles_with_values(session, flt, name)
    else:
        missing = total - pairs
    return FacetCounts(
        values=values,
        other_count=pairs - sum(v.count for v in values),
        distinct=distinct,
        missing=missing,
    )


def compute_facets(
    session: Session, flt: ArticleFilter, names: Sequence[str], size: int, total: int
) -> dict[str, FacetCounts]:
    """Each requested facet under the filter; `total` is the filter's article count."""
    return {name: facet(session, flt, name, size, total) for name in names}
