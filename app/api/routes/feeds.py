"""/articles.atom: any search as an Atom 1.0 feed, newest first, for feed readers."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response

from app.api.deps import PageSizeDep, SearchDep, SettingsDep
from app.api.filters import ArticleFilterDep
from app.api.routes.articles import ERRORS as FILTER_ERRORS
from app.api.routing import ApiRoute
from app.api.summaries import summarize
from app.schemas import ArticleSummary
from app.search.filter import Hit
from app.search.text import Highlight

if TYPE_CHECKING:  # imported by the first feed asked for: lxml is some 8 MB in every worker
    from feedgen.feed import FeedGenerator

router = APIRouter(route_class=ApiRoute, tags=["articles"])

ATOM_MEDIA_TYPE = "application/atom+xml; charset=utf-8"
# Characters XML 1.0 cannot carry at all, even escaped (lxml refuses them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("", text)


def entry_id(request: Request, article_id: int) -> str:
    """A tag: URI (RFC 4151) that names the article for as long as the host keeps its name."""
    return f"tag:{request.url.hostname or 'localhost'},2024:article:{article_id}"


def add_entry(feed: FeedGenerator, request: Request, hit: Hit, item: ArticleSummary) -> None:
    entry = feed.add_entry(order="append")
    entry.id(entry_id(request, item.id))
    entry.title(xml_safe(item.title or f"Article {item.id} (untitled)"))
    link = item.url or str(request.url_for("get_article", article_id=item.id))
    entry.link(href=xml_safe(link), rel="alternate")
    entry.updated(hit.article.updated_at)
    if item.published_at is not None:
        entry.published(item.published_at)
    if item.snippet:
        # The snippet is HTML (escaped text, <mark> around matches); feedgen escapes it as XML.
        entry.summary(xml_safe(item.snippet), type="html")
    if item.author:
        entry.author({"name": xml_safe(item.author)})


@router.get(
    "/articles.atom",
    response_class=Response,
    responses={
        **FILTER_ERRORS,
        200: {
            "description": "An Atom 1.0 feed.",
            "content": {"application/atom+xml": {"schema": {"type": "string"}}},
        },
    },
    summary="Any search as an Atom feed",
)
def articles_feed(
    request: Request,
    search: SearchDep,
    limit: PageSizeDep,
    settings: SettingsDep,
    flt: ArticleFilterDep,
) -> Response:
    """The newest articles matching every /articles filter (undated ones last), as Atom 1.0.

    Example: `/articles.atom?q=Taliban&source=Amu%20TV` — subscribe to it in a feed reader.
    """
    hits, _ = search.page(flt, "-published_at", limit, None)
    marks = Highlight("<mark>", "</mark>")
    items = summarize(
        search.session,
        settings.snippet_tokens,
        flt,
        hits,
        marks,
        window=settings.snippet_window_chars,
    )
    query = request.query_params.get("q")
    title = f"Newsdesk: {query}" if query else "Newsdesk: latest articles"
    return atom_response(request, title, hits, items)


def atom_response(
    request: Request, title: str, hits: list[Hit], items: list[ArticleSummary]
) -> Response:
    """An Atom 1.0 feed of these hits (items: their summaries), identified by its own URL."""
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    feed.id(xml_safe(str(request.url)))
    feed.title(xml_safe(title))
    feed.link(href=xml_safe(str(request.url)), rel="self")
    feed.author({"name": "Newsdesk"})  # entries without an author inherit it (Atom 4.1.2)
    feed.generator("Newsdesk")
    for hit, item in zip(hits, items, strict=True):
        add_entry(feed, request, hit, item)
    newest = max((hit.article.updated_at for hit in hits), default=None)
    feed.updated(newest or datetime.now(UTC))
    return Response(content=feed.atom_str(pretty=False), media_type=ATOM_MEDIA_TYPE)
