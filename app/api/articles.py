"""/articles: search, filter and page through articles; one article in full."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlmodel import Session, col

from app.api.deps import ArticleId, CursorCodecDep, PageSizeDep, SessionDep, SettingsDep
from app.api.errors import ApiError
from app.api.exports import ExportParam, export_articles
from app.api.filters import ArticleFilterDep
from app.api.summaries import source_ref, summarize
from app.config import Settings
from app.limits_json import truncate_depth
from app.models import Article, ArticleEntity, ArticleTag, Entity, Source
from app.schemas import (
    ArticleDetail,
    ArticleEntityOut,
    ArticlePage,
    ErrorResponse,
    Facet,
)
from app.search.articles import count_articles, search_articles, sort_key, sort_key_check
from app.search.cursor import Cursor, CursorCodec, query_fingerprint
from app.search.facets import FACET_NAMES, compute_facets
from app.search.filter import ArticleFilter, Sort
from app.search.index import SearchIndex, search_index_for
from app.search.index_counts import index_counts
from app.search.text import Highlight, InvalidHighlight

router = APIRouter(tags=["articles"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Unparseable q or cursor."},
    404: {"model": ErrorResponse, "description": "Unknown source or entity name."},
    422: {"model": ErrorResponse, "description": "A parameter has the wrong form."},
}


def cursor_scope(flt: ArticleFilter, sort: Sort) -> str:
    """The parameters a cursor stays valid for (everything but limit and cursor)."""
    return query_fingerprint({"filter": repr(flt), "sort": sort})


FacetParam = Annotated[
    list[str] | None,
    Query(
        description="Facets to count under the same filters: any of "
        f"{', '.join(FACET_NAMES)}; comma-separated and/or repeated. Each lists its top "
        "`facet_size` values with the sum of the rest (`other_count`), the number of distinct "
        "values and the matches without a value (`missing`; undated articles for month).",
        examples=["source,entity,month"],
    ),
]


@router.get(
    "/articles",
    response_model=ArticlePage,
    responses={
        **ERRORS,
        200: {
            "description": "A page of results (format=json) or the whole result set as a "
            "download (format=csv or jsonl).",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        },
    },
    summary="Search and filter articles",
)
def search_or_export_articles(
    session: SessionDep,
    limit: PageSizeDep,
    settings: SettingsDep,
    codec: CursorCodecDep,
    flt: ArticleFilterDep,
    sort: Annotated[
        Sort | None,
        Query(
            description="relevance (default with q), published_at (oldest first) or "
            "-published_at (newest first, default without q). Ties break by id."
        ),
    ] = None,
    cursor: Annotated[
        str | None, Query(description="next_cursor from the previous page.", max_length=2000)
    ] = None,
    highlight: Annotated[
        bool, Query(description="Wrap matches in the snippet with highlight markers.")
    ] = True,
    highlight_open: Annotated[
        str,
        Query(
            max_length=50,
            description="Marker before a match: <mark>, <b>, <em> or <strong> (with the "
            "matching closing tag), or plain text without < > & \" '.",
        ),
    ] = "<mark>",
    highlight_close: Annotated[
        str, Query(max_length=50, description="Marker after a match.")
    ] = "</mark>",
    facets: FacetParam = None,
    facet_size: Annotated[
        int, Query(ge=1, le=100, description="Values listed per facet.", examples=[10])
    ] = 10,
    export: ExportParam = "json",
) -> ArticlePage | Response:
    """Articles matching every filter given, with an exact total and a cursor to the next page.

    Examples: `/articles?q=Shoigu&source=Amu%20TV&from=2024-05-01&sort=-published_at`;
    `/articles?tag=tech&facets=entity,month` also counts entities and months among all tech
    articles; `/articles?q=Taliban&format=csv` downloads every match as CSV.
    """
    facet_names = parse_facets(facets)
    if export == "json":
        return list_articles(
            session=session,
            settings=settings,
            codec=codec,
            flt=flt,
            sort=sort,
            limit=limit,
            cursor=cursor,
            highlight=highlight,
            highlight_open=highlight_open,
            highlight_close=highlight_close,
            facet_names=facet_names,
            facet_size=facet_size,
        )
    if cursor is not None or facet_names:
        raise ApiError(
            422,
            "invalid_parameter",
            f"format={export} streams the whole result set: drop cursor and facets",
        )
    marks = highlight_marks(highlight, highlight_open, highlight_close)
    return export_articles(session, settings, flt, resolve_sort(flt, sort), export, marks)


def highlight_marks(highlight: bool, opening: str, closing: str) -> Highlight | None:
    """The snippet markers asked for (None: plain text); unsafe markers answer 422."""
    if not highlight:
        return None
    try:
        return Highlight(opening, closing)
    except InvalidHighlight as error:
        raise ApiError(422, "invalid_parameter", str(error)) from None


def resolve_sort(flt: ArticleFilter, sort: Sort | None) -> Sort:
    """The sort asked for, else relevance with q and newest first without."""
    order: Sort = sort or ("relevance" if flt.query is not None else "-published_at")
    if order == "relevance" and flt.query is None:
        raise ApiError(422, "invalid_parameter", "sort: relevance needs a text query q")
    return order


def list_articles(
    session: Session,
    settings: Settings,
    codec: CursorCodec,
    flt: ArticleFilter,
    sort: Sort | None = None,
    limit: int = 20,
    cursor: str | None = None,
    highlight: bool = True,
    highlight_open: str = "<mark>",
    highlight_close: str = "</mark>",
    facet_names: list[str] | None = None,
    facet_size: int = 10,
) -> ArticlePage:
    """One page of matches (after `cursor`), the exact total, and the facets asked for."""
    marks = highlight_marks(highlight, highlight_open, highlight_close)
    order = resolve_sort(flt, sort)
    scope = cursor_scope(flt, order)
    position = codec.decode(cursor, scope, sort_key_check(order)) if cursor else None
    index = search_index_for(settings)
    hits, snapshot = search_articles(session, flt, order, limit + 1, position, index)
    more = len(hits) > limit
    hits = hits[:limit]
    next_cursor = (
        codec.encode(Cursor(key=sort_key(order, hits[-1]), snapshot=snapshot, query_hash=scope))
        if more
        else None
    )
    # Later pages count what the walk lists: the articles of its first page's moment.
    counted = replace(flt, up_to_id=position.snapshot) if position else flt
    total = count_articles(session, counted, index)
    return ArticlePage(
        total=total,
        items=summarize(
            session,
            settings.snippet_tokens,
            flt,
            hits,
            marks,
            window=settings.snippet_window_chars,
        ),
        next_cursor=next_cursor,
        facets=(
            facet_counts(session, counted, facet_names, facet_size, total, index)
            if facet_names
            else None
        ),
    )


def parse_facets(values: list[str] | None) -> list[str]:
    """Facet names from comma-separated and/or repeated values, in order, each once."""
    names = [name.strip() for value in values or [] for name in value.split(",")]
    names = list(dict.fromkeys(name for name in names if name))
    unknown = [name for name in names if name not in FACET_NAMES]
    if unknown:
        raise ApiError(
            422,
            "invalid_parameter",
            f"facets: unknown facet {unknown[0]!r}; choose from {', '.join(FACET_NAMES)}",
            {"allowed": list(FACET_NAMES)},
        )
    return names


def facet_counts(
    session: SessionDep,
    flt: ArticleFilter,
    names: list[str],
    size: int,
    total: int,
    index: SearchIndex | None = None,
) -> dict[str, Facet]:
    """The facets asked for: by the search index's aggregations when it is current."""
    counts = index_counts(index, session)
    if counts is not None:
        found = {name: counts.facet(flt, name, size, total) for name in names}
    else:
        found = compute_facets(session, flt, names, size, total)
    return {name: Facet.model_validate(asdict(counted)) for name, counted in found.items()}


@router.get(
    "/articles/{article_id}",
    response_model=ArticleDetail,
    responses={404: {"model": ErrorResponse, "description": "No article with that id."}},
    summary="One article in full",
)
def get_article(
    session: SessionDep,
    settings: SettingsDep,
    article_id: ArticleId,
) -> ArticleDetail:
    """The whole article: body, all entities with mention counts, and each field's provenance."""
    article = session.get(Article, article_id)
    if article is None or article.id is None:
        raise ApiError(404, "not_found", f"no article with id {article_id}")
    source = session.get(Source, article.source_id) if article.source_id else None
    rows = session.execute(
        select(Entity, col(ArticleEntity.mentions), col(ArticleEntity.forms))
        .join(ArticleEntity, col(ArticleEntity.entity_id) == col(Entity.id))
        .where(col(ArticleEntity.article_id) == article.id)
        .order_by(col(ArticleEntity.mentions).desc(), col(Entity.name))
    ).all()
    tags = session.execute(
        select(col(ArticleTag.tag))
        .where(col(ArticleTag.article_id) == article.id)
        .order_by(col(ArticleTag.tag))
    ).scalars()
    detail = ArticleDetail(
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
    # Stored before writes were depth-limited, a deeper `extra` could never be serialized.
    detail.extra = truncate_depth(detail.extra, settings.max_json_depth)
    return detail
