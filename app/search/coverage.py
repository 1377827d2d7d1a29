"""Coverage analytics over timelines: shares of everything published, several queries on one
period axis, spikes.

Everything here is built from SearchService.timeline, so every engine answers it exactly as
it answers /timeline, and the engines agree as they do there.

The share's denominator is everything published under the filters that say where, when and
in what language an article appeared: source, from/to, language, duplicates (and NewsAPI's
domains). The filters on what an article says (q and search_in, entity, entity_any,
entity_type, tag, author) are dropped. A share is therefore never above 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time

from app.search.filter import ArticleFilter
from app.search.periods import Interval, key_start, period_last_day
from app.search.service import SearchService
from app.search.spikes import SpikeRule, flag_spikes
from app.search.timeline import TimelineCounts, periods_between


def share_base(flt: ArticleFilter) -> ArticleFilter:
    """The filter of a share's denominator: where and when, not what (module docstring)."""
    return ArticleFilter(
        source_ids=flt.source_ids,
        published_from=flt.published_from,
        published_to=flt.published_to,
        languages=flt.languages,
        exclude_duplicates=flt.exclude_duplicates,
        domains=flt.domains,
        exclude_domains=flt.exclude_domains,
        up_to_id=flt.up_to_id,
    )


def aligned(timeline: TimelineCounts, periods: Sequence[str]) -> list[int]:
    """A timeline's counts laid over `periods` (a range holding every one of its periods)."""
    counts = dict(zip(timeline.periods, timeline.counts, strict=True))
    return [counts.get(period, 0) for period in periods]


def denominators(
    search: SearchService, flt: ArticleFilter, interval: Interval, periods: Sequence[str]
) -> list[int]:
    """Per period, every article under share_base(flt) (the periods of flt's timeline),
    kept until the archive changes: a repeated request counts only its numerators."""
    if not periods:
        return []
    base = share_base(flt)
    # Without from/to the denominator is counted over the numerator's periods only, so an
    # archive decades longer than the query's matches is not laid out period by period.
    first = datetime.combine(key_start(periods[0]), time.min, tzinfo=UTC)
    last_day = period_last_day(key_start(periods[-1]), interval)
    last = datetime.combine(last_day, time.max, tzinfo=UTC)
    base = replace(
        base, published_from=base.published_from or first, published_to=base.published_to or last
    )
    return aligned(search.archive_timeline(base, interval), periods)


def shares(counts: Sequence[int], totals: Sequence[int]) -> list[float | None]:
    """count / total per period; None where nothing at all was published."""
    return [c / t if t else None for c, t in zip(counts, totals, strict=True)]


@dataclass
class ComparedSeries:
    """One named query's counts on the comparison's period axis."""

    name: str
    counts: list[int]
    total: int
    undated: int
    denominators: list[int] | None = None
    shares: list[float | None] | None = None
    spikes: list[bool] | None = None


@dataclass
class Comparison:
    interval: Interval
    periods: list[str]
    series: list[ComparedSeries]


def compare(
    search: SearchService,
    queries: Sequence[tuple[str, ArticleFilter]],
    interval: Interval,
    share: bool = False,
    spikes: SpikeRule | None = None,
) -> Comparison:
    """Each query's timeline on one axis: from the earliest to the latest period of any.

    RangeTooLarge when one query's range, or the axis, has too many periods.
    """
    # Kept until the archive changes, as the denominators are: a dashboard asks the same again.
    timelines = [search.archive_timeline(flt, interval) for _, flt in queries]
    ranged = [t for t in timelines if t.periods]
    periods: list[str] = []
    if ranged:
        first = key_start(min(t.periods[0] for t in ranged))
        last = key_start(max(t.periods[-1] for t in ranged))
        periods = periods_between(first, last, interval, search.settings.timeline_max_periods)
    series = []
    # Queries differing only in what articles say share one denominator: counted once.
    counted: list[tuple[ArticleFilter, list[int]]] = []
    for (name, flt), timeline in zip(queries, timelines, strict=True):
        counts = aligned(timeline, periods)
        found = ComparedSeries(name, counts, sum(counts) + timeline.undated, timeline.undated)
        if share:
            base = share_base(flt)
            known = next((totals for other, totals in counted if other == base), None)
            if known is None:
                known = denominators(search, flt, interval, periods)
                counted.append((base, known))
            found.denominators = known
            found.shares = shares(counts, found.denominators)
        if spikes is not None:
            found.spikes = flag_spikes(counts, spikes)
        series.append(found)
    return Comparison(interval, periods, series)
