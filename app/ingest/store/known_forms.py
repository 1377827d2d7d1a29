"""What the archive knows for the gazetteer: the forms of entities stored articles mention
again and again, the forms a person curated, and the forms several entities share."""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy
from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.ingest.entities.gazetteer import GAZETTEER_TYPES, Gazetteer, KnownForm
from app.models import Article, ArticleEntity, Entity, EntityAlias

# Set by the curation commands (merge, split, rename, retype); the alias file's own rows say
# "alias file" and are found by its phrases, not here.
_BY_CURATION = col(EntityAlias.curated).is_(True) & (
    func.coalesce(col(EntityAlias.curated_by), "curation") == "curation"
)


def known_forms(
    session: Session, min_articles: int, entity_ids: Collection[int] | None = None
) -> tuple[list[KnownForm], set[str]]:
    """The forms of entities linked to at least `min_articles` articles and the forms
    curation tied to an entity (or only those of `entity_ids`, the ones a batch linked),
    with the keys among them or those entities' other forms that name several entities."""
    recurring = (
        select(col(ArticleEntity.entity_id))
        .group_by(col(ArticleEntity.entity_id))
        .having(func.count() >= min_articles)
    )
    wanted: ColumnElement[bool]
    if entity_ids is not None:
        recurring = recurring.where(col(ArticleEntity.entity_id).in_(entity_ids))
        wanted = col(EntityAlias.entity_id).in_(recurring)
        touched = select(col(EntityAlias.key)).where(col(EntityAlias.entity_id).in_(entity_ids))
    else:
        wanted = or_(col(EntityAlias.entity_id).in_(recurring), _BY_CURATION)
        touched = select(col(EntityAlias.key)).where(wanted)
    # sqlalchemy's select: sqlmodel's overloads take no boolean expression as a column.
    rows = session.execute(
        sqlalchemy.select(
            col(EntityAlias.alias),
            col(EntityAlias.key),
            col(Entity.type),
            col(EntityAlias.entity_id),
            _BY_CURATION,
        )
        .join(Entity, col(Entity.id) == col(EntityAlias.entity_id))
        .where(wanted, col(Entity.type).in_(GAZETTEER_TYPES))
    ).all()
    forms = [
        KnownForm(alias, key, entity_type, entity_id, "curation" if curated else "gazetteer")
        for alias, key, entity_type, entity_id, curated in rows
    ]
    return forms, set(session.exec(_shared_keys(touched)).all())


def _shared_keys(keys: SelectOfScalar[str]) -> SelectOfScalar[str]:
    """Those of the keys that forms of more than one entity have."""
    return (
        select(col(EntityAlias.key))
        .where(col(EntityAlias.key).in_(keys))
        .group_by(col(EntityAlias.key))
        .having(func.count(func.distinct(col(EntityAlias.entity_id))) > 1)
    )


def curation_mark(session: Session) -> tuple[int, int | None]:
    """Changes whenever a curated alias is written or removed (every curation writes one):
    the gazetteer is built again when it does."""
    count, last = session.exec(
        select(func.count(), func.max(col(EntityAlias.id))).where(
            col(EntityAlias.curated).is_(True)
        )
    ).one()
    return count, last


class ArchiveGazetteer:
    """The gazetteer of one database kept between single-article writes (POST /articles):
    built at first use and again after a curation, otherwise grown from the entities linked
    to the articles added since it last looked (their ids are above the largest it saw).

    An edit of an older article that makes a form recur is learnt at the next build (the next
    curation, or a restart), as an ingest learns it at its next run.
    """

    def __init__(self, min_articles: int) -> None:
        self.min_articles = min_articles
        self._gazetteer: Gazetteer | None = None
        self._curation: tuple[int, int | None] | None = None
        self._last_article = 0

    def current(self, session: Session) -> Gazetteer | None:
        """The gazetteer brought up to date with the store; None when the setting turns it off."""
        if self.min_articles == 0:
            return None
        mark = curation_mark(session)
        last = session.exec(select(func.max(col(Article.id)))).one() or 0
        if self._gazetteer is None or mark != self._curation:
            self._gazetteer, self._curation = Gazetteer(), mark
            self._gazetteer.add(*known_forms(session, self.min_articles))
        elif last > self._last_article:
            linked = select(col(ArticleEntity.entity_id)).where(
                col(ArticleEntity.article_id) > self._last_article
            )
            self._gazetteer.add(*known_forms(session, self.min_articles, set(session.exec(linked))))
        self._last_article = last
        return self._gazetteer
