"""/entities: the people, organisations and places the archive mentions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from sqlalchemy import and_, or_

from app.api.deps import SessionDep
from app.api.errors import ApiError
from app.api.filters import EntityType
from app.models import Entity
from app.schemas import EntityDetail, EntityPage, EntitySummary, ErrorResponse
from app.search.catalog import aliases_of, entity_listing
from app.search.cursor import Cursor, decode_cursor, encode_cursor, query_fingerprint

router = APIRouter(tags=["entities"])


@router.get(
    "/entities",
    response_model=EntityPage,
    responses={400: {"model": ErrorResponse, "description": "Bad cursor."}},
    summary="Browse entities",
)
def list_entities(
    session: SessionDep,
    q: Annotated[
        str | None,
        Query(
            max_length=300,
            description="Part of a canonical name or alias (any case, accents ignored).",
            examples=["putin"],
        ),
    ] = None,
    entity_type: Annotated[
        EntityType | None, Query(alias="type", description="Entity type.")
    ] = None,
    min_articles: Annotated[
        int, Query(ge=1, description="Mentioned in at least this many articles.")
    ] = 1,
    sort: Annotated[
        Literal["articles", "name"], Query(description="articles (most first) or name (A–Z).")
    ] = "articles",
    limit: Annotated[int, Query(ge=1, le=100, description="Results per page.")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=2000, description="From the previous page.")
    ] = None,
) -> EntityPage:
    """Entities with article and mention counts, most-mentioned first by default."""
    statement = entity_listing(q, entity_type, min_articles)
    columns = statement.selected_columns
    articles_col = columns.articles
    scope = query_fingerprint({"q": q, "type": entity_type, "min": min_articles, "sort": sort})
    total = session.execute(statement.with_only_columns(Entity.id).order_by(None)).all()
    if sort == "articles":
        statement = statement.order_by(articles_col.desc(), Entity.id)
    else:
        statement = statement.order_by(Entity.name, Entity.id)
    if cursor:
        key = decode_cursor(cursor, scope).key
        if sort == "articles":
            statement = statement.where(
                or_(articles_col < key[0], and_(articles_col == key[0], Entity.id > key[1]))
            )
        else:
            statement = statement.where(
                or_(Entity.name > key[0], and_(Entity.name == key[0], Entity.id > key[1]))
            )
    rows = session.execute(statement.limit(limit + 1)).all()
    items = [
        EntitySummary(id=e.id, name=e.name, type=e.type, article_count=a, mention_count=m)
        for e, a, m in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        key = [last.article_count if sort == "articles" else last.name, last.id]
        next_cursor = encode_cursor(Cursor(key=key, snapshot=0, query_hash=scope))
    return EntityPage(total=len(total), items=items, next_cursor=next_cursor)


@router.get(
    "/entities/{entity_id}",
    response_model=EntityDetail,
    responses={404: {"model": ErrorResponse, "description": "No entity with that id."}},
    summary="One entity",
)
def get_entity(
    session: SessionDep,
    entity_id: Annotated[int, Path(ge=1, le=2**62, description="The entity's id.", examples=[1])],
) -> EntityDetail:
    """An entity with its aliases and counts."""
    statement = entity_listing(None, None, 0).where(Entity.id == entity_id)
    row = session.execute(statement).first()
    entity = row[0] if row else session.get(Entity, entity_id)
    if entity is None:
        raise ApiError(404, "not_found", f"no entity with id {entity_id}")
    articles, mentions = (row[1], row[2]) if row else (0, 0)
    return EntityDetail(
        id=entity.id,
        name=entity.name,
        type=entity.type,
        article_count=articles or 0,
        mention_count=mentions or 0,
        aliases=aliases_of(session, entity_id),
    )
