"""Counts operators watch (served as Prometheus gauges)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from app.models import Article, Entity


def table_counts(session: Session) -> dict[str, int]:
    """How many articles and entities the database holds."""
    return {
        "articles": session.execute(select(func.count()).select_from(Article)).scalar_one(),
        "entities": session.execute(select(func.count()).select_from(Entity)).scalar_one(),
    }
