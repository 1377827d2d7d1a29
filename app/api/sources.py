"""/sources: the outlets in the archive."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import SessionDep
from app.schemas import SourceList, SourceOut
from app.search.catalog import sources_with_counts

router = APIRouter(tags=["sources"])


@router.get("/sources", response_model=SourceList, summary="Sources with article counts")
def list_sources(session: SessionDep) -> SourceList:
    """Every source (publisher) and how many articles it has, most articles first."""
    return SourceList(
        items=[
            SourceOut(id=source.id, name=source.name, domain=source.domain, article_count=count)
            for source, count in sources_with_counts(session)
            if source.id is not None  # always, once stored: narrows the model's int | None
        ]
    )
