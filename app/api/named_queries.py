"""Named queries (`name:query string`), as /timeline/compare takes them: parsed and checked
into one ArticleFilter each, with 400s that name the query at fault."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Query

from app.api.errors import ApiError
from app.monitor.queries import check_query, query_filter
from app.search.filter import ArticleFilter
from app.search.query import QuerySyntaxError
from app.search.service import SearchService

QueryParam = Annotated[
    list[str],
    Query(
        description="A named query, `name:query string`: the name (letters, digits, _ . -; "
        "at most 40) then the /articles filters as a URL-encoded query string. Repeat for "
        "each query.",
        examples=[["taliban:q=Taliban", "iskp:q=ISKP%20OR%20%22Islamic%20State%20Khorasan%22"]],
    ),
]
NAME = re.compile(r"[\w.-]{1,40}")


def named_filters(search: SearchService, values: list[str]) -> list[tuple[str, str, ArticleFilter]]:
    """Each `name:query string` as (name, query string, filter); 400 for a malformed one."""
    limit = search.settings.compare_max_queries
    if len(values) > limit:
        raise ApiError(
            400,
            "too_many_queries",
            f"{len(values)} queries; /timeline/compare takes at most {limit}",
            {"max_queries": limit},
        )
    found: list[tuple[str, str, ArticleFilter]] = []
    for value in values:
        name, colon, text = value.partition(":")
        if not colon or not NAME.fullmatch(name):
            raise ApiError(
                400,
                "invalid_query_name",
                f"query {value[:60]!r}: write it as name:query string, the name of letters, "
                "digits, _ . or - (at most 40), e.g. taliban:q=Taliban",
            )
        if any(name == seen for seen, _, _ in found):
            raise ApiError(400, "duplicate_query_name", f"query name {name!r} is used twice")
        try:
            flt = filter_from_query_string(search, text)
        except ApiError as error:
            raise ApiError(400, "invalid_query", f"query {name}: {error.detail}") from None
        except QuerySyntaxError as error:
            extra = {"position": error.position, "hint": error.hint, "query": name}
            raise ApiError(400, "invalid_query", f"query {name}: q: {error}", extra) from None
        found.append((name, text, flt))
    return found


def filter_from_query_string(search: SearchService, text: str) -> ArticleFilter:
    """The ArticleFilter of an /articles query string ("q=Taliban&source=Amu+TV"), checked as
    a saved search's query is (app/monitor/queries.py): ApiError for an unknown parameter
    or a value of the wrong form; resolving names and parsing q raise as for /articles."""
    values: dict[str, list[str]] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        values.setdefault(key, []).append(value)
    # One value stays bare (check_query makes it a list where the parameter repeats).
    query = check_query({k: v[0] if len(v) == 1 else v for k, v in values.items()})
    return query_filter(search.session, search.settings, query)
