"""/articles: search, filter and page through articles; one article in full."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlmodel import Session, col

from app.api.deps import ArticleId, PageSizeDep, SearchDep, SessionDep, SettingsDep
from app.api.errors import ApiError
from app.api.exports import ExportParam, export_articles
from app.api.filters import ArticleFilterDep
from app.api.routing import ApiRoute
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
from app.search.facets import FACET_NAMES
from app.search.filter import ArticleFilter, Sort
from app.search.service import ResultPage
from app.search.text import Highlight, InvalidHighlight

router = APIRouter(route_class=ApiRoute, tags=["articles"])

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Unparseable q or cursor."},
    404: {"model": ErrorResponse, "description": "Unknown source or entity name."},
    422: {"model": ErrorResponse, "description": "A parameter has the wrong form."},
}


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
    search: SearchDep,
    limit: PageSizeDep,
    settings: SettingsDep,
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
    if export != "json" and (cursor is not None or facet_names):
        raise ApiError(
            422,
            "invalid_parameter",
            f"format={export} streams the whole result set: drop cursor and facets",
        )
    marks = highlight_marks(highlight, highlight_open, highlight_close)
    order = resolve_sort(flt, sort)
    if export == "json":
        found = search.article_page(flt, order, limit, cursor, facet_names, facet_size)
        return article_page(search.session, settings, flt, found, marks)
    return export_articles(search, settings, flt, order, export, marks)


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


def article_page(
    session: Session,
    settings: Settings,
    flt: ArticleFilter,
    found: ResultPage,
    marks: Highlight | None,
) -> ArticlePage:
    """A page of results as the API shows it: items with snippets and top entities."""
    return ArticlePage(
        total=found.total,
        items=summarize(
            session,
            settings.snippet_tokens,
            flt,
            found.hits,
            marks,
            window=settings.snippet_window_chars,
        ),
        next_cursor=found.next_cursor,
        facets=(
            {
                name: Facet.model_validate(f, from_attributes=True)
                for name, f in found.facets.items()
            }
            if found.facets is not None
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
    # The read model picks its own fields from the row (extra="ignore"): a column added to
    # Article and to ArticleDetail needs no third list here; only computed parts are supplied.
    detail = ArticleDetail.model_validate(
        article.model_dump()
        | dict(
            source=source_ref(source),
            tags=list(tags),
            entities_analysed=article.entity_model is not None,
            entities=[
                ArticleEntityOut(id=e.id, name=e.name, type=e.type, mentions=m, forms=forms)
                for e, m, forms in rows
            ],
        )
    )
    # Stored before writes were depth-limited, a deeper `extra` could never be serialized.
    detail.extra = truncate_depth(detail.extra, settings.max_json_depth)
    return detail
