"""Saved searches kept, listed and removed: shared by the API (/searches) and the CLI."""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import join
from sqlmodel import Session, col, select

from app.api.errors import ApiError
from app.config import Settings
from app.models import Article, SavedSearch, SearchMatch, SearchSpike, WebhookDelivery
from app.monitor.queries import check_query, query_filter
from app.net.addresses import RefusedTarget, Resolver, check_url, system_resolver
from app.schemas import SearchAlert
from app.search.articles import hit_of, hit_statement, read_hits
from app.search.filter import Hit

SECRET_PREFIX = "whsec_"
SECRET_BYTES = (24, 64)


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def check_secret(secret: str) -> str:
    """The secret when it is `whsec_` + base64 of 24 to 64 bytes; ApiError 422 otherwise."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True) if secret.startswith(SECRET_PREFIX) else b""
    except (binascii.Error, ValueError):
        key = b""
    low, high = SECRET_BYTES
    if not low <= len(key) <= high:
        raise ApiError(
            422,
            "invalid_parameter",
            f"webhook_secret: must be {SECRET_PREFIX} followed by the base64 of {low} to "
            f"{high} bytes; leave it out to have one generated",
        )
    return secret


def add_search(
    session: Session,
    settings: Settings,
    name: str,
    query: dict[str, Any],
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    resolve: Resolver = system_resolver,
    alert: SearchAlert | None = None,
) -> tuple[SavedSearch, str | None]:
    """Check and store a saved search (not committed); it and its webhook secret.

    The query is parsed and its names resolved as /articles would: QuerySyntaxError (400)
    for a bad q, NotFound (404) for an unknown source or entity, ApiError otherwise.
    """
    stored = check_query(query)
    query_filter(session, settings, stored)
    secret = None
    if webhook_url is not None:
        try:
            check_url(webhook_url, allow_private=settings.webhook_allow_private, resolve=resolve)
        except RefusedTarget as refused:
            raise ApiError(422, "invalid_webhook", f"webhook_url: {refused}") from None
        secret = check_secret(webhook_secret) if webhook_secret is not None else new_secret()
    elif webhook_secret is not None:
        raise ApiError(422, "invalid_parameter", "webhook_secret: given without a webhook_url")
    search = SavedSearch(
        name=name,
        query=stored,
        webhook_url=webhook_url,
        webhook_secret=secret,
        alert=(alert or SearchAlert()).model_dump(mode="json"),
    )
    session.add(search)
    session.flush()
    return search, secret


def saved_searches(session: Session) -> list[SavedSearch]:
    return list(session.exec(select(SavedSearch).order_by(col(SavedSearch.id))).all())


def saved_search(session: Session, search_id: int) -> SavedSearch:
    """The search with this id; ApiError 404 when there is none."""
    search = session.get(SavedSearch, search_id)
    if search is None:
        raise ApiError(404, "not_found", f"no saved search with id {search_id}")
    return search


def remove_search(session: Session, search_id: int) -> SavedSearch:
    """Delete a search with its matches and deliveries (not committed)."""
    search = saved_search(session, search_id)
    session.execute(delete(SearchMatch).where(col(SearchMatch.search_id) == search_id))
    session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.search_id) == search_id))
    session.execute(delete(SearchSpike).where(col(SearchSpike.search_id) == search_id))
    session.delete(search)
    return search


def recorded_matches(
    session: Session, search_id: int, before: int | None, limit: int
) -> list[tuple[int, datetime, Hit]]:
    """The search's matches, newest first, recorded before match id `before`: each match's
    id (the cursor), when it matched, and its article as a hit."""
    matched = join(SearchMatch, Article, col(Article.id) == col(SearchMatch.article_id))
    statement = (
        hit_statement(col(SearchMatch.id), col(SearchMatch.matched_at), articles=matched)
        .where(col(SearchMatch.search_id) == search_id)
        .order_by(col(SearchMatch.id).desc())
        .limit(limit)
    )
    if before is not None:
        statement = statement.where(col(SearchMatch.id) < before)
    return [(row[-2], row[-1], hit_of(row)) for row in read_hits(session, statement)]


def recent_deliveries(session: Session, search_id: int, limit: int) -> list[WebhookDelivery]:
    """The search's deliveries, newest first."""
    return list(
        session.exec(
            select(WebhookDelivery)
            .where(col(WebhookDelivery.search_id) == search_id)
            .order_by(col(WebhookDelivery.id).desc())
            .limit(limit)
        ).all()
    )
