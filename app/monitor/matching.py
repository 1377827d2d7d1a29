"""Matching an ingest batch against every saved search.

The engine that answers /articles indexes the batch alone, once (app/search/batch.py), and
each search asks it for the batch's articles it matches: one query per search against the
batch, never a scan of the archive, so a batch costs the same however large the archive.
A pair (search, article) is recorded once, so an article updated later alerts again only if
it newly matches; the webhook delivery of a search's new matches is queued in the same
transaction, and sent later (app/monitor/deliveries.py): matching never waits on a receiver.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from app.api.summaries import summarize
from app.config import Settings
from app.db import run_retrying
from app.models import Article, SavedSearch, SearchMatch, WebhookDelivery, utc_now
from app.monitor.queries import saved_filter
from app.monitor.volume import alert_of, record_spikes, spike_delivery, spiking_days
from app.schemas import SearchAlert
from app.search.articles import hit_of, hit_statement, read_hits
from app.search.filter import ArticleFilter, Hit
from app.search.service import SearchService
from app.search.text import Highlight

log = logging.getLogger("newsdesk.monitor")

EVENT_TYPE = "search.matched"
MARKS = Highlight("<mark>", "</mark>")  # as /articles marks matches by default
# Match rows per INSERT: three parameters each, well under SQLite's 32,766.
RECORD_CHUNK = 5_000


@dataclass
class MatchReport:
    searches: int = 0
    matches: int = 0
    deliveries: int = 0

    def summary(self) -> str:
        return (
            f"matched against {self.searches} saved searches: {self.matches} new matches, "
            f"{self.deliveries} webhook deliveries queued"
        )


def new_delivery_id() -> str:
    """A Standard Webhooks message id: the same on every attempt of one delivery."""
    return f"msg_{uuid.uuid4().hex}"


def match_articles(engine: Engine, settings: Settings, article_ids: list[int]) -> MatchReport:
    """Record which saved searches the articles match (pairs already recorded are kept as
    they are) and queue each search's webhook delivery of its new matches, in one
    transaction (run again from the start when a concurrent writer made it fail)."""
    ids = sorted(set(article_ids))
    if not ids:
        return MatchReport()
    return run_retrying(lambda: _match(engine, settings, ids))


def match_added_since(
    engine: Engine, settings: Settings, newest_before: int, chunk: int
) -> MatchReport:
    """Match every article stored with an id above `newest_before` (a bulk load's), `chunk`
    articles at a time (one webhook delivery per search and chunk); nothing to do, and no
    article read, while no search is saved."""
    total = MatchReport()
    with Session(engine) as session:
        if session.exec(select(func.count()).select_from(SavedSearch)).one() == 0:
            return total
        added = session.exec(
            select(col(Article.id)).where(col(Article.id) > newest_before).order_by(col(Article.id))
        ).all()
    ids = [article_id for article_id in added if article_id is not None]
    for start in range(0, len(ids), chunk):
        report = match_articles(engine, settings, ids[start : start + chunk])
        total.searches = report.searches
        total.matches += report.matches
        total.deliveries += report.deliveries
    return total


def _match(engine: Engine, settings: Settings, ids: list[int]) -> MatchReport:
    report = MatchReport()
    with Session(engine) as session:
        searches = session.exec(select(SavedSearch).order_by(col(SavedSearch.id))).all()
        if not searches:
            return report
        service = SearchService(session, settings)
        in_batch = service.batch(ids)  # indexed once, searched by every saved search
        matched: list[tuple[SavedSearch, ArticleFilter, list[int]]] = []
        for search in searches:
            flt = saved_filter(session, settings, search.query)
            if flt is None:
                log.warning("saved search %s not matched: its query no longer resolves", search.id)
                continue
            report.searches += 1
            found = in_batch.ids(flt)
            if found:
                matched.append((search, flt, found))
        fresh = _record(session, [(s.id, i) for s, _, found in matched for i in found if s.id])
        report.matches = len(fresh)
        batch: dict[int, Hit] | None = None  # the batch's rows, read once a delivery needs them
        for search, flt, found in matched:
            new = [i for i in found if (search.id, i) in fresh]
            if not new:
                continue
            alert = alert_of(search)
            batch = batch if batch is not None else _batch_hits(session, ids)
            new_hits = newest_first([batch[i] for i in new if i in batch])
            if alert.on_match and search.webhook_url:
                session.add(_delivery(session, settings, search, flt, new_hits))
                report.deliveries += 1
            if alert.on_volume:
                report.deliveries += _volume(session, service, search, flt, alert, new_hits)
        session.commit()
    return report


def _volume(
    session: Session,
    service: SearchService,
    search: SavedSearch,
    flt: ArticleFilter,
    alert: SearchAlert,
    new_hits: list[Hit],
) -> int:
    """Record the spikes on the days the new matches were published, and queue one delivery
    per spike first seen; how many were queued."""
    days = {
        hit.article.published_at.astimezone(UTC).date()
        for hit in new_hits
        if hit.article.published_at is not None
    }
    spikes = record_spikes(session, search, alert, spiking_days(service, flt, alert, days))
    for spike in spikes:
        log.info("saved search %s spiked on %s: %s articles", search.id, spike.day, spike.count)
        if search.webhook_url:
            session.add(spike_delivery(new_delivery_id(), search, spike))
    return len(spikes) if search.webhook_url else 0


def _batch_hits(session: Session, ids: list[int]) -> dict[int, Hit]:
    rows = read_hits(session, hit_statement().where(col(Article.id).in_(ids)))
    return {hit.article.id: hit for hit in map(hit_of, rows)}


def newest_first(hits: list[Hit]) -> list[Hit]:
    """Newest published first (undated last), as /articles lists without q; ties by id."""
    return sorted(
        hits,
        key=lambda hit: (
            hit.article.published_at is not None,
            hit.article.published_at or 0,
            hit.article.id or 0,
        ),
        reverse=True,
    )


def _record(session: Session, pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Insert the (search, article) pairs not recorded yet, one statement compiled once and
    run over every pair (SQLAlchemy batches the rows into multi-row INSERTs; compiling a
    statement of thousands of rows costs more than running it); the pairs that were new."""
    now = utc_now()
    target: Table = SearchMatch.__table__  # type: ignore[attr-defined]  # set by table=True
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    fresh: set[tuple[int, int]] = set()
    statement = (
        insert(target).on_conflict_do_nothing().returning(target.c.search_id, target.c.article_id)
    )
    for start in range(0, len(pairs), RECORD_CHUNK):
        rows = [
            {"search_id": search_id, "article_id": article_id, "matched_at": now}
            for search_id, article_id in pairs[start : start + RECORD_CHUNK]
        ]
        fresh.update((int(a), int(b)) for a, b in session.execute(statement, rows))
    return fresh


def _delivery(
    session: Session, settings: Settings, search: SavedSearch, flt: ArticleFilter, hits: list[Hit]
) -> WebhookDelivery:
    assert search.id is not None  # a stored row
    delivery_id = new_delivery_id()
    items = summarize(
        session, settings.snippet_tokens, flt, hits, MARKS, window=settings.snippet_window_chars
    )
    payload = webhook_payload(delivery_id, search, [item.model_dump(mode="json") for item in items])
    return WebhookDelivery(delivery_id=delivery_id, search_id=search.id, payload=payload)


def webhook_payload(delivery_id: str, search: SavedSearch, articles: list[dict[str, Any]]) -> str:
    """The JSON body of a delivery: fixed when queued, so every attempt sends the same."""
    body = {
        "type": EVENT_TYPE,
        "delivery_id": delivery_id,
        "timestamp": utc_now().isoformat(),
        "search": {"id": search.id, "name": search.name, "query": search.query},
        "articles": articles,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
