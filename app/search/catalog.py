"""Sources and entities with their article counts: the catalogue users browse before searching."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy import Text, and_, case, cast, func, literal, or_, select
from sqlalchemy.sql import ColumnElement, Select, SQLColumnExpression
from sqlmodel import Session, col

from app.keys import name_key
from app.models import Article, ArticleEntity, Entity, EntityAlias, EntityStats, Source
from app.search.cursor import KeyCheck, is_count, is_id

EntitySort = Literal["articles", "name"]
# How well an entity matched q: an alias equal to it, a name or word starting with it, or a
# substring. Better matches list first whatever the sort.
EXACT, PREFIX, SUBSTRING = 0, 1, 2


@dataclass
class EntityRow:
    """An entity with its counts and how well it matched the name filter."""

    entity: Entity
    articles: int
    mentions: int
    rank: int


@dataclass
class EntityActivity:
    """How much and when an entity is mentioned."""

    articles: int
    mentions: int
    first_seen: datetime | None
    last_seen: datetime | None


def sources_with_counts(session: Session, source_id: int | None = None) -> list[tuple[Source, int]]:
    """Every source (or the one with `source_id`) and how many articles it has, most
    articles first."""
    counts = (
        select(col(Article.source_id), func.count().label("n"))
        .group_by(col(Article.source_id))
        .subquery()
    )
    statement = (
        select(Source, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.source_id == col(Source.id))
        .order_by(func.coalesce(counts.c.n, 0).desc(), col(Source.name))
    )
    if source_id is not None:
        statement = statement.where(col(Source.id) == source_id)
    rows = session.execute(statement).all()
    return [(row[0], int(row[1])) for row in rows]


def entity_stats() -> Select[int, int, int]:
    """SELECT entity_id, article count, mention count: the counts the link triggers keep."""
    return select(
        col(EntityStats.entity_id),
        col(EntityStats.articles).label("articles"),
        col(EntityStats.mentions).label("mentions"),
    )


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def name_matches(name: str) -> Select[int, int]:
    """SELECT entity_id, rank for entities with an alias containing `name` (folded)."""
    key = _like_escaped(name_key(name))
    rank = case(
        (col(EntityAlias.key) == name_key(name), EXACT),
        (
            or_(
                col(EntityAlias.key).like(key + "%", escape="\\"),
                col(EntityAlias.key).like("% " + key + "%", escape="\\"),
            ),
            PREFIX,
        ),
        else_=SUBSTRING,
    )
    return (
        select(col(EntityAlias.entity_id), func.min(rank).label("rank"))
        .where(col(EntityAlias.key).like("%" + key + "%", escape="\\"))
        .group_by(col(EntityAlias.entity_id))
    )


def entity_listing(
    name: str | None, entity_type: str | None, min_articles: int
) -> Select[Entity, int, int, int]:
    """SELECT Entity, articles, mentions, rank: filtered by a name/alias part, type and count."""
    stats = entity_stats().subquery()
    rank: ColumnElement[int] = literal(EXACT)
    statement = select(Entity, stats.c.articles, stats.c.mentions)
    if name:
        matched = name_matches(name).subquery()
        rank = matched.c.rank
        statement = statement.join(matched, matched.c.entity_id == col(Entity.id))
    statement = (
        statement.add_columns(rank.label("rank"))
        .join(stats, stats.c.entity_id == col(Entity.id))
        .where(stats.c.articles >= min_articles)
    )
    if entity_type:
        statement = statement.where(col(Entity.type) == entity_type)
    return statement


def _sort_columns(
    statement: Select[Entity, int, int, int], sort: EntitySort
) -> list[tuple[SQLColumnExpression[Any], bool]]:
    """(column, descending) pairs of the order: match rank, then the sort, then id."""
    columns = statement.selected_columns
    second = (
        (columns.articles, True) if sort == "articles" else (func.lower(col(Entity.name)), False)
    )
    return [(columns.rank, False), second, (col(Entity.id), False)]


def _after(
    order: list[tuple[SQLColumnExpression[Any], bool]], key: list[int | str]
) -> ColumnElement[bool]:
    """Rows strictly after `key` in the order (a lexicographic keyset condition)."""
    column, descending = order[0]
    beyond = column < key[0] if descending else column > key[0]
    if len(order) == 1:
        return beyond
    return or_(beyond, and_(column == key[0], _after(order[1:], key[1:])))


def entity_page(
    session: Session,
    statement: Select[Entity, int, int, int],
    sort: EntitySort,
    limit: int,
    after: list[int | str] | None,
) -> tuple[list[EntityRow], int]:
    """One page of an entity listing after the key of the previous page's last row, and the
    total number of rows the listing has."""
    total = session.execute(select(func.count()).select_from(statement.subquery())).scalar_one()
    order = _sort_columns(statement, sort)
    statement = statement.order_by(*(c.desc() if d else c.asc() for c, d in order))
    if after is not None:
        statement = statement.where(_after(order, after))
    rows = session.execute(statement.limit(limit)).all()
    page = [EntityRow(r[0], int(r[1]), int(r[2] or 0), int(r[3])) for r in rows]
    return page, int(total)


def entity_key_check(sort: EntitySort) -> KeyCheck:
    """What entity_page_key writes for `sort`: [rank, articles or lower-case name, id]."""

    def second_part(value: Any) -> bool:
        if sort == "articles":
            return is_count(value)
        return isinstance(value, str) and len(value) <= 1000

    return lambda key, _snapshot: (
        len(key) == 3 and is_count(key[0]) and second_part(key[1]) and is_id(key[2])
    )


def entity_page_key(sort: EntitySort, row: EntityRow) -> list[Any]:
    """The keyset position of a row, as _sort_columns orders rows."""
    second = row.articles if sort == "articles" else row.entity.name.lower()
    return [row.rank, second, row.entity.id]


def entity_activity(session: Session, entity_id: int) -> EntityActivity:
    """Article and mention counts, and the first and last publication dates mentioning it."""
    first, last = session.execute(
        select(func.min(col(Article.published_at)), func.max(col(Article.published_at)))
        .select_from(ArticleEntity)
        .join(Article, col(Article.id) == col(ArticleEntity.article_id))
        .where(col(ArticleEntity.entity_id) == entity_id)
    ).one()
    counted = session.execute(
        select(col(EntityStats.articles), col(EntityStats.mentions)).where(
            col(EntityStats.entity_id) == entity_id
        )
    ).one_or_none()
    articles, mentions = counted if counted is not None else (0, 0)
    return EntityActivity(int(articles), int(mentions), first, last)


# How a form was found, in the order shown: by recognition in an article's text, or tied to
# the entity by the alias file or by a person.
FOUND_BY_ORDER = ("model", "gazetteer", "alias file", "curation")


@dataclass(frozen=True)
class FormFound:
    """One form of an entity: the articles that write it and every way it was found."""

    form: str
    articles: int
    found_by: list[str]


def forms_found(session: Session, entity_id: int) -> list[FormFound]:
    """Each form of the entity (as its articles write it, and its curated aliases), most
    written first, with how recognition found it and whether the alias file or a person
    tied it to the entity."""
    articles: dict[str, int] = {}
    ways: dict[str, set[str]] = {}
    # As text, decoded here by orjson: the JSON type's decoding was most of the time for an
    # entity with tens of thousands of links.
    links = session.execute(
        select(cast(col(ArticleEntity.forms), Text), cast(col(ArticleEntity.found_by), Text)).where(
            col(ArticleEntity.entity_id) == entity_id
        )
    )
    for forms_text, found_by_text in links:
        forms, found_by = orjson.loads(forms_text), orjson.loads(found_by_text)
        for form in forms:
            articles[form] = articles.get(form, 0) + 1
            ways.setdefault(form, set()).update(found_by.get(form, ()))
    curated = session.execute(
        select(col(EntityAlias.alias), col(EntityAlias.curated_by)).where(
            col(EntityAlias.entity_id) == entity_id, col(EntityAlias.curated).is_(True)
        )
    )
    for alias, curated_by in curated:
        ways.setdefault(alias, set()).add(curated_by or "curation")
    ranked = sorted(ways, key=lambda form: (-articles.get(form, 0), form))
    return [
        FormFound(form, articles.get(form, 0), [w for w in FOUND_BY_ORDER if w in ways[form]])
        for form in ranked
    ]


def aliases_of(session: Session, entity_id: int) -> list[str]:
    """Every form stored as naming the entity, A–Z, each once (a form may be stored under two
    types, as after merging entities of different types)."""
    return list(
        session.execute(
            select(col(EntityAlias.alias))
            .distinct()
            .where(col(EntityAlias.entity_id) == entity_id)
            .order_by(col(EntityAlias.alias))
        ).scalars()
    )
