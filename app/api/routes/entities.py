"""/entities: the people, organisations and places the archive mentions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import CursorCodecDep, PageSizeDep, SearchDep, SessionDep, SettingsDep
from app.api.errors import ApiError
from app.api.filters import ArticleFilterDep, EntityType
from app.api.routes.articles import ERRORS as ARTICLE_ERRORS
from app.api.routes.articles import article_page, highlight_marks, resolve_sort
from app.api.routing import ApiRoute
from app.models import MAX_ID, Entity
from app.schemas import (
    ArticlePage,
    EntityCount,
    EntityDetail,
    EntityForm,
    EntityPage,
    EntitySummary,
    ErrorResponse,
    SourceCount,
)
from app.search.catalog import (
    EntitySort,
    aliases_of,
    entity_activity,
    entity_key_check,
    entity_listing,
    entity_page,
    entity_page_key,
    forms_found,
)
from app.search.cursor import Cursor, query_fingerprint
from app.search.filter import ArticleFilter, Sort

router = APIRouter(route_class=ApiRoute, tags=["entities"])

EntityId = Annotated[int, Path(ge=1, le=MAX_ID, description="The entity's id.", examples=[1])]


@router.get(
    "/entities",
    response_model=EntityPage,
    responses={400: {"model": ErrorResponse, "description": "Bad cursor."}},
    summary="Browse entities",
)
def list_entities(
    session: SessionDep,
    limit: PageSizeDep,
    codec: CursorCodecDep,
    q: Annotated[
        str | None,
        Query(
            max_length=300,
            description="Part of a canonical name or alias (any case, accents ignored). "
            "Exact matches list first, then names with a word starting with q, then the rest.",
            examples=["putin"],
        ),
    ] = None,
    entity_type: Annotated[
        EntityType | None, Query(alias="type", description="Entity type.")
    ] = None,
    min_articles: Annotated[
        int, Query(ge=1, le=2**31, description="Mentioned in at least this many articles.")
    ] = 1,
    sort: Annotated[
        EntitySort, Query(description="articles (most first) or name (A–Z).")
    ] = "articles",
    cursor: Annotated[
        str | None, Query(max_length=2000, description="From the previous page.")
    ] = None,
) -> EntityPage:
    """Entities with article and mention counts, most-mentioned first by default.

    Example: `/entities?q=blair&type=person`.
    """
    name = q.strip() if q and q.strip() else None
    scope = query_fingerprint({"q": name, "type": entity_type, "min": min_articles, "sort": sort})
    after = codec.decode(cursor, scope, entity_key_check(sort)).key if cursor else None
    statement = entity_listing(name, entity_type, min_articles)
    rows, total = entity_page(session, statement, sort, limit + 1, after)
    items = [
        EntitySummary(
            id=row.entity.id,
            name=row.entity.name,
            type=row.entity.type,
            article_count=row.articles,
            mention_count=row.mentions,
        )
        for row in rows[:limit]
        if row.entity.id is not None  # always, once stored: narrows the model's int | None
    ]
    next_cursor = None
    if len(rows) > limit:
        key = entity_page_key(sort, rows[limit - 1])
        next_cursor = codec.encode(Cursor(key=key, snapshot=0, query_hash=scope))
    return EntityPage(total=total, items=items, next_cursor=next_cursor)


def existing_entity(session: SessionDep, entity_id: int) -> Entity:
    entity = session.get(Entity, entity_id)
    if entity is None or entity.id is None:
        raise ApiError(404, "not_found", f"no entity with id {entity_id}")
    return entity


@router.get(
    "/entities/{entity_id}",
    response_model=EntityDetail,
    responses={404: {"model": ErrorResponse, "description": "No entity with that id."}},
    summary="One entity",
)
def get_entity(
    search: SearchDep,
    entity_id: EntityId,
    top: Annotated[
        int, Query(ge=1, le=100, description="How many co-occurring entities and sources.")
    ] = 10,
) -> EntityDetail:
    """An entity with its aliases, counts, first and last publication dates, the entities
    mentioned in the same articles and the sources that mention it most."""
    session = search.session
    entity = existing_entity(session, entity_id)
    activity = entity_activity(session, entity_id)
    # The entity and source facets of the articles mentioning it: on the search index, an
    # aggregation instead of reading every link of those articles. The entity itself is
    # in each of them, so one value more leaves `top` others.
    mentioning = ArticleFilter(entity_groups=[[entity_id]])
    facets = search.facets(mentioning, ["entity", "source"], top + 1, activity.articles)
    others = [value for value in facets["entity"].values if value.id != entity_id][:top]
    return EntityDetail(
        id=entity_id,
        name=entity.name,
        type=entity.type,
        article_count=activity.articles,
        mention_count=activity.mentions,
        aliases=aliases_of(session, entity_id),
        forms=[
            EntityForm(form=f.form, articles=f.articles, found_by=f.found_by)
            for f in forms_found(session, entity_id)
        ],
        first_seen=activity.first_seen,
        last_seen=activity.last_seen,
        co_occurring=[
            EntityCount(id=other.id, name=other.value, type=other.type, article_count=other.count)
            for other in others
            if other.id is not None and other.type is not None
        ],
        top_sources=[
            SourceCount(id=source.id, name=source.value, article_count=source.count)
            for source in facets["source"].values[:top]
            if source.id is not None
        ],
    )


@router.get(
    "/entities/{entity_id}/articles",
    response_model=ArticlePage,
    responses=ARTICLE_ERRORS,
    summary="Articles mentioning an entity",
)
def list_entity_articles(
    search: SearchDep,
    limit: PageSizeDep,
    settings: SettingsDep,
    entity_id: EntityId,
    flt: ArticleFilterDep,
    sort: Annotated[
        Sort | None,
        Query(description="As for /articles: relevance, published_at or -published_at."),
    ] = None,
    cursor: Annotated[
        str | None, Query(description="next_cursor from the previous page.", max_length=2000)
    ] = None,
    highlight: Annotated[bool, Query(description="Mark matches in snippets.")] = True,
    highlight_open: Annotated[str, Query(max_length=50)] = "<mark>",
    highlight_close: Annotated[str, Query(max_length=50)] = "</mark>",
) -> ArticlePage:
    """The articles mentioning the entity, with every filter, sort and page of /articles.

    Example: `/entities/1/articles?q=Taliban&from=2024-05-01`.
    """
    existing_entity(search.session, entity_id)
    marks = highlight_marks(highlight, highlight_open, highlight_close)
    order = resolve_sort(flt, sort)
    found = search.entity_page(entity_id, flt, order, limit, cursor)
    return article_page(search.session, settings, flt, found, marks)
