"""The FastAPI application: routers, docs, error handlers; nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from app.api.disconnect import WatchDisconnect
from app.api.error_docs import document_errors
from app.api.errors import install_error_handlers
from app.api.parameters import reject_unknown_parameters
from app.api.routes import ROUTERS
from app.api.security import install_security
from app.config import Settings, get_settings
from app.observability import Metrics, RequestObserver, configure_logging
from app.search.service import start_catch_up

DESCRIPTION = """
Search and filter news-article metadata: full text, source, publication date and the
people, organisations and places each article mentions. No result caps: page through any
result set with `next_cursor`.

Example requests:

* `GET /articles?q=Taliban` — articles mentioning the Taliban, most relevant first
* `GET /articles?q="Belt and Road"` — an exact phrase
* `GET /articles?entity=Sergei Shoigu&source=Amu TV&source=Asia Times&from=2024-05-01`
  — every article mentioning Shoigu from two outlets since May, newest first
* `GET /entities?q=putin` — find an entity and its aliases
"""

TAGS = [
    {"name": "articles", "description": "Search, filter and read articles."},
    {
        "name": "entities",
        "description": "People, organisations and places, linked across articles.",
    },
    {"name": "sources", "description": "The outlets articles come from."},
    {
        "name": "searches",
        "description": "Saved searches: the articles each matched since it was saved, its "
        "Atom feed and its webhook deliveries.",
    },
    {"name": "health", "description": "Liveness and readiness for operators."},
]
ADMIN_TAG = {
    "name": "admin",
    "description": "Write endpoints: they exist only on a server with an API key configured "
    "(NEWSDESK_API_KEY_HASH or NEWSDESK_API_KEY) and need that key.",
}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API. The docs at /docs and /redoc load no asset from the internet.

    The write endpoints (tag admin) exist only when an API key is configured.
    """
    settings = settings or get_settings()
    configure_logging(settings.log_format, settings.log_level)
    configured = settings

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        catch_up = start_catch_up(configured)  # PostgreSQL with an index: keep it current
        try:
            yield
        finally:
            if catch_up is not None:
                catch_up.stop()

    app = FastAPIOffline(
        lifespan=lifespan,
        title="Newsdesk",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=[*TAGS, ADMIN_TAG] if settings.api_key_hash else TAGS,
    )
    install_error_handlers(app)
    for mounted in ROUTERS:
        if mounted.needs_api_key and not settings.api_key_hash:
            continue
        checks = [] if mounted.accepts_unknown_parameters else [Depends(reject_unknown_parameters)]
        app.include_router(mounted.router, dependencies=checks)
    document_errors(app, settings)
    install_security(app, settings)
    app.add_middleware(WatchDisconnect)
    app.state.metrics = Metrics()
    app.add_middleware(RequestObserver, metrics=app.state.metrics)
    return app
