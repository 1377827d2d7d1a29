"""The article filters every listing shares (/articles, exports, feeds, timelines)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BeforeValidator
from sqlmodel import Session

from app.api.deps import SessionDep, SettingsDep
from app.api.errors import ApiError
from app.config import Settings
from app.search.filter import ArticleFilter
from app.search.lookup import resolve_entity, resolve_source
from app.search.query import Query as TextQuery
from app.search.query import parse_query

EntityType = Literal["person", "organization", "location", "other"]


def start_of(value: date | datetime) -> datetime:
    """A date means from its first moment; naive date-times are UTC."""
    if isinstance(value, datetime):
        return in_utc(value)
    return datetime.combine(value, time.min, tzinfo=UTC)


def end_of(value: date | datetime) -> datetime:
    """A date means up to its last moment (inclusive ranges); naive date-times are UTC."""
    if isinstance(value, datetime):
        return in_utc(value)
    return datetime.combine(value, time.max, tzinfo=UTC)


def in_utc(moment: datetime) -> datetime:
    """The moment in UTC (naive is UTC); one beyond year 1 or 9999 in UTC
    (`9999-12-31T23:59:59-14:00`) is held at the nearest representable moment."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        edge = datetime.max if moment.year == datetime.max.year else datetime.min
        return edge.replace(tzinfo=UTC)


def read_moment(value: Any) -> Any:
    """A date-time stays a moment even at midnight. Left to the `date | datetime` union,
    pydantic reads "2024-05-01T00:00:00+02:00" as the day 2024-05-01 (a date accepts a
    date-time at midnight), dropping its time and zone; NewsAPI's from/to read it as here."""
    if isinstance(value, str) and len(value) > 10:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value  # refused by the union with the usual 422
    return value


async def article_filter(
    session: SessionDep,
    settings: SettingsDep,
    q: Annotated[
        str | None,
        Query(
            description='Full-text query: words (all must match), "exact phrases", prefix*, '
            "OR, NOT or -word, parentheses. Case- and accent-insensitive.",
            examples=['Taliban "full-fledged relations" -Ukraine'],
            max_length=10_000,
        ),
    ] = None,
    search_in: Annotated[
        Literal["all", "title", "body"],
        Query(description="Where q must match: title, body, or either (all)."),
    ] = "all",
    source: Annotated[
        list[str] | None,
        Query(
            description="Source name or id; repeat for any of several sources.",
            examples=["The Khorasan Diary"],
        ),
    ] = None,
    published_from: Annotated[
        date | datetime | None,
        BeforeValidator(read_moment),
        Query(
            alias="from",
            description="Published on or after this ISO 8601 date or date-time (UTC if no zone).",
            examples=["2024-05-01"],
        ),
    ] = None,
    published_to: Annotated[
        date | datetime | None,
        BeforeValidator(read_moment),
        Query(
            alias="to",
            description="Published on or before this date (the whole day) or date-time.",
            examples=["2024-06-30"],
        ),
    ] = None,
    entity: Annotated[
        list[str] | None,
        Query(
            description="Entity id, canonical name or alias (any case or accents); repeat to "
            "require all of several entities.",
            examples=["Vladimir Putin"],
        ),
    ] = None,
    entity_any: Annotated[
        list[str] | None,
        Query(description="Articles mentioning any of these entities.", examples=["Shoigu"]),
    ] = None,
    entity_type: Annotated[
        list[EntityType] | None,
        Query(description="Articles mentioning at least one entity of this type."),
    ] = None,
    language: Annotated[
        list[str] | None,
        Query(description="ISO 639-1 language code; repeat for any of several.", examples=["en"]),
    ] = None,
    tag: Annotated[
        list[str] | None,
        Query(
            description="Articles carrying this tag (e.g. a corpus category).", examples=["tech"]
        ),
    ] = None,
    author: Annotated[
        list[str] | None,
        Query(
            description="Articles by this author: the whole byline, in any case; repeat for "
            "any of several.",
            examples=["Jane Doe"],
        ),
    ] = None,
    duplicates: Annotated[
        Literal["include", "exclude"],
        Query(description="exclude hides near-duplicates of an earlier article."),
    ] = "include",
) -> ArticleFilter:
    """Parse and resolve the shared filters; unknown names answer 404 with suggestions.

    Names of sources and entities are looked up in a worker thread; a filter without any
    is built on the event loop (it needs no database).
    """
    given = FilterParameters(
        q=q,
        search_in=search_in,
        source=source,
        published_from=published_from,
        published_to=published_to,
        entity=entity,
        entity_any=entity_any,
        entity_type=entity_type,
        language=language,
        tag=tag,
        author=author,
        duplicates=duplicates,
    )
    if source or entity or entity_any:
        return await run_in_threadpool(resolve_filter, session, settings, given)
    return resolve_filter(session, settings, given)


@dataclass(frozen=True)
class FilterParameters:
    """article_filter's parameters as the request gave them (names not yet looked up)."""

    q: str | None = None
    search_in: Literal["all", "title", "body"] = "all"
    source: list[str] | None = None
    published_from: date | datetime | None = None
    published_to: date | datetime | None = None
    entity: list[str] | None = None
    entity_any: list[str] | None = None
    entity_type: list[EntityType] | None = None
    language: list[str] | None = None
    tag: list[str] | None = None
    author: list[str] | None = None
    duplicates: Literal["include", "exclude"] = "include"


def resolve_filter(session: Session, settings: Settings, given: FilterParameters) -> ArticleFilter:
    """The filter the parameters mean, names of sources and entities looked up in the
    database (NotFound for an unknown one); ApiError or QuerySyntaxError for a bad value."""
    q = given.q
    if q is not None and len(q) > settings.max_query_length:
        raise ApiError(
            400,
            "query_too_long",
            f"q is {len(q)} characters; the limit is {settings.max_query_length}",
        )
    published_from = start_of(given.published_from) if given.published_from is not None else None
    published_to = end_of(given.published_to) if given.published_to is not None else None
    if published_from and published_to and published_from > published_to:
        raise ApiError(422, "invalid_parameter", "from: must not be later than to")
    groups = [resolve_entity(session, value) for value in given.entity or []]
    if given.entity_any:
        groups.append(
            sorted({i for value in given.entity_any for i in resolve_entity(session, value)})
        )
    return ArticleFilter(
        query=parse_query_within(q, settings) if q and q.strip() else None,
        search_in=given.search_in,
        source_ids=[resolve_source(session, value) for value in given.source]
        if given.source
        else None,
        published_from=published_from,
        published_to=published_to,
        entity_groups=groups,
        entity_types=list(given.entity_type or []),
        languages=[code.lower() for code in given.language or []],
        tags=list(given.tag or []),
        authors=list(given.author or []),
        exclude_duplicates=given.duplicates == "exclude",
    )


def parse_query_within(text: str, settings: Settings) -> TextQuery:
    """parse_query under the settings' limits on length, words and prefixes."""
    return parse_query(
        text,
        max_length=settings.max_query_length,
        max_words=settings.max_query_words,
        max_prefixes=settings.max_query_prefixes,
    )


ArticleFilterDep = Annotated[ArticleFilter, Depends(article_filter)]
