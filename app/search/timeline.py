"""Article counts per day, ISO week or month, gap-filled, optionally split by source or entity.

Counting is GROUP BY in SQL over the filtered id set (the same filter as /articles); Python
only lays the grouped counts over the full list of periods, so zero periods appear too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col

from app.models import Article, ArticleEntity
from app.search.articles import matching_ids
from app.search.facets import top_values
from app.search.filter import ArticleFilter
from app.search.periods import (
    Interval,
    period_count,
    period_key_sql,
    period_keys,
    period_start,
)

SplitBy = Literal["source", "entity"]

# A lower bound no stored date is below: `published_at >= EARLIEST` means "has a date".
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)


class RangeTooLarge(ValueError):
    """The range holds more periods than the configured maximum."""


@dataclass
class Series:
    """Counts for one source or entity, aligned with TimelineCounts.periods."""

    value: str
    id: int | None
    total: int
    counts: list[int]


@dataclass
class TimelineCounts:
    interval: Interval
    periods: list[str]
    counts: list[int]
    undated: int
    series: list[Series] | None = None
    other: list[int] | None = None


def _date_bounds(session: Session, flt: ArticleFilter) -> tuple[datetime | None, datetime | None]:
    """The filter's from/to, each falling back to the first/last matching date."""
    first, last = flt.published_from, flt.published_to
    if first is None or last is None:
        ids = (
            matching_ids(session, flt).add_columns(col(Article.published_at).label("at")).subquery()
        )
        low, high = session.execute(select(func.min(ids.c.at), func.max(ids.c.at))).one()
        first, last = first or low or last, last or high or first
    return first, last


def _counts(
    session: Session,
    flt: ArticleFilter,
    interval: Interval,
    by: SplitBy | None = None,
    where: ColumnElement[bool] | None = None,
) -> dict[tuple[str, int | None], int]:
    """Dated matches per (period, source or entity id); the id is None without `by`."""
    period = period_key_sql(session.get_bind().dialect.name, interval, col(Article.published_at))
    statement = matching_ids(session, flt).add_columns(period.label("period"))
    if by == "source":
        statement = statement.add_columns(col(Article.source_id).label("split"))
    elif by == "entity":
        statement = statement.add_columns(col(ArticleEntity.entity_id).label("split")).join(
            ArticleEntity, col(ArticleEntity.article_id) == col(Article.id)
        )
    if where is not None:
        statement = statement.where(where)
    rows = statement.subquery()
    keys = [rows.c.period, rows.c.split] if by else [rows.c.period]
    grouped = select(*keys, func.count()).where(rows.c.period.is_not(None)).group_by(*keys)
    return {
        (row[0], row[1] if by else None): int(row[-1]) for row in session.execute(grouped).all()
    }


def count_undated(session: Session, flt: ArticleFilter) -> int:
    ids = matching_ids(session, flt).where(col(Article.published_at).is_(None)).subquery()
    return int(session.execute(select(func.count()).select_from(ids)).scalar_one())


def build_timeline(
    session: Session,
    flt: ArticleFilter,
    interval: Interval,
    by: SplitBy | None = None,
    series_size: int = 5,
    max_periods: int = 10_000,
) -> TimelineCounts:
    """Counts per period from the first to the last date (from/to when given), zeros included.

    RangeTooLarge when that is more than `max_periods` periods.
    """
    first, last = _date_bounds(session, flt)
    undated = count_undated(session, flt)
    if first is None or last is None:
        return TimelineCounts(interval, [], [], undated, [] if by else None, [] if by else None)
    periods = periods_between(first, last, interval, max_periods)
    totals = _counts(session, flt, interval)
    counts = [totals.get((p, None), 0) for p in periods]
    timeline = TimelineCounts(interval, periods, counts, undated)
    if by is not None:
        timeline.series, timeline.other = _split(session, flt, interval, by, series_size, timeline)
    return timeline


def periods_between(
    first: datetime | date, last: datetime | date, interval: Interval, max_periods: int
) -> list[str]:
    """Every period's key from `first` to `last`; RangeTooLarge past `max_periods`."""
    count = period_count(first, last, interval)
    if count > max_periods:
        raise RangeTooLarge(
            f"{period_start(first, 'day')} to {period_start(last, 'day')} is {count:,} "
            f"{interval}s; one timeline holds at most {max_periods:,}: use a longer interval "
            "or narrow from/to"
        )
    return period_keys(first, last, interval)


def _split(
    session: Session,
    flt: ArticleFilter,
    interval: Interval,
    by: SplitBy,
    size: int,
    timeline: TimelineCounts,
) -> tuple[list[Series], list[int]]:
    """The `size` biggest sources or entities (by dated matches) as series, and the rest.

    `other` counts, per period, the articles that are in none of the listed series.
    """
    dated = replace(flt, published_from=flt.published_from or EARLIEST)
    top = top_values(session, dated, by, size)
    ids = [value.id for value in top]
    column = col(Article.source_id) if by == "source" else col(ArticleEntity.entity_id)
    by_value = _counts(session, flt, interval, by, column.in_(ids))
    series = [
        Series(v.value, v.id, v.count, [by_value.get((p, v.id), 0) for p in timeline.periods])
        for v in top
    ]
    covered: ColumnElement[bool] = (
        col(Article.source_id).in_(ids)
        if by == "source"
        else col(Article.id).in_(
            select(col(ArticleEntity.article_id)).where(col(ArticleEntity.entity_id).in_(ids))
        )
    )
    in_series = _counts(session, flt, interval, where=covered)
    other = [
        total - in_series.get((p, None), 0)
        for p, total in zip(timeline.periods, timeline.counts, strict=True)
    ]
    return series, other
