"""/sources: the outlets in the archive, what is collected for each and how it is going;
with an API key, POST and DELETE manage what is collected."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path
from sqlmodel import Session

from app.api.deps import SessionDep, SettingsDep
from app.api.errors import ApiError
from app.api.routes.admin import KEY_ERRORS, WriterSessionDep
from app.api.routing import ApiRoute
from app.api.security import ApiKeyDep
from app.models import MAX_ID, CollectionSource, Source
from app.net.addresses import RefusedTarget, check_url
from app.schemas import (
    ErrorResponse,
    FeedHealth,
    FeedOut,
    SourceIn,
    SourceList,
    SourceOut,
    SourcesRemoved,
)
from app.search.catalog import sources_with_counts

router = APIRouter(route_class=ApiRoute, tags=["sources"])
# Included only when an API key is configured, as the admin router is.
write_router = APIRouter(
    route_class=ApiRoute, tags=["sources"], dependencies=[ApiKeyDep], responses=KEY_ERRORS
)
SourceId = Annotated[int, Path(ge=1, le=MAX_ID, description="The source's id.", examples=[1])]


@router.get("/sources", response_model=SourceList, summary="Sources, their feeds and health")
def list_sources(session: SessionDep) -> SourceList:
    """Every source (publisher) with its article count, most articles first, and the feeds,
    sitemaps and pages collected for it with their health."""
    from app.collect.sources import collection_sources, recent_counts

    feeds = collection_sources(session)
    counts = recent_counts(session)
    return SourceList(
        items=[
            source_out(source, count, [f for f in feeds if f.source_id == source.id], counts)
            for source, count in sources_with_counts(session)
        ]
    )


@router.get(
    "/sources/{source_id}",
    response_model=SourceOut,
    summary="One source, its feeds and health",
    responses={404: {"description": "No source with this id."}},
)
def get_source(source_id: SourceId, session: SessionDep) -> SourceOut:
    """A source with its article count, and each collected URL's last fetch and HTTP status,
    consecutive failures, next fetch, and articles added in the last 24 hours and 7 days."""
    return _source_by_id(session, source_id)


@write_router.post(
    "/sources",
    response_model=SourceOut,
    status_code=201,
    summary="Collect a URL (API key)",
    responses={409: {"model": ErrorResponse, "description": "The URL is collected already."}},
)
def add_source(body: SourceIn, session: WriterSessionDep, settings: SettingsDep) -> SourceOut:
    """As `newsdesk sources add`: the URL is read to find its kind (a feed, a sitemap, or a
    page whose advertised feeds are used) and its outlet; the answer is that source."""
    from app.collect.fetch import ALLOW_PRIVATE, Fetcher
    from app.collect.sources import SourceError, parse_interval
    from app.collect.sources import add_source as add_collection_source

    try:
        seconds = parse_interval(body.interval)
    except SourceError as error:
        raise ApiError(422, "invalid_parameter", f"interval: {error}") from None
    try:
        check_url(body.url, allow_private=settings.collect_allow_private, allowed_by=ALLOW_PRIVATE)
    except RefusedTarget as refused:
        raise ApiError(
            422, "private_address", f"url: {refused}; not fetched inside the server's own network"
        ) from None
    fetcher = Fetcher(settings)
    try:
        added = add_collection_source(
            session,
            fetcher,
            body.url,
            name=body.name,
            kind=body.kind,
            interval_seconds=seconds,
            tags=body.tags,
        )
        session.commit()
    except SourceError as error:
        session.rollback()
        code = (409, "source_exists") if error.exists else (422, "invalid_source")
        raise ApiError(*code, str(error)) from None
    finally:
        fetcher.close()
    return _source_by_id(session, added[0].source_id)


@write_router.delete(
    "/sources/{source_id}",
    response_model=SourcesRemoved,
    summary="Stop collecting a source (API key)",
    responses={
        404: {"model": ErrorResponse, "description": "Nothing is collected for this source."}
    },
)
def remove_source(source_id: SourceId, session: WriterSessionDep) -> SourcesRemoved:
    """As `newsdesk sources remove ID`: its URLs are no longer collected; its articles stay."""
    from app.collect.sources import SourceError, remove_sources

    try:
        removed = remove_sources(session, str(source_id))
        session.commit()
    except SourceError as error:
        raise ApiError(404, "not_found", str(error)) from None
    return SourcesRemoved(removed=[source.url for source in removed])


def _source_by_id(session: Session, source_id: int) -> SourceOut:
    from app.collect.sources import collection_sources, recent_counts

    for source, count in sources_with_counts(session, source_id):
        return source_out(
            source, count, collection_sources(session, source_id), recent_counts(session)
        )
    raise ApiError(404, "not_found", f"no source with id {source_id}")


def source_out(
    source: Source,
    article_count: int,
    feeds: list[CollectionSource],
    counts: tuple[dict[int, int], dict[int, int]],
) -> SourceOut:
    """The API's view of a source: its feeds with their health, and the health of all."""
    assert source.id is not None  # a stored row
    day, week = counts
    shown = [_feed_out(feed, day, week) for feed in feeds]
    return SourceOut(
        id=source.id,
        name=source.name,
        domain=source.domain,
        article_count=article_count,
        feeds=shown,
        health=_overall([feed.health for feed in shown]) if shown else None,
    )


def _feed_out(feed: CollectionSource, day: dict[int, int], week: dict[int, int]) -> FeedOut:
    from app.collect.sources import format_interval

    assert feed.id is not None
    return FeedOut(
        id=feed.id,
        url=feed.url,
        kind=feed.kind,
        title=feed.title,
        discovered_from=feed.discovered_from,
        interval=format_interval(feed.interval_seconds),
        tags=feed.tags,
        health=FeedHealth(
            last_fetch=feed.last_fetch_at,
            http_status=feed.last_status,
            last_error=feed.last_error,
            consecutive_failures=feed.consecutive_failures,
            next_fetch=feed.next_fetch_at,
            retired=feed.retired_at is not None,
            articles_24h=day.get(feed.id, 0),
            articles_7d=week.get(feed.id, 0),
        ),
    )


_NEVER = datetime.min.replace(tzinfo=UTC)


def _overall(healths: list[FeedHealth]) -> FeedHealth:
    """A source's health: its latest fetch (and that fetch's status and error), its worst
    failure count, its soonest next fetch, and its feeds' articles summed."""
    latest = max(healths, key=lambda h: h.last_fetch or _NEVER)
    active = [h for h in healths if not h.retired]
    due = [h.next_fetch for h in active]
    return FeedHealth(
        last_fetch=latest.last_fetch,
        http_status=latest.http_status,
        last_error=latest.last_error,
        consecutive_failures=max(h.consecutive_failures for h in healths),
        next_fetch=None if not active or None in due else min(d for d in due if d is not None),
        retired=not active,
        articles_24h=sum(h.articles_24h for h in healths),
        articles_7d=sum(h.articles_7d for h in healths),
    )
