"""NewsAPI's request parameters, read and checked: names in any case, errors in NewsAPI's codes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import Request
from sqlmodel import Session

from app.api.filters import end_of, parse_query_within, start_of
from app.config import Settings
from app.search.filter import ArticleFilter, Sort
from app.search.newsapi import resolve_source_refs
from app.search.query import And, Query
from app.search.text import SearchIn

# NewsAPI's categories that name a tag differently in common corpora (the BBC's: sport, tech).
CATEGORY_TAGS = {"sports": ["sports", "sport"], "technology": ["technology", "tech"]}
_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
_SEARCH_IN: dict[frozenset[str], SearchIn] = {
    frozenset({"title"}): "title",
    frozenset({"description"}): "body",
    frozenset({"content"}): "body",
    frozenset({"description", "content"}): "body",
}
MAX_OFFSET = 2**62  # SQLite's OFFSET is a 64-bit integer


class NewsApiError(Exception):
    """A request NewsAPI would refuse: its error code and a message saying what to change."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def invalid(name: str, message: str) -> NewsApiError:
    return NewsApiError("parameterInvalid", f"{name}: {message}")


@dataclass
class Params:
    """Query parameters by lower-cased name (the last value of a repeated one)."""

    values: dict[str, str]

    @classmethod
    def from_request(cls, request: Request) -> Params:
        return cls({key.lower(): value for key, value in request.query_params.items()})

    def text(self, name: str) -> str | None:
        value = self.values.get(name.lower(), "").strip()
        return value or None

    def csv(self, name: str) -> list[str]:
        return [part.strip() for part in (self.text(name) or "").split(",") if part.strip()]

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or not low <= int(raw) <= high:
            raise invalid(name, f"expected a whole number from {low} to {high}, got {raw!r}")
        return int(raw)

    def moment(self, name: str, *, end: bool) -> datetime | None:
        """An ISO 8601 date (a whole day) or date-time (UTC without a zone)."""
        raw = self.text(name)
        if raw is None:
            return None
        try:
            value: date | datetime = (
                date.fromisoformat(raw) if len(raw) == 10 else datetime.fromisoformat(raw)
            )
            moment = end_of(value) if end else start_of(value)
            return moment.astimezone(UTC)
        except ValueError:
            message = f"expected an ISO 8601 date or date-time like 2024-05-01, got {raw!r}"
            raise invalid(name, message) from None
        except OverflowError:  # 9999-12-31 as the end of a day, or with a zone, overflows
            raise invalid(name, f"{raw!r} is out of range") from None


def search_in(params: Params) -> SearchIn:
    """NewsAPI's searchIn (title,description,content) as our search_in: our body holds both
    the description and the content."""
    fields = frozenset(field.lower() for field in params.csv("searchIn"))
    if not fields:
        return "all"
    unknown = fields - {"title", "description", "content"}
    if unknown:
        listed = ", ".join(sorted(unknown))
        raise invalid("searchIn", f"use title, description or content, not {listed}")
    return _SEARCH_IN.get(fields, "all")


def domains(params: Params, name: str) -> list[str]:
    """Bare hosts from a comma-separated list; 'https://www.bbc.co.uk/' means bbc.co.uk."""
    hosts: list[str] = []
    for value in params.csv(name):
        host = value.lower().split("://", 1)[-1].split("/", 1)[0].removeprefix("www.")
        if not _DOMAIN.fullmatch(host):
            raise invalid(name, f"{value!r} is not a domain like bbc.co.uk")
        hosts.append(host)
    return hosts


def text_query(
    params: Params, settings: Settings, where: SearchIn
) -> tuple[Query | None, SearchIn]:
    """q and qInTitle as one query; qInTitle alone searches titles."""
    q, in_title = params.text("q"), params.text("qInTitle")
    query = parse_query_within(q, settings) if q else None
    if in_title is None:
        return query, where
    title_query = parse_query_within(in_title, settings)
    if query is None:
        return title_query, "title"
    if where != "title":
        raise invalid(
            "qInTitle",
            "can be combined with q only when searchIn=title; put every word in q and set "
            "searchIn=title, or move the title words into qInTitle",
        )
    items = [
        *(query.items if isinstance(query, And) else [query]),
        *(title_query.items if isinstance(title_query, And) else [title_query]),
    ]
    return And(tuple(items)), "title"


def article_filter(
    session: Session, settings: Settings, params: Params, *, everything: bool = True
) -> ArticleFilter:
    """The ArticleFilter for /v2/everything's parameters (top-headlines: no dates, domains)."""
    query, where = text_query(params, settings, search_in(params))
    sources = params.csv("sources")
    flt = ArticleFilter(
        query=query,
        search_in=where,
        source_ids=resolve_source_refs(session, sources) if sources else None,
        languages=[code.lower() for code in params.csv("language")],
    )
    if everything:
        flt.published_from = params.moment("from", end=False)
        flt.published_to = params.moment("to", end=True)
        if flt.published_from and flt.published_to and flt.published_from > flt.published_to:
            raise invalid("from", "must not be later than to")
        flt.domains = domains(params, "domains")
        flt.exclude_domains = domains(params, "excludeDomains")
    return flt


def sort_order(params: Params, flt: ArticleFilter) -> Sort:
    """relevancy and popularity (we have no popularity signal) rank by relevance when there
    is a text query, else newest first; publishedAt (the default) is newest first."""
    sort_by = (params.text("sortBy") or "publishedAt").lower()
    if sort_by not in ("relevancy", "popularity", "publishedat"):
        raise invalid("sortBy", f"use relevancy, popularity or publishedAt, not {sort_by!r}")
    if sort_by != "publishedat" and flt.query is not None:
        return "relevance"
    return "-published_at"


def page_window(params: Params, settings: Settings, *, default_size: int) -> tuple[int, int]:
    """(page, pageSize); any page is allowed, however deep."""
    page_size = params.integer("pageSize", default_size, 1, settings.max_page_size)
    page = params.integer("page", 1, 1, MAX_OFFSET // page_size)
    return page, page_size


def _documented(name: str, description: str, example: str | None = None) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }
    if example is not None:
        parameter["example"] = example
    return parameter


_Q = _documented(
    "q",
    'Words (all must match; +word too), "exact phrases", prefix*, OR, NOT or -word, '
    "parentheses, as in /articles.",
    "Taliban -Ukraine",
)
_Q_IN_TITLE = _documented("qInTitle", "The same syntax, matched in titles only.")
_SOURCES = _documented(
    "sources",
    "Comma-separated source ids (slugs from /v2/top-headlines/sources), names or numeric ids.",
    "the-khorasan-diary,amu-tv",
)
_LANGUAGE = _documented("language", "ISO 639-1 code(s), comma-separated.", "en")
_PAGING = [
    _documented("pageSize", "Results per page, 1 to 100."),
    _documented("page", "1-based page number; no depth limit."),
    _documented("apiKey", "Accepted and ignored (also the X-Api-Key and Authorization headers)."),
]
EVERYTHING_PARAMETERS = [
    _Q,
    _Q_IN_TITLE,
    _documented("searchIn", "Where q matches: title, description, content, comma-separated."),
    _SOURCES,
    _documented("domains", "Comma-separated domains (the source's or the URL's).", "amu.tv"),
    _documented("excludeDomains", "Comma-separated domains to leave out."),
    _documented("from", "Oldest publication date or date-time (ISO 8601).", "2024-05-01"),
    _documented("to", "Newest publication date (the whole day) or date-time.", "2024-06-30"),
    _LANGUAGE,
    _documented(
        "sortBy", "publishedAt (default, newest first), relevancy, or popularity (= relevancy)."
    ),
    *_PAGING,
]
TOP_HEADLINES_PARAMETERS = [
    _Q,
    _Q_IN_TITLE,
    _SOURCES,
    _documented("category", "An article tag, e.g. business or sports.", "business"),
    _documented("country", "Sources have no country here, so any country matches nothing."),
    _LANGUAGE,
    *_PAGING,
]
SOURCES_PARAMETERS = [
    _documented("category", "The source's most common tag."),
    _documented("language", "The source's most common language."),
    _documented("country", "Unknown for every source: any value matches nothing."),
]
