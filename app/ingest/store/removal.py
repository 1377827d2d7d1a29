"""Deleting an article (the write API's DELETE /articles/{id})."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlmodel import Session, col

from app.ingest.store.duplicates import Copy, earliest
from app.models import Article


def delete_article(session: Session, article_id: int) -> bool:
    """Delete one article in the caller's transaction; False when there is no such article.

    Tags, entity links and duplicate bands go with it (foreign keys cascade; triggers update
    the full-text index). When it was the first copy of a group of near-duplicates, the
    earliest remaining copy takes its place.
    """
    followers = [
        Copy(row.id, row.published_at, row.duplicate_of)
        for row in session.execute(
            select(col(Article.id), col(Article.published_at), col(Article.duplicate_of)).where(
                col(Article.duplicate_of) == article_id
            )
        )
    ]
    if followers:
        root = earliest(followers).id
        session.execute(
            update(Article).where(col(Article.duplicate_of) == article_id).values(duplicate_of=root)
        )
        session.execute(update(Article).where(col(Article.id) == root).values(duplicate_of=None))
    result = session.exec(delete(Article).where(col(Article.id) == article_id))
    return bool(result.rowcount)
