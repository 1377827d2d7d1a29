"""The FastAPI application: routers, docs, error handlers; nothing else."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from app.api import articles, entities, health, sources
from app.api.errors import install_error_handlers

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
    {"name": "health", "description": "Liveness and readiness for operators."},
]


def create_app() -> FastAPI:
    """Build the API. The docs at /docs and /redoc load no asset from the internet."""
    app = FastAPIOffline(
        title="Newsdesk",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
    )
    install_error_handlers(app)
    for module in (articles, entities, sources, health):
        app.include_router(module.router)
    return app
