"""Every router the app serves, in the order main.py includes them (the first match wins).

Each entry says, as data, what main.py must know about a router: whether it exists only on
a server with an API key configured (the write endpoints), and whether it accepts query
parameters it doesn't know (the NewsAPI-compatible routes: NewsAPI clients send parameters
Newsdesk doesn't implement).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter

from app.api.routes import (
    admin,
    articles,
    entities,
    feeds,
    health,
    newsapi,
    searches,
    similar,
    sources,
    terms,
    timeline,
)


@dataclass(frozen=True)
class Mounted:
    """One router and the conditions under which the app includes it."""

    router: APIRouter
    needs_api_key: bool = False
    accepts_unknown_parameters: bool = False


ROUTERS: list[Mounted] = [
    Mounted(terms.router),  # before /articles/{article_id}
    Mounted(articles.router),
    Mounted(entities.router),
    Mounted(sources.router),
    Mounted(health.router),
    Mounted(timeline.router),
    Mounted(feeds.router),
    Mounted(similar.router),
    Mounted(searches.router),
    Mounted(admin.router, needs_api_key=True),
    Mounted(sources.write_router, needs_api_key=True),
    Mounted(searches.write_router, needs_api_key=True),
    Mounted(newsapi.router, accepts_unknown_parameters=True),
]
