"""/healthz, /readyz and /metrics: liveness, readiness and numbers for operators."""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.api.deps import PlainSessionDep, SessionDep, SettingsDep
from app.api.routing import ApiRoute
from app.db import current_revision, head_revision, session_engine
from app.observability import Metrics
from app.schemas import Health, Readiness
from app.search.service import IndexReadiness, index_readiness
from app.search.stats import table_counts

router = APIRouter(route_class=ApiRoute, tags=["health"])


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": Health, "description": "The database is unreachable."}},
    summary="Liveness and database reachability",
)
def healthz(session: PlainSessionDep) -> Health | JSONResponse:
    """`ok` when the server can query its database."""
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse(status_code=503, content={"status": "error", "database": "unreachable"})
    return Health(status="ok", database="ok")


@lru_cache
def expected_revision() -> str | None:
    """The newest migration shipped with this code (read once)."""
    return head_revision()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={
        503: {
            "model": Readiness,
            "description": "Database unreachable or not migrated (or, with "
            "NEWSDESK_SEARCH_INDEX_BEHIND=not_ready, the search index too far behind).",
        }
    },
    summary="Readiness: database reachable and migrated",
)
def readyz(session: PlainSessionDep, settings: SettingsDep) -> Readiness | JSONResponse:
    """`ok` when the database answers and is at the newest migration; 503 otherwise
    (run `newsdesk db upgrade`)."""
    expected = expected_revision()
    try:
        revision = current_revision(session_engine(session))
    except SQLAlchemyError:
        body = Readiness(
            status="not_ready",
            database="unreachable",
            schema_revision=None,
            expected_revision=expected,
        )
        return JSONResponse(status_code=503, content=body.model_dump())
    migrated = revision == expected
    index = index_readiness(session, settings) if migrated else IndexReadiness("not_used")
    ready = migrated and index.ready
    body = Readiness(
        status="ok" if ready else "not_ready",
        database="ok",
        schema_revision=revision,
        expected_revision=expected,
        search_index=index.status,
        search_index_lag=index.lag,
        search_index_lag_seconds=index.lag_seconds,
    )
    return body if ready else JSONResponse(status_code=503, content=body.model_dump())


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
            "description": "Prometheus text exposition format.",
        }
    },
    summary="Prometheus metrics",
)
def metrics(request: Request, session: SessionDep) -> Response:
    """Request counts and latency histograms per route, and articles and entities stored."""
    series: Metrics = request.app.state.metrics
    counts = table_counts(session)
    series.articles.set(counts["articles"])
    series.entities.set(counts["entities"])
    return Response(generate_latest(series.registry), media_type=CONTENT_TYPE_LATEST)
