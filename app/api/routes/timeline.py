"""/timeline: matching articles per day, week or month, optionally split by source or entity."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import SearchDep, SettingsDep
from app.api.errors import ApiError
from app.api.filters import ArticleFilterDep
from app.api.routes.articles import ERRORS as FILTER_ERRORS
from app.schemas import ErrorResponse, Timeline
from app.search.periods import Interval
from app.search.timeline import RangeTooLarge, SplitBy

router = APIRouter(tags=["articles"])


@router.get(
    "/timeline",
    response_model=Timeline,
    responses={
        **FILTER_ERRORS,
        400: {"model": ErrorResponse, "description": "Unparseable q, or too many periods."},
    },
    summary="Article counts over time",
)
def timeline(
    search: SearchDep,
    settings: SettingsDep,
    flt: ArticleFilterDep,
    interval: Annotated[
        Interval,
        Query(description="day, week (ISO: Monday to Sunday) or month; in UTC."),
    ] = "day",
    by: Annotated[
        SplitBy | None,
        Query(description="Split into one series per source or per entity (the biggest)."),
    ] = None,
    series_size: Annotated[
        int, Query(ge=1, le=50, description="How many series `by` returns; the rest is `other`.")
    ] = 5,
) -> Timeline:
    """Matching articles (every /articles filter applies) per period, zero periods included.

    The periods run from the first to the last matching publication date, or over from/to
    when given. Undated articles are counted in `undated`. A range of more periods than the
    server allows (10,000 by default, e.g. 27 years of days) is refused with 400: ask for
    weeks or months, or narrow from/to.

    Example: `/timeline?q=Taliban&interval=week&by=source`.
    """
    try:
        found = search.timeline(flt, interval, by, series_size)
    except RangeTooLarge as error:
        raise ApiError(
            400, "range_too_large", str(error), {"max_periods": settings.timeline_max_periods}
        ) from None
    return Timeline.model_validate({**asdict(found), "total": sum(found.counts) + found.undated})
