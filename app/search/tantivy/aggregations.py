"""Facets and timelines counted by the search index's aggregations instead of GROUP BY.

The answers are the very ones of app/search/facets.py and app/search/timeline.py (the
suite checks both ways): terms aggregations give every value's count under the filter,
the database only names the values shown. Counts are exact: every bucket is asked for,
so nothing is estimated across index segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, TypeVar

import tantivy
from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col

from app.models import Entity, Source
from app.search.facets import MULTI_VALUED, FacetCounts, FacetValue
from app.search.filter import ArticleFilter, facet_countings
from app.search.periods import Interval, period_start
from app.search.tantivy.index import SearchIndex
from app.search.timeline import (
    EARLIEST,
    RangeTooLarge,
    Series,
    SplitBy,
    TimelineCounts,
    periods_between,
)

# Terms aggregations return this many buckets at most: more than any facet has values.
ALL_BUCKETS = 10_000_000
EPOCH = date(1970, 1, 1)
# The index field each facet counts.
FACET_FIELDS = {
    "source": "source",
    "entity": "entity",
    "entity_type": "entity_type",
    **{name: counting.field for name, counting in facet_countings().items()},
    "month": "month",
}

# The field whose values a timeline's periods are counted from.
PERIOD_FIELDS: dict[Interval, str] = {"day": "day", "week": "day", "month": "month"}
# Every dated document has a month and a day (sync.document_values); a terms aggregation
# puts the undated ones in the bucket of this value, which no date of years 1-9999 has.
UNDATED = {"month": 0, "day": (date(1, 1, 1) - EPOCH).days - 1}

# The third column _named reads: a source's id again, or an entity's type.
_Third = TypeVar("_Third")


@dataclass
class DatedMatches:
    """A filter's dated matches per month or day number (PERIOD_FIELDS), and the undated."""

    interval: Interval
    counts: dict[int, int]
    undated: int

    def first(self) -> date | None:
        """The first day of the first period with a match (None: no dated match)."""
        return self._day(min(self.counts)) if self.counts else None

    def last(self) -> date | None:
        """The first day of the last period with a match."""
        return self._day(max(self.counts)) if self.counts else None

    def _day(self, number: int) -> date:
        if self.interval == "month":
            return date(number // 12, number % 12 + 1, 1)
        return EPOCH + timedelta(days=number)

    def per_period(self) -> dict[str, int]:
        return period_keys_of(self.counts, self.interval)


class IndexCounts:
    """Counting over one searcher of the index, for one request."""

    def __init__(self, index: SearchIndex, searcher: tantivy.Searcher, session: Session) -> None:
        self.index = index
        self.searcher = searcher
        self.session = session

    def buckets(self, flt: ArticleFilter, field: str) -> dict[Any, int]:
        """Matching articles per value of `field` (an article counts once per value)."""
        spec = {"counts": {"terms": {"field": field, "size": ALL_BUCKETS}}}
        found = self.index.aggregate(self.searcher, flt, spec)["counts"]["buckets"]
        return {_key(bucket["key"]): int(bucket["doc_count"]) for bucket in found}

    def count(self, flt: ArticleFilter) -> int:
        return self.index.count(self.searcher, flt)

    def with_values(self, flt: ArticleFilter, field: str) -> int:
        """Matching articles with at least one value in `field` (a fast field)."""
        query = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, self.index.compile(flt, None)),
                (tantivy.Occur.Must, tantivy.Query.exists_query(field)),
            ]
        )
        result = self.searcher.search(query, 1, count=True)
        return int(result.count)  # type: ignore[attr-defined]  # tantivy's stub omits count

    # -- facets ----------------------------------------------------------------------

    def facet(self, flt: ArticleFilter, name: str, size: int, total: int) -> FacetCounts:
        counts = self.buckets(flt, FACET_FIELDS[name])
        values = self.top(name, counts, size)
        pairs = sum(counts.values())
        if name in MULTI_VALUED:
            missing = total - self.with_values(flt, FACET_FIELDS[name])
        else:
            missing = total - pairs
        return FacetCounts(
            values=values,
            other_count=pairs - sum(value.count for value in values),
            distinct=len(counts),
            missing=missing,
        )

    def top(self, name: str, counts: dict[Any, int], size: int) -> list[FacetValue]:
        """The `size` biggest values, ties by value then id (as the database orders them)."""
        if not counts:
            return []
        smallest = sorted(counts.values(), reverse=True)[:size][-1]
        candidates = [key for key, n in counts.items() if n >= smallest]
        values = self._values(name, candidates, counts)
        values.sort(key=lambda v: (-v.count, v.value, v.id if v.id is not None else 0))
        return values[:size]

    def _values(self, name: str, keys: Sequence[Any], counts: dict[Any, int]) -> list[FacetValue]:
        if name == "source":
            rows = self._named(
                select(col(Source.id), col(Source.name), col(Source.id)), col(Source.id), keys
            )
            return [FacetValue(value=n, count=counts[i], id=i) for i, n, _ in rows]
        if name == "entity":
            entities = self._named(
                select(col(Entity.id), col(Entity.name), col(Entity.type)), col(Entity.id), keys
            )
            return [FacetValue(value=n, count=counts[i], id=i, type=t) for i, n, t in entities]
        if name == "month":
            return [
                FacetValue(value=f"{int(k) // 12:04d}-{int(k) % 12 + 1:02d}", count=counts[k])
                for k in keys
            ]
        return [FacetValue(value=str(key), count=counts[key]) for key in keys]

    def _named(
        self,
        statement: Select[int | None, str, _Third],
        column: Mapped[int | None],
        keys: Sequence[Any],
    ) -> list[Row[int | None, str, _Third]]:
        rows: list[Row[int | None, str, _Third]] = []
        ids = [int(key) for key in keys]
        for start in range(0, len(ids), 10_000):
            chunk = ids[start : start + 10_000]
            rows += self.session.execute(statement.where(column.in_(chunk))).all()
        return rows

    # -- timeline --------------------------------------------------------------------

    def per_period(self, flt: ArticleFilter, interval: Interval) -> dict[str, int]:
        """Dated matches per period key: months from the month field, days and ISO weeks
        (their Monday) from the day numbers."""
        return period_keys_of(self.buckets(flt, PERIOD_FIELDS[interval]), interval)

    def dated(self, flt: ArticleFilter, interval: Interval) -> DatedMatches:
        """Matches per month or day number, and the undated ones: one terms aggregation, so
        one run of the query (min, max and a count beside it cost three times as much)."""
        field = PERIOD_FIELDS[interval]
        missing = UNDATED[field]
        spec = {"periods": {"terms": {"field": field, "size": ALL_BUCKETS, "missing": missing}}}
        found = self.index.aggregate(self.searcher, flt, spec)["periods"]["buckets"]
        counts = {int(bucket["key"]): int(bucket["doc_count"]) for bucket in found}
        undated = counts.pop(missing, 0)
        return DatedMatches(interval, counts, undated)

    def date_range(self, flt: ArticleFilter) -> tuple[date | None, date | None]:
        """The first and last matching day."""
        spec = {"first": {"min": {"field": "day"}}, "last": {"max": {"field": "day"}}}
        found = self.index.aggregate(self.searcher, flt, spec)
        if found["first"]["value"] is None:
            return None, None
        first, last = (EPOCH + timedelta(days=int(found[k]["value"])) for k in ("first", "last"))
        return first, last

    def timeline(
        self,
        flt: ArticleFilter,
        interval: Interval,
        by: SplitBy | None,
        series_size: int,
        max_periods: int,
    ) -> TimelineCounts:
        """The same TimelineCounts build_timeline gives, from aggregations."""
        found = self.dated(flt, interval)
        first, last = self._bounds(flt, found.first(), found.last())
        if first is None or last is None:
            undated = found.undated
            return TimelineCounts(interval, [], [], undated, [] if by else None, [] if by else None)
        try:
            periods = periods_between(first, last, interval, max_periods)
        except RangeTooLarge:
            if interval != "month":
                raise
            # A month number holds no day, and the refusal names the first and last day.
            first, last = self._bounds(flt, *self.date_range(flt))
            assert first is not None and last is not None
            periods_between(first, last, interval, max_periods)
            raise
        totals = found.per_period()
        counts = [totals.get(p, 0) for p in periods]
        timeline = TimelineCounts(interval, periods, counts, found.undated)
        if by is not None:
            timeline.series, timeline.other = self._split(flt, interval, by, series_size, timeline)
        return timeline

    @staticmethod
    def _bounds(
        flt: ArticleFilter, low: date | None, high: date | None
    ) -> tuple[date | None, date | None]:
        """The timeline's first and last day: from/to, else the matches' first and last."""
        given_first, given_last = flt.published_from, flt.published_to
        first = period_start(given_first, "day") if given_first else low
        last = period_start(given_last, "day") if given_last else high
        return first or last, last or first

    def _split(
        self,
        flt: ArticleFilter,
        interval: Interval,
        by: SplitBy,
        size: int,
        timeline: TimelineCounts,
    ) -> tuple[list[Series], list[int]]:
        dated = replace(flt, published_from=flt.published_from or EARLIEST)
        counts = self.buckets(dated, FACET_FIELDS[by])
        top = self.top(by, counts, size)
        series = []
        for value in top:
            assert value.id is not None
            per_period = self.per_period(narrowed(flt, by, [value.id]), interval)
            counts_in = [per_period.get(p, 0) for p in timeline.periods]
            series.append(Series(value.value, value.id, value.count, counts_in))
        ids = [value.id for value in top if value.id is not None]
        covered = self.per_period(narrowed(flt, by, ids), interval) if ids else {}
        other = [
            total - covered.get(p, 0)
            for p, total in zip(timeline.periods, timeline.counts, strict=True)
        ]
        return series, other


def period_keys_of(buckets: dict[Any, int], interval: Interval) -> dict[str, int]:
    """Counts per month number (year * 12 + month - 1) or day number (since 1970-01-01) as
    counts per period key; a week is keyed by its Monday."""
    if interval == "month":
        return {f"{m // 12:04d}-{m % 12 + 1:02d}": n for m, n in buckets.items()}
    totals: dict[int, int] = {}
    for day, n in buckets.items():
        start = day - (day + 3) % 7 if interval == "week" else day  # 1970-01-01: Thursday
        totals[start] = totals.get(start, 0) + n
    return {(EPOCH + timedelta(days=day)).isoformat(): n for day, n in totals.items()}


def _key(value: Any) -> Any:
    """Numeric bucket keys come back as floats; the ids and day numbers they are, as ints."""
    return int(value) if isinstance(value, float) else value


def narrowed(flt: ArticleFilter, by: SplitBy, ids: list[int]) -> ArticleFilter:
    """The filter, further narrowed to articles of one of these sources or entities."""
    if by == "source":
        allowed = ids if flt.source_ids is None else [i for i in ids if i in flt.source_ids]
        return replace(flt, source_ids=allowed)
    return replace(flt, entity_groups=[*flt.entity_groups, ids])
