"""NewsAPI-compatible endpoints: scripts written for newsapi.org work unchanged, with no result cap.

Parameters are read by name in any case (the official Python client sends `qintitle`) and
checked here, so a bad request gets NewsAPI's error shape {status, code, message} with HTTP 400,
never FastAPI's 422 shape; so does a query over the time limit (503 queryTimeout). apiKey,
X-Api-Key and Authorization are accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from app.api.deps import SearchDep, SessionDep, SettingsDep
from app.api.errors import ApiError, describe_validation_error
from app.api.newsapi_params import (
    CATEGORY_TAGS,
    EVERYTHING_PARAMETERS,
    SOURCES_PARAMETERS,
    TOP_HEADLINES_PARAMETERS,
    NewsApiError,
    Params,
    article_filter,
    page_window,
    sort_order,
)
from app.api.routing import ApiRoute
from app.schemas import (
    NewsApiArticle,
    NewsApiArticles,
    NewsApiErrorBody,
    NewsApiSource,
    NewsApiSourceRef,
    NewsApiSources,
)
from app.search.filter import ArticleFilter, Hit, Sort
from app.search.limits import is_time_limit_error
from app.search.lookup import NotFound
from app.search.newsapi import SourceProfile, source_profiles, source_slugs
from app.search.query import QuerySyntaxError
from app.search.service import SearchService


def error_body(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"status": "error", "code": code, "message": message}
    )


class NewsApiRoute(ApiRoute):
    """A route whose request errors are answered in NewsAPI's error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except NewsApiError as error:
                return error_body(400, error.code, error.message)
            except QuerySyntaxError as error:
                return error_body(400, "parameterInvalid", f"q: {error}")
            except NotFound as error:
                return error_body(400, "sourceDoesNotExist", str(error))
            except RequestValidationError as error:
                message = "; ".join(describe_validation_error(e) for e in error.errors())
                return error_body(400, "parameterInvalid", message)
            except ApiError as error:
                return error_body(error.status, camel_case(error.code), error.detail)
            except DBAPIError as error:
                # Anything else goes on to the session dependency and the app's handlers,
                # which answer in /articles' shape (503 for a database that can't answer).
                if not is_time_limit_error(error):
                    raise
                message = "the query took longer than the time limit; narrow it or try again"
                return error_body(503, "queryTimeout", message)

        return handle


def camel_case(code: str) -> str:
    """Our error codes in NewsAPI's style: query_timeout → queryTimeout."""
    first, *rest = code.split("_")
    return first + "".join(word.capitalize() for word in rest)


router = APIRouter(prefix="/v2", tags=["newsapi"], route_class=NewsApiRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": NewsApiErrorBody, "description": "A parameter is invalid or unknown."}
}


def published_stamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as NewsAPI writes dates."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def newsapi_article(hit: Hit, slugs: dict[int, str]) -> NewsApiArticle:
    article, source = hit.article, hit.source
    return NewsApiArticle(
        source=NewsApiSourceRef(
            id=slugs.get(source.id) if source and source.id is not None else None,
            name=source.name if source else None,
        ),
        author=article.author,
        title=article.title,
        description=article.subtitle or article.lede,
        url=article.url,
        urlToImage=None,
        publishedAt=published_stamp(article.published_at),
        content=article.body,
    )


def article_page(
    search: SearchService, flt: ArticleFilter, sort: Sort, page: int, page_size: int
) -> NewsApiArticles:
    """Page `page` of the results: an exact total, and any page however deep."""
    hits, total = search.offset_page(flt, sort, page, page_size)
    slugs = source_slugs(search.session) if any(hit.source for hit in hits) else {}
    return NewsApiArticles(
        status="ok",
        totalResults=total,
        articles=[newsapi_article(hit, slugs) for hit in hits],
    )


@router.get(
    "/everything",
    response_model=NewsApiArticles,
    responses=ERRORS,
    summary="Search every article (NewsAPI /v2/everything)",
    openapi_extra={"parameters": EVERYTHING_PARAMETERS},
)
def everything(request: Request, search: SearchDep, settings: SettingsDep) -> NewsApiArticles:
    """NewsAPI's /v2/everything: the same answers as /articles, in NewsAPI's shape, and no
    result cap: `page` goes as deep as the results do. `content` is the full body.

    Example: `/v2/everything?q=Taliban&sources=the-khorasan-diary&sortBy=relevancy`.
    """
    params = Params.from_request(request)
    flt = article_filter(search.session, settings, params)
    page, page_size = page_window(params, settings, default_size=100)
    return article_page(search, flt, sort_order(params, flt), page, page_size)


@router.get(
    "/top-headlines",
    response_model=NewsApiArticles,
    responses=ERRORS,
    summary="Newest articles (NewsAPI /v2/top-headlines)",
    openapi_extra={"parameters": TOP_HEADLINES_PARAMETERS},
)
def top_headlines(request: Request, search: SearchDep, settings: SettingsDep) -> NewsApiArticles:
    """NewsAPI's /v2/top-headlines: newest first. `category` matches article tags
    (sports and technology also match sport and tech); sources have no country here, so
    `country` matches nothing.
    """
    params = Params.from_request(request)
    category, country = params.text("category"), params.text("country")
    if params.text("sources") and (category or country):
        raise NewsApiError(
            "parameterInvalid",
            "You can't mix the sources parameter with the country or category parameters.",
        )
    flt = article_filter(search.session, settings, params, everything=False)
    if category:
        flt.tags = CATEGORY_TAGS.get(category.lower(), [category.lower()])
    if country:
        flt.source_ids = []
    page, page_size = page_window(params, settings, default_size=20)
    return article_page(search, flt, "-published_at", page, page_size)


@router.get(
    "/top-headlines/sources",
    response_model=NewsApiSources,
    responses=ERRORS,
    summary="Sources (NewsAPI /v2/top-headlines/sources)",
    openapi_extra={"parameters": SOURCES_PARAMETERS},
)
@router.get("/sources", response_model=NewsApiSources, include_in_schema=False)
def sources(request: Request, session: SessionDep) -> NewsApiSources:
    """NewsAPI's source list: `id` is the slug /v2/everything accepts in `sources`; `category`
    and `language` are the source's most common tag and language; `country` is unknown (null).
    /v2/sources (NewsAPI's old path, which newsapi-python calls) answers the same.
    """
    params = Params.from_request(request)
    category, language = params.text("category"), params.text("language")
    wanted = set(CATEGORY_TAGS.get(category.lower(), [category.lower()])) if category else None
    profiles = [
        profile
        for profile in source_profiles(session)
        if (wanted is None or profile.category in wanted)
        and (language is None or profile.language == language.lower())
        and params.text("country") is None
    ]
    return NewsApiSources(status="ok", sources=[newsapi_source(p) for p in profiles])


def newsapi_source(profile: SourceProfile) -> NewsApiSource:
    count = profile.article_count
    description = f"{count} article{'' if count == 1 else 's'} in this archive"
    if profile.domain:
        description += f" from {profile.domain}"
    return NewsApiSource(
        id=profile.slug,
        name=profile.name,
        description=description,
        url=f"https://{profile.domain}" if profile.domain else None,
        category=profile.category,
        language=profile.language,
        country=None,
    )
