"""/timeline: matching articles per day, week or month, optionally split by source or entity,
as shares of everything published, with spikes flagged; /timeline/compare: several named
queries on one period axis; both drawn as SVG charts (/timeline.svg, /timeline/compare.svg)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from app.api.charts import ChartSeries, line_chart
from app.api.deps import SearchDep
from app.api.errors import ApiError
from app.api.filters import ArticleFilterDep
from app.api.named_queries import QueryParam, named_filters
from app.api.routes.articles import ERRORS as FILTER_ERRORS
from app.api.routing import ApiRoute
from app.schemas import ErrorResponse, SpikeRuleOut, Timeline, TimelineComparison
from app.search.coverage import compare, denominators, shares
from app.search.filter import ArticleFilter
from app.search.periods import Interval
from app.search.service import SearchService
from app.search.spikes import SpikeRule, flag_spikes
from app.search.timeline import RangeTooLarge, SplitBy

router = APIRouter(route_class=ApiRoute, tags=["articles"])

ERRORS: dict[int | str, dict[str, Any]] = {
    **FILTER_ERRORS,
    400: {"model": ErrorResponse, "description": "Unparseable q, or too many periods."},
}
SVG: dict[int | str, dict[str, Any]] = {
    200: {"description": "An SVG line chart.", "content": {"image/svg+xml": {}}}
}

IntervalParam = Annotated[
    Interval, Query(description="day, week (ISO: Monday to Sunday) or month; in UTC.")
]
NormalizeParam = Annotated[
    Literal["share"] | None,
    Query(
        description="share: also divide each period's count by every article published in "
        "it under the same source, from/to, language and duplicates filters (the "
        "denominator, returned too; q, entity, entity_type, tag and author are dropped)."
    ),
]


async def spike_rule(
    spikes: Annotated[
        bool,
        Query(
            description="Flag periods whose count is at least spike_min_count and more than "
            "spike_threshold standard deviations above the mean of the spike_window periods "
            "before it (a period with fewer before it is never flagged)."
        ),
    ] = False,
    spike_window: Annotated[int, Query(ge=2, le=1000, description="Trailing periods.")] = 28,
    spike_threshold: Annotated[
        float, Query(ge=0, le=100, description="Standard deviations above the mean.")
    ] = 3.0,
    spike_min_count: Annotated[
        int, Query(ge=0, le=1_000_000_000, description="The smallest count flagged.")
    ] = 5,
) -> SpikeRule | None:
    """The spike rule asked for, if any (async: no I/O, so no trip through the thread pool)."""
    return SpikeRule(spike_window, spike_threshold, spike_min_count) if spikes else None


SpikeRuleDep = Annotated[SpikeRule | None, Depends(spike_rule)]


@contextmanager
def periods_within_limit(max_periods: int) -> Iterator[None]:
    try:
        yield
    except RangeTooLarge as error:
        raise ApiError(400, "range_too_large", str(error), {"max_periods": max_periods}) from None


def chart_link(request: Request) -> str:
    """The same request's chart: its path with .svg, its query string unchanged."""
    query = request.url.query
    return f"{request.url.path}.svg" + (f"?{query}" if query else "")


def _timeline(
    search: SearchService,
    flt: ArticleFilter,
    interval: Interval,
    by: SplitBy | None,
    series_size: int,
    normalize: Literal["share"] | None,
    rule: SpikeRule | None,
    chart: str,
) -> Timeline:
    with periods_within_limit(search.settings.timeline_max_periods):
        found = search.timeline(flt, interval, by, series_size)
        per_period = denominators(search, flt, interval, found.periods) if normalize else None
    # Attributes read as they are: asdict() deep-copies every period's label and count, a
    # sixth of a month-by-month timeline's own cost.
    answer = Timeline.model_validate(
        {**vars(found), "total": sum(found.counts) + found.undated, "chart": chart},
        from_attributes=True,
    )
    if per_period is not None:
        answer.normalize, answer.denominators = normalize, per_period
        answer.shares = shares(found.counts, per_period)
        for series in answer.series or []:
            series.shares = shares(series.counts, per_period)
    if rule is not None:
        answer.spikes = flag_spikes(found.counts, rule)
        answer.spike_rule = SpikeRuleOut.model_validate(asdict(rule))
    return answer


ByParam = Annotated[
    SplitBy | None,
    Query(description="Split into one series per source or per entity (the biggest)."),
]
SeriesSizeParam = Annotated[
    int, Query(ge=1, le=50, description="How many series `by` returns; the rest is `other`.")
]


@router.get(
    "/timeline", response_model=Timeline, responses=ERRORS, summary="Article counts over time"
)
def timeline(
    request: Request,
    search: SearchDep,
    flt: ArticleFilterDep,
    rule: SpikeRuleDep,
    interval: IntervalParam = "day",
    by: ByParam = None,
    series_size: SeriesSizeParam = 5,
    normalize: NormalizeParam = None,
) -> Timeline:
    """Matching articles (every /articles filter applies) per period, zero periods included.

    The periods run from the first to the last matching publication date, or over from/to
    when given. Undated articles are counted in `undated`. A range of more periods than the
    server allows (10,000 by default, e.g. 27 years of days) is refused with 400: ask for
    weeks or months, or narrow from/to. `chart` links to the same timeline as an SVG chart.

    Example: `/timeline?q=Taliban&interval=week&by=source&normalize=share&spikes=true`.
    """
    return _timeline(search, flt, interval, by, series_size, normalize, rule, chart_link(request))


@router.get(
    "/timeline.svg",
    response_class=Response,
    responses={**ERRORS, **SVG},
    summary="Article counts over time, as a chart",
)
def timeline_chart(
    search: SearchDep,
    flt: ArticleFilterDep,
    rule: SpikeRuleDep,
    interval: IntervalParam = "day",
    by: ByParam = None,
    series_size: SeriesSizeParam = 5,
    normalize: NormalizeParam = None,
) -> Response:
    """/timeline's answer (the same parameters) drawn as an SVG line chart: the total, and
    with `by` one line per series; spikes circled."""
    found = _timeline(search, flt, interval, by, series_size, normalize, rule, "")
    lines = [
        ChartSeries(
            "all matches",
            found.shares if found.shares is not None else found.counts,
            found.spikes,
        )
    ]
    for series in found.series or []:
        values = series.shares if series.shares is not None else series.counts
        lines.append(ChartSeries(series.value, values))
    return _svg(f"Articles per {interval}", found.periods, lines, normalize)


def _comparison(
    search: SearchService,
    query: list[str],
    interval: Interval,
    normalize: Literal["share"] | None,
    rule: SpikeRule | None,
    chart: str,
) -> TimelineComparison:
    named = named_filters(search, query)
    with periods_within_limit(search.settings.timeline_max_periods):
        found = compare(
            search, [(name, flt) for name, _, flt in named], interval, normalize == "share", rule
        )
    return TimelineComparison.model_validate(
        {
            "interval": interval,
            "periods": found.periods,
            "normalize": normalize,
            # vars, not asdict: asdict deep-copies every count and share one by one (half
            # of a first comparison's CPU time at 100,000 articles); validation copies anyway.
            "queries": [
                {**vars(series), "query": text}
                for series, (_, text, _) in zip(found.series, named, strict=True)
            ],
            "spike_rule": asdict(rule) if rule else None,
            "chart": chart,
        }
    )


@router.get(
    "/timeline/compare",
    response_model=TimelineComparison,
    responses=ERRORS,
    summary="Several queries' counts over time, side by side",
)
def timeline_compare(
    request: Request,
    search: SearchDep,
    query: QueryParam,
    rule: SpikeRuleDep,
    interval: IntervalParam = "day",
    normalize: NormalizeParam = None,
) -> TimelineComparison:
    """Each named query's matches per period on one axis (from the earliest to the latest
    period of any of them), counted exactly as /timeline counts them; with normalize=share
    each query's shares of its own denominator.

    Example: `/timeline/compare?query=taliban:q=Taliban&query=iskp:q=ISKP&interval=month`.
    """
    return _comparison(search, query, interval, normalize, rule, chart_link(request))


@router.get(
    "/timeline/compare.svg",
    response_class=Response,
    responses={**ERRORS, **SVG},
    summary="Several queries' counts over time, as a chart",
)
def timeline_compare_chart(
    search: SearchDep,
    query: QueryParam,
    rule: SpikeRuleDep,
    interval: IntervalParam = "day",
    normalize: NormalizeParam = None,
) -> Response:
    """/timeline/compare's answer drawn as an SVG line chart: one line per query."""
    found = _comparison(search, query, interval, normalize, rule, "")
    lines = [
        ChartSeries(q.name, q.shares if q.shares is not None else q.counts, q.spikes)
        for q in found.queries
    ]
    return _svg(f"Articles per {interval}", found.periods, lines, normalize)


def _svg(
    title: str,
    periods: list[str],
    lines: list[ChartSeries],
    normalize: Literal["share"] | None,
) -> Response:
    y_label = "share of all articles" if normalize else "articles"
    chart = line_chart(title, periods, lines, y_label, percent=normalize == "share")
    return Response(chart, media_type="image/svg+xml")
