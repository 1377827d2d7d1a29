"""Annotated dependencies, declared once and shared by the routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session

from app.api.disconnect import CLIENT_WATCH, ClientWatch
from app.api.errors import ApiError
from app.config import Settings, get_settings
from app.db import get_session
from app.models import MAX_ID
from app.observability import Metrics
from app.search.cursor import CursorCodec, codec_for
from app.search.limits import TimeLimit, is_time_limit_error
from app.search.service import SearchService

logger = logging.getLogger("newsdesk.errors")


async def current_settings() -> Settings:
    """The settings (get_settings) as a dependency. Async, as every dependency here that
    does no I/O: a plain function would cost a trip through the thread pool."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(current_settings)]
PlainSessionDep = Annotated[Session, Depends(get_session)]
ArticleId = Annotated[int, Path(ge=1, le=MAX_ID, description="The article's id.", examples=[1])]


async def time_limited_session(
    request: Request, session: PlainSessionDep, settings: SettingsDep
) -> AsyncIterator[Session]:
    """The request's session, its database work capped at settings.query_timeout_ms and
    stopped when the client goes away (app/api/disconnect.py).

    The limit is armed when the session's transaction begins, in the worker thread that
    runs its first statement: nothing here waits on the database.
    Over the limit answers 503 query_timeout; a database that can't answer at all (missing
    file or table, server down) answers 503 database_unavailable; details go to the log only.
    """
    watch = request.scope.get(CLIENT_WATCH)
    limit = TimeLimit(
        settings.query_timeout_ms,
        expired=settings.fault_expired_query_deadline,
        on_arm=watch.on_gone if isinstance(watch, ClientWatch) else None,
    )
    limit.each_transaction_of(session)
    try:
        yield session
    except PoolTimeout:
        logger.exception("no database connection free")
        raise ApiError(503, "server_busy", "the server is busy; try again shortly") from None
    except DBAPIError as error:
        if is_time_limit_error(error):
            raise ApiError(
                503,
                "query_timeout",
                f"the query took longer than the {settings.query_timeout_ms} ms limit; "
                "narrow it (fewer prefix* terms, more filters) or try again",
                {"limit_ms": settings.query_timeout_ms},
            ) from None
        if not is_unavailable(error):
            raise
        logger.exception("database error")
        raise database_unavailable() from None
    finally:
        limit.end()


def database_unavailable() -> ApiError:
    """The answer when the database can't serve at all (is_unavailable)."""
    return ApiError(
        503,
        "database_unavailable",
        "the database could not answer; try again later (the server log has details)",
    )


def is_unavailable(error: DBAPIError) -> bool:
    """The database can't serve at all (SQLite: an OperationalError; PostgreSQL: a missing
    table or column (SQLSTATE 42P01/42703), a lost connection (08) or exhausted resources (53))."""
    if isinstance(error, OperationalError):
        return True
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    return sqlstate in {"42P01", "42703"} or sqlstate.startswith(("08", "53"))


SessionDep = Annotated[Session, Depends(time_limited_session)]


def cursor_codec(session: SessionDep, settings: SettingsDep) -> CursorCodec:
    """Signs and checks cursors: with settings.cursor_secret, else the database's own key."""
    return codec_for(session, settings)


CursorCodecDep = Annotated[CursorCodec, Depends(cursor_codec)]


async def search_service(
    request: Request, session: SessionDep, settings: SettingsDep
) -> SearchService:
    """The request's searches: the service picks the engine and counts its answers in the
    app's metrics. (async: it only builds an object; a plain function would cost a trip
    through the thread pool, as every dependency that needs no I/O here.)"""
    metrics = getattr(request.app.state, "metrics", None)
    answers = metrics.search_answers if isinstance(metrics, Metrics) else None
    return SearchService(session, settings, answers)


SearchDep = Annotated[SearchService, Depends(search_service)]


PAGE_SIZE_DESCRIPTION = "Results per page."


async def page_size(
    settings: SettingsDep,
    limit: Annotated[int | None, Query(ge=1, description=PAGE_SIZE_DESCRIPTION)] = None,
) -> int:
    """The page size asked for: NEWSDESK_DEFAULT_PAGE_SIZE when absent, at most
    NEWSDESK_MAX_PAGE_SIZE (the OpenAPI document shows this server's values)."""
    if limit is None:
        return settings.default_page_size
    if limit > settings.max_page_size:
        raise RequestValidationError(
            [
                {
                    "type": "less_than_equal",
                    "loc": ("query", "limit"),
                    "msg": f"Input should be less than or equal to {settings.max_page_size}",
                    "input": limit,
                }
            ]
        )
    return limit


PageSizeDep = Annotated[int, Depends(page_size)]
