"""/articles/terms: the words and phrases most characteristic of a search's matches."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import SearchDep, SettingsDep
from app.api.filters import ArticleFilterDep
from app.api.gates import memory_gate
from app.api.routes.articles import ERRORS
from app.api.routing import ApiRoute
from app.schemas import SignificantTerms
from app.search.terms import characteristic_terms

router = APIRouter(route_class=ApiRoute, tags=["articles"])


@router.get(
    "/articles/terms",
    response_model=SignificantTerms,
    responses=ERRORS,
    summary="Words and phrases that characterise the matches",
)
async def significant_terms(
    search: SearchDep,
    flt: ArticleFilterDep,
    settings: SettingsDep,
    size: Annotated[int, Query(ge=1, le=100, description="How many terms.")] = 20,
) -> SignificantTerms:
    """Words and two-word phrases found in the matches (every /articles filter applies)
    far more often than in the archive, best first: Dunning's log-likelihood (G²) on the
    number of articles holding each term. Stop words of each article's language are left
    out.

    Sampled: the matches read are all of them up to 500 (settings: terms_sample_size),
    else the best 500 (most relevant with q, else newest); the archive is read as 500
    articles at evenly spaced ids. `sampled` and `background` say how many were read.

    Example: `/articles/terms?tag=sport&size=10`.
    """
    gate = memory_gate("terms", settings.terms_concurrency)
    async with gate.job():
        answer = await gate.run(characteristic_terms, search, flt, size)
    return SignificantTerms.model_validate(answer, from_attributes=True)
