"""/articles: search, filter and page through articles; one article in full."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import select

from app.api.deps import SessionDep, SettingsDep
from app.api.errors import ApiError
from app.api.filters import ArticleFilterDep
from app.models import Article, ArticleEntity, ArticleTag, Entity, Source
from app.schemas import (
    ArticleDetail,
    ArticleEntityOut,
    ArticlePage,
    ArticleSummary,
    EntityRef,
    ErrorResponse,
    SourceRef,
)
from app.search.articles import ArticleFilter, Hit, Sort, count_articles, search_articles, sort_key
from app.search.articles import top_entities as load_top_entities
from app.search.cursor import Cursor, decode_cursor, encode_cursor, query_fingerprint
from app.search.text import Highlight, lede_snippet, snippets

router = APIRouter(tags=["articles"])

ERRORS = {
    400: {"model": ErrorResponse, "description": "Unparseable q or cursor."},
    404: {"model": ErrorResponse, "description": "Unknown source or entity name."},
    422: {"model": ErrorResponse, "description": "A parameter has the wrong form."},
}


def source_ref(source: Source | None) -> SourceRef | None:
    if source is None or source.id is None:
        return None
    return SourceRef(id=source.id, name=source.name)


def cursor_scope(flt: ArticleFilter, sort: Sort) -> str:
    """The parameters a cursor stays valid for (everything but limit and cursor)."""
    return query_fingerprint({"filter": repr(flt), "sort": sort})


@router.get(
    "/articles",
    response_model=ArticlePage,
    responses=ERRORS,
    summary="Search and filter articles",
)
def list_articles(
    session: SessionDep,
    settings: SettingsDep,
    flt: ArticleFilterDep,
    sort: Annotated[
        Sort | None,
        Query(
            description="relevance (default with q), published_at (oldest first) or "
            "-published_at (newest first, default without q). Ties break by id."
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Results per page.")] = 20,
    cursor: Annotated[
        str | None, Query(description="next_cursor from the previous page.", max_length=2000)
    ] = None,
    highlight: Annotated[
        bool, Query(description="Wrap matches in the snippet with highlight markers.")
    ] = True,
    highlight_open: Annotated[
        str, Query(max_length=50, description="Marker before a match.")
    ] = "<mark>",
    highlight_close: Annotated[
        str, Query(max_length=50, description="Marker after a match.")
    ] = "</mark>",
) -> ArticlePage:
    """Articles matching every filter given, with an exact total and a cursor to the next page.

    Example: `/articles?q=Shoigu&source=Amu%20TV&from=2024-05-01&sort=-published_at`.
    """
    order: Sort = sort or ("relevance" if flt.query is not None else "-published_at")
    if order == "relevance" and flt.query is None:
        raise ApiError(422, "invalid_parameter", "sort: relevance needs a text query q")
    scope = cursor_scope(flt, order)
    position = decode_cursor(cursor, scope) if cursor else None
    hits, snapshot = search_articles(session, flt, order, limit + 1, position)
    more = len(hits) > limit
    hits = hits[:limit]
    next_cursor = (
        encode_cursor(Cursor(key=sort_key(order, hits[-1]), snapshot=snapshot, query_hash=scope))
        if more
        else None
    )
    marks = Highlight(highlight_open, highlight_close) if highlight else None
    items = summarize(session, settings.snippet_tokens, flt, hits, marks)
    return ArticlePage(total=count_articles(session, flt), items=items, next_cursor=next_cursor)


def summarize(
    session: SessionDep,
    snippet_tokens: int,
    flt: ArticleFilter,
    hits: list[Hit],
    marks: Highlight | None,
) -> list[ArticleSummary]:
    """Search hits as API items: snippets and top entities loaded for the whole page at once."""
    ids = [hit.article.id for hit in hits if hit.article.id is not None]
    passages = (
        snippets(session, flt.query, flt.search_in, ids, snippet_tokens, marks)
        if flt.query is not None
        else {}
    )
    entities = load_top_entities(session, ids, per_article=5)
    return [
        ArticleSummary(
            id=article_id,
            title=hit.article.title,
            url=hit.article.url,
            source=source_ref(hit.source),
            author=hit.article.author,
            published_at=hit.article.published_at,
            language=hit.article.language,
            snippet=passages.get(article_id)
            or lede_snippet(hit.article.lede or hit.article.body, snippet_tokens),
            score=hit.score,
            entities=[
                EntityRef(id=e.id, name=e.name, type=e.type, mentions=m)
                for e, m in entities.get(article_id, [])
            ],
        )
        for hit, article_id in zip(hits, ids, strict=True)
    ]


@router.get(
    "/articles/{article_id}",
    response_model=ArticleDetail,
    responses={404: {"model": ErrorResponse, "description": "No article with that id."}},
    summary="One article in full",
)
def get_article(
    session: SessionDep,
    article_id: Annotated[int, Path(ge=1, le=2**62, description="The article's id.", examples=[1])],
) -> ArticleDetail:
    """The whole article: body, all entities with mention counts, and each field's provenance."""
    article = session.get(Article, article_id)
    if article is None or article.id is None:
        raise ApiError(404, "not_found", f"no article with id {article_id}")
    source = session.get(Source, article.source_id) if article.source_id else None
    rows = session.execute(
        select(Entity, ArticleEntity.mentions, ArticleEntity.forms)
        .join(ArticleEntity, ArticleEntity.entity_id == Entity.id)
        .where(ArticleEntity.article_id == article.id)
        .order_by(ArticleEntity.mentions.desc(), Entity.name)
    ).all()
    tags = session.execute(
        select(ArticleTag.tag).where(ArticleTag.article_id == article.id).order_by(ArticleTag.tag)
    ).scalars()
    return ArticleDetail(
        **article.model_dump(
            include={
                "id",
                "title",
                "subtitle",
                "url",
                "author",
                "dateline",
                "published_at",
                "language",
                "lede",
                "body",
                "word_count",
                "cites",
                "provenance",
                "origins",
                "duplicate_of",
                "extra",
                "ingested_at",
                "updated_at",
            }
        ),
        source=source_ref(source),
        tags=list(tags),
        entities=[
            ArticleEntityOut(id=e.id, name=e.name, type=e.type, mentions=m, forms=forms)
            for e, m, forms in rows
        ],
    )
