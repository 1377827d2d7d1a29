"""Volume alerts: after a batch, did a saved search's daily count spike on a day it touched?

A search's daily count is the number of its matches published that day (UTC), counted by the
search service's timeline (the /timeline?by=day answer for its query), never by reading rows
here. A day is a spike by the rule of /timeline?spikes=true (app/search/spikes.py) with the
search's own window, threshold and minimum count. Each (search, day) spike is recorded once,
in the batch's transaction, so a later batch of the same day alerts no second time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.models import SavedSearch, SearchSpike, WebhookDelivery, utc_now
from app.schemas import SearchAlert
from app.search.filter import ArticleFilter
from app.search.service import SearchService
from app.search.spikes import SpikeRule, flag_spikes, trailing_stats

EVENT_TYPE = "search.volume_spike"
# Days of a batch counted by one timeline query (with the window, well under its period limit).
GROUP_DAYS = 366


@dataclass(frozen=True)
class DaySpike:
    day: date
    count: int
    mean: float
    stddev: float


def alert_of(search: SavedSearch) -> SearchAlert:
    """The search's alert settings (a search saved without them alerts on each match)."""
    return SearchAlert.model_validate(search.alert or {})


def spiking_days(
    service: SearchService, flt: ArticleFilter, alert: SearchAlert, days: set[date]
) -> list[DaySpike]:
    """Of `days`, those whose count spikes: each with its count and its window's mean and
    standard deviation. One timeline query per year of days (with their trailing window),
    so a batch of old articles spread over decades stays within the timeline's limit."""
    spikes: list[DaySpike] = []
    group: set[date] = set()
    for day in sorted(days):
        if group and (day - min(group)).days >= GROUP_DAYS:
            spikes += _spiking_days(service, flt, alert, group)
            group = set()
        group.add(day)
    if group:
        spikes += _spiking_days(service, flt, alert, group)
    return spikes


def _spiking_days(
    service: SearchService, flt: ArticleFilter, alert: SearchAlert, days: set[date]
) -> list[DaySpike]:
    first = datetime.combine(min(days) - timedelta(days=alert.window), time.min, UTC)
    last = datetime.combine(max(days), time.max, UTC)
    low = max(first, flt.published_from) if flt.published_from else first
    high = min(last, flt.published_to) if flt.published_to else last
    if low > high:
        return []
    found = service.timeline(replace(flt, published_from=low, published_to=high), "day", None, 1)
    # Days before the query's own `from` count 0: the search matches nothing on them.
    by_day = dict(zip(found.periods, found.counts, strict=True))
    days_in_span = (last.date() - first.date()).days + 1
    span = [first.date() + timedelta(days=i) for i in range(days_in_span)]
    counts = [by_day.get(day.isoformat(), 0) for day in span]
    rule = SpikeRule(alert.window, alert.threshold, alert.min_count)
    flags = flag_spikes(counts, rule)
    spikes = []
    for i, day in enumerate(span):
        if day in days and flags[i]:
            mean, stddev = trailing_stats(counts[i - alert.window : i])
            spikes.append(DaySpike(day, counts[i], mean, stddev))
    return spikes


def record_spikes(
    session: Session, search: SavedSearch, alert: SearchAlert, spikes: list[DaySpike]
) -> list[SearchSpike]:
    """Record the spikes not recorded yet (one statement); those that were new."""
    if not spikes:
        return []
    assert search.id is not None  # a stored row
    target: Table = SearchSpike.__table__  # type: ignore[attr-defined]  # set by table=True
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    now = utc_now()
    rows = [
        {
            "search_id": search.id,
            "day": spike.day,
            "count": spike.count,
            "mean": spike.mean,
            "stddev": spike.stddev,
            "threshold": alert.threshold,
            "detected_at": now,
        }
        for spike in spikes
    ]
    statement = insert(target).values(rows).on_conflict_do_nothing().returning(target.c.id)
    fresh = [int(row_id) for (row_id,) in session.execute(statement)]
    if not fresh:
        return []
    return list(
        session.exec(
            select(SearchSpike).where(col(SearchSpike.id).in_(fresh)).order_by(col(SearchSpike.day))
        ).all()
    )


def spike_delivery(delivery_id: str, search: SavedSearch, spike: SearchSpike) -> WebhookDelivery:
    """The webhook delivery of one spike: fixed when queued, as match deliveries are."""
    assert search.id is not None  # a stored row
    body = {
        "type": EVENT_TYPE,
        "delivery_id": delivery_id,
        "timestamp": utc_now().isoformat(),
        "search": {"id": search.id, "name": search.name, "query": search.query},
        "day": spike.day.isoformat(),
        "count": spike.count,
        "mean": spike.mean,
        "stddev": spike.stddev,
        "threshold": spike.threshold,
    }
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return WebhookDelivery(delivery_id=delivery_id, search_id=search.id, payload=payload)


def last_spike(session: Session, search_id: int) -> SearchSpike | None:
    """The search's latest spiking day."""
    return session.exec(
        select(SearchSpike)
        .where(col(SearchSpike.search_id) == search_id)
        .order_by(col(SearchSpike.day).desc())
        .limit(1)
    ).first()
