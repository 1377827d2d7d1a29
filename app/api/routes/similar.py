"""/articles/{id}/similar: articles about the same story as one article."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.api.deps import ArticleId, SessionDep
from app.api.errors import ApiError
from app.api.routing import ApiRoute
from app.api.summaries import source_ref
from app.models import Article
from app.schemas import ErrorResponse, SimilarArticle, SimilarList
from app.search.similar import similar_articles

router = APIRouter(route_class=ApiRoute, tags=["articles"])


@router.get(
    "/articles/{article_id}/similar",
    response_model=SimilarList,
    responses={
        404: {"model": ErrorResponse, "description": "No article with that id."},
        422: {"model": ErrorResponse, "description": "A parameter has the wrong form."},
    },
    summary="Articles about the same story",
)
def list_similar(
    session: SessionDep,
    article_id: ArticleId,
    limit: Annotated[int, Query(ge=1, le=50, description="How many articles.")] = 10,
    duplicates: Annotated[
        Literal["include", "exclude"],
        Query(description="exclude leaves out near-duplicates of an earlier article."),
    ] = "include",
) -> SimilarList:
    """Articles sharing the most rare entities and distinctive words with this one, best first.

    Example: `/articles/1/similar?limit=5&duplicates=exclude`.
    """
    article = session.get(Article, article_id)
    if article is None or article.id is None:
        raise ApiError(404, "not_found", f"no article with id {article_id}")
    hits = similar_articles(session, article, limit, exclude_duplicates=duplicates == "exclude")
    return SimilarList(
        article_id=article.id,
        items=[
            SimilarArticle(
                id=hit.article.id,
                title=hit.article.title,
                url=hit.article.url,
                source=source_ref(hit.source),
                published_at=hit.article.published_at,
                score=hit.score,
                shared_entities=hit.shared_entities,
                shared_terms=hit.shared_terms,
                duplicate_of=hit.article.duplicate_of,
            )
            for hit in hits
            if hit.article.id is not None  # always, once stored: narrows the model's int | None
        ],
    )
