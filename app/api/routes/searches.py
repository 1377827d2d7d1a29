"""/searches: saved searches, the articles each matched, its Atom feed and its webhook
deliveries; with an API key, POST and DELETE keep and drop them (as `newsdesk searches`)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from sqlmodel import Session

from app.api.deps import PageSizeDep, SessionDep, SettingsDep
from app.api.errors import ApiError
from app.api.routes.admin import KEY_ERRORS, WriterSessionDep
from app.api.routes.feeds import atom_response
from app.api.routing import ApiRoute
from app.api.security import ApiKeyDep
from app.api.summaries import summarize
from app.config import Settings
from app.models import MAX_ID, SavedSearch, SearchSpike, WebhookDelivery
from app.monitor.queries import saved_filter
from app.monitor.searches import (
    add_search,
    recent_deliveries,
    recorded_matches,
    remove_search,
    saved_search,
    saved_searches,
)
from app.monitor.volume import alert_of, last_spike
from app.schemas import (
    ArticleSummary,
    DeliveryAttempt,
    DeliveryList,
    DeliveryOut,
    ErrorResponse,
    SavedSearchIn,
    SavedSearchList,
    SavedSearchOut,
    SearchMatchItem,
    SearchMatchPage,
    SearchSpikeOut,
)
from app.search.filter import ArticleFilter, Hit
from app.search.text import Highlight

router = APIRouter(route_class=ApiRoute, tags=["searches"])
# Included only when an API key is configured, as the admin router is.
write_router = APIRouter(
    route_class=ApiRoute, tags=["searches"], dependencies=[ApiKeyDep], responses=KEY_ERRORS
)

SearchId = Annotated[int, Path(ge=1, le=MAX_ID, description="The saved search's id.", examples=[1])]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No saved search with this id."}
}
MARKS = Highlight("<mark>", "</mark>")


def match_summaries(
    session: Session, settings: Settings, search: SavedSearch, hits: list[Hit]
) -> list[ArticleSummary]:
    """Matches as /articles items, their snippets highlighting the search's q."""
    flt = saved_filter(session, settings, search.query) or ArticleFilter()
    return summarize(
        session, settings.snippet_tokens, flt, hits, MARKS, window=settings.snippet_window_chars
    )


def search_out(
    search: SavedSearch, secret: str | None = None, spike: SearchSpike | None = None
) -> SavedSearchOut:
    """The API's view of a saved search; the secret only when it was just made."""
    assert search.id is not None  # a stored row
    return SavedSearchOut(
        alert=alert_of(search),
        last_spike=SearchSpikeOut.model_validate(spike, from_attributes=True) if spike else None,
        id=search.id,
        name=search.name,
        query=search.query,
        webhook_url=search.webhook_url,
        webhook_secret=secret,
        webhook_failing_since=search.webhook_failing_since,
        created_at=search.created_at,
    )


@router.get("/searches", response_model=SavedSearchList, summary="Saved searches")
def list_searches(session: SessionDep) -> SavedSearchList:
    """Every saved search, oldest first (webhook secrets are never shown again)."""
    return SavedSearchList(items=[search_out(s) for s in saved_searches(session)])


# Declared before /searches/{search_id}, which would otherwise take "3.atom" for an id.
@router.get(
    "/searches/{search_id}.atom",
    response_class=Response,
    responses={
        **NOT_FOUND,
        200: {
            "description": "An Atom 1.0 feed.",
            "content": {"application/atom+xml": {"schema": {"type": "string"}}},
        },
    },
    summary="A saved search's matches as an Atom feed",
)
def search_feed(
    request: Request,
    search_id: SearchId,
    session: SessionDep,
    settings: SettingsDep,
    limit: PageSizeDep,
) -> Response:
    """The newest articles the search matched, newest match first, as Atom 1.0."""
    search = saved_search(session, search_id)
    found = recorded_matches(session, search_id, None, limit)
    hits = [hit for _, _, hit in found]
    items = match_summaries(session, settings, search, hits)
    return atom_response(request, f"Newsdesk: {search.name}", hits, items)


@router.get(
    "/searches/{search_id}",
    response_model=SavedSearchOut,
    responses=NOT_FOUND,
    summary="One saved search",
)
def get_search(search_id: SearchId, session: SessionDep) -> SavedSearchOut:
    """The search's name, query, webhook (its secret is shown only when created), alert
    settings and the last day its count spiked."""
    return search_out(saved_search(session, search_id), spike=last_spike(session, search_id))


@router.get(
    "/searches/{search_id}/articles",
    response_model=SearchMatchPage,
    responses={
        **NOT_FOUND,
        400: {"model": ErrorResponse, "description": "Not a cursor of this listing."},
    },
    summary="The articles a saved search matched",
)
def search_articles(
    search_id: SearchId,
    session: SessionDep,
    settings: SettingsDep,
    limit: PageSizeDep,
    cursor: Annotated[
        str | None, Query(description="next_cursor from the previous page.", max_length=20)
    ] = None,
) -> SearchMatchPage:
    """Each article the search matched, once, newest match first, as /articles lists it, with
    when it matched."""
    search = saved_search(session, search_id)
    before = _match_cursor(cursor)
    found = recorded_matches(session, search_id, before, limit + 1)
    more = len(found) > limit
    found = found[:limit]
    items = match_summaries(session, settings, search, [hit for _, _, hit in found])
    return SearchMatchPage(
        items=[
            SearchMatchItem(**item.model_dump(), matched_at=matched_at)
            for item, (_, matched_at, _) in zip(items, found, strict=True)
        ],
        next_cursor=str(found[-1][0]) if more else None,
    )


def _match_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or not 1 <= int(cursor) <= MAX_ID:
        raise ApiError(400, "invalid_cursor", "cursor: not a next_cursor of this listing")
    return int(cursor)


@router.get(
    "/searches/{search_id}/deliveries",
    response_model=DeliveryList,
    responses=NOT_FOUND,
    summary="A saved search's webhook deliveries",
)
def search_deliveries(search_id: SearchId, session: SessionDep, limit: PageSizeDep) -> DeliveryList:
    """The newest deliveries of the search's webhook: state, and each attempt's time, HTTP
    status and error."""
    saved_search(session, search_id)
    return DeliveryList(
        items=[_delivery_out(d) for d in recent_deliveries(session, search_id, limit)]
    )


def _delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    body = json.loads(delivery.payload)
    return DeliveryOut(
        delivery_id=delivery.delivery_id,
        type=body["type"],
        state=delivery.state,  # type: ignore[arg-type]  # one of the states deliveries.py sets
        articles=len(body.get("articles", [])),
        created_at=delivery.created_at,
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=delivery.delivered_at,
        attempts=[DeliveryAttempt.model_validate(a) for a in delivery.attempts],
    )


@write_router.post(
    "/searches",
    response_model=SavedSearchOut,
    status_code=201,
    responses={
        400: {"model": ErrorResponse, "description": "The query's q does not parse."},
        404: {
            "model": ErrorResponse,
            "description": "The query names an unknown source or entity.",
        },
    },
    summary="Save a search (API key)",
)
def create_search(
    body: SavedSearchIn, session: WriterSessionDep, settings: SettingsDep
) -> SavedSearchOut:
    """As `newsdesk searches add`: the query is checked as /articles checks it; the webhook
    secret, generated when absent, is in this answer only."""
    search, secret = add_search(
        session,
        settings,
        body.name,
        body.query,
        body.webhook_url,
        body.webhook_secret,
        alert=body.alert,
    )
    session.commit()
    session.refresh(search)
    return search_out(search, secret)


@write_router.delete(
    "/searches/{search_id}",
    response_model=SavedSearchOut,
    responses=NOT_FOUND,
    summary="Delete a saved search (API key)",
)
def delete_search(search_id: SearchId, session: WriterSessionDep) -> SavedSearchOut:
    """As `newsdesk searches remove ID`: the search, its matches and deliveries go; the
    articles stay."""
    removed = search_out(remove_search(session, search_id))
    session.commit()
    return removed
