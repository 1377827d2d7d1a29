"""Article search in the database: matching ids, sort orders, exact totals, keyset paging."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    and_,
    bindparam,
    cast,
    func,
    null,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import Select
from sqlmodel import Session, col

from app.models import Article, ArticleEntity, Entity, Source
from app.search.cursor import (
    KeyCheck,
    is_count,
    is_id,
    is_score,
    is_timestamp,
)
from app.search.filter import ArticleFilter, Hit, Sort, filter_conditions
from app.search.text import matches


def matching_ids(session: Session, flt: ArticleFilter) -> Select[Any]:
    """SELECT article.id, score for every article the filter admits (score NULL without q)."""
    statement: Select[Any]
    if flt.query is not None:
        matched = matches(session.get_bind().dialect.name, flt.query, flt.search_in).subquery()
        statement = select(col(Article.id), matched.c.score).join(
            matched, matched.c.id == col(Article.id)
        )
    else:
        # Typed NULL: PostgreSQL would otherwise send an untyped (text) NULL for a float.
        statement = select(col(Article.id), cast(null(), Float).label("score"))
    return statement.where(*filter_conditions(flt))


def count_articles(session: Session, flt: ArticleFilter) -> int:
    """The exact number of articles the filter admits, counted by the database."""
    if flt.query is not None and flt == ArticleFilter(query=flt.query, search_in=flt.search_in):
        # Only a text query: count in the full-text index alone, without touching rows.
        dialect = session.get_bind().dialect.name
        matched = matches(dialect, flt.query, flt.search_in).subquery()
        return int(session.execute(select(func.count()).select_from(matched)).scalar_one())
    ids = matching_ids(session, flt).subquery()
    return int(session.execute(select(func.count()).select_from(ids)).scalar_one())


def sort_order(sort: Sort, score: Any) -> list[Any]:
    """ORDER BY terms giving the same order as database_page's pages (undated last).

    The date orders are the one order of every engine: published_at to the microsecond,
    then id, then the undated by id; exactly the (published_at, id) index the database
    walks, so a page needs no sort (the index engine's side is in app/search/tantivy/index.py).
    """
    if sort == "relevance":
        return [score.desc(), col(Article.id).asc()]
    if sort == "-published_at":
        return [
            col(Article.published_at).is_(None),
            col(Article.published_at).desc(),
            col(Article.id).desc(),
        ]
    return [
        col(Article.published_at).is_(None),
        col(Article.published_at).asc(),
        col(Article.id).asc(),
    ]


def sort_key(sort: Sort, hit: Hit) -> list[Any]:
    if sort == "relevance":
        return [hit.score, hit.article.id] + ([hit.rank] if hit.rank is not None else [])
    published = hit.article.published_at
    return [published.isoformat() if published else None, hit.article.id]


def sort_key_check(sort: Sort) -> KeyCheck:
    """What sort_key writes for `sort`: [score, id] or [score, id, rank] for relevance (the
    rank, a position among the snapshot's articles, at most the snapshot), [date|None, id]
    for the date orders."""
    if sort == "relevance":
        return lambda key, snapshot: (
            len(key) in (2, 3)
            and is_score(key[0])
            and is_id(key[1])
            and (len(key) == 2 or (is_count(key[2]) and key[2] <= snapshot))
        )
    return lambda key, _snapshot: (
        len(key) == 2 and (key[0] is None or is_timestamp(key[0])) and is_id(key[1])
    )


# Built once: a statement's construction costs more than its run on a small page.
_NEWEST_ID = select(func.coalesce(func.max(col(Article.id)), 0))


def newest_id(session: Session) -> int:
    return int(session.execute(_NEWEST_ID).scalar_one())


def database_page(
    session: Session,
    flt: ArticleFilter,
    sort: Sort,
    snapshot: int,
    key: list[Any] | None,
    limit: int,
) -> list[Hit]:
    """One page of hits after the sort key `key`, among articles up to `snapshot`, read
    from the database. Every article by date is a walk of its (published_at, id) index,
    which reads one page's rows where a search engine would rank them all."""
    if sort == "relevance":
        return _relevance_page(session, flt, snapshot, key, limit)
    return _date_page(session, flt, sort == "-published_at", snapshot, key, limit)


def _hits_statement(session: Session, flt: ArticleFilter, snapshot: int) -> tuple[Select[Any], Any]:
    """SELECT article, source, score under every filter, unordered; and the score column."""
    statement: Select[Any]
    if flt.query is not None:
        dialect = session.get_bind().dialect.name
        matched = matches(dialect, flt.query, flt.search_in).subquery()
        score: Any = matched.c.score
        statement = select(Article, Source, score).join(matched, matched.c.id == col(Article.id))
    else:
        score = cast(null(), Float).label("score")
        statement = select(Article, Source, score)
    statement = statement.outerjoin(Source, col(Source.id) == col(Article.source_id)).where(
        col(Article.id) <= snapshot, *filter_conditions(flt)
    )
    return statement, score


def _run(session: Session, statement: Select[Any]) -> list[Hit]:
    return [Hit(article=r[0], source=r[1], score=r[2]) for r in session.execute(statement).all()]


def _relevance_page(
    session: Session, flt: ArticleFilter, snapshot: int, key: list[Any] | None, limit: int
) -> list[Hit]:
    statement, score = _hits_statement(session, flt, snapshot)
    if key is not None:
        last_id = int(key[1])
        last_score = _score_now(session, flt, last_id, default=float(key[0]))
        statement = statement.where(
            or_(score < last_score, and_(score == last_score, col(Article.id) > last_id))
        )
    return _run(session, statement.order_by(score.desc(), col(Article.id).asc()).limit(limit))


def _score_now(session: Session, flt: ArticleFilter, article_id: int, default: float) -> float:
    """The score the previous page's last article has now (`default`, the cursor's, when it
    no longer matches).

    BM25 weighs words by the whole table: an article ingested since the cursor was made
    moves every score, so the cursor's own score no longer says where the walk stopped.
    """
    assert flt.query is not None
    matched = matches(session.get_bind().dialect.name, flt.query, flt.search_in).subquery()
    now = session.execute(select(matched.c.score).where(matched.c.id == article_id)).scalar()
    return default if now is None else float(now)


def _date_page(
    session: Session,
    flt: ArticleFilter,
    descending: bool,
    snapshot: int,
    key: list[Any] | None,
    limit: int,
) -> list[Hit]:
    """Dated articles in date order, then undated ones by id: two index walks, no full sort.

    Each segment is a plain keyset range on (published_at, id) or id, so any page, however
    deep, costs about what the first page costs.
    """
    statement, _ = _hits_statement(session, flt, snapshot)
    published, article_id = col(Article.published_at), col(Article.id)
    hits: list[Hit] = []
    last_date = datetime.fromisoformat(key[0]) if key and key[0] is not None else None
    if key is None or last_date is not None:
        dated = statement.where(published.is_not(None))
        if key is not None:
            position = tuple_(published, article_id)
            bound = tuple_(last_date, int(key[1]))
            dated = dated.where(position < bound if descending else position > bound)
        order = [published.desc(), article_id.desc()] if descending else [published, article_id]
        hits = _run(session, dated.order_by(*order).limit(limit))
        if len(hits) == limit:
            return hits
    undated = statement.where(published.is_(None))
    if key is not None and last_date is None:
        last_id = int(key[1])
        undated = undated.where(article_id < last_id if descending else article_id > last_id)
    order_by_id = article_id.desc() if descending else article_id.asc()
    return hits + _run(session, undated.order_by(order_by_id).limit(limit - len(hits)))


def _top_entities_ranked() -> Select[Any]:
    """Each article's entities ranked (most mentions first), the best `per_article` kept;
    the articles are the expanding parameter `ids`. SQLite's statement: one window over
    every link of the page's articles."""
    rank = (
        func.row_number()
        .over(
            partition_by=col(ArticleEntity.article_id),
            order_by=[col(ArticleEntity.mentions).desc(), col(Entity.name), col(Entity.id)],
        )
        .label("rank")
    )
    ranked = (
        select(
            col(ArticleEntity.article_id),
            col(Entity.id),
            col(Entity.name),
            col(Entity.type),
            col(ArticleEntity.mentions),
            rank,
        )
        .join(Entity, col(Entity.id) == col(ArticleEntity.entity_id))
        .where(col(ArticleEntity.article_id).in_(bindparam("ids", expanding=True)))
        .subquery()
    )
    return (
        select(ranked.c.article_id, ranked.c.id, ranked.c.name, ranked.c.type, ranked.c.mentions)
        .where(ranked.c.rank <= bindparam("per_article"))
        .order_by(ranked.c.article_id, ranked.c.rank)
    )


def _top_entities_per_article() -> Select[Any]:
    """The same rows as _top_entities_ranked, for PostgreSQL: per article (the array `ids`)
    a LATERAL subquery keeping its best `per_article` links (issue 19). PostgreSQL planned
    the window as a hash of the whole entity table, read for every page, and a sort of all
    the page's links; per article it looks its some 25 links' entities up by key and keeps
    the best in a top-N heap (a page of 20 at 100k articles, median of 60 runs through the
    session: 8.7 ms to 4.8 ms). Its cost follows the page, not the entity table; at a page
    of 100 over the benchmark's 13,600 entities the two are about even."""
    ids = bindparam("ids", type_=ARRAY(Integer))
    page = func.unnest(ids).table_valued("id").render_derived(name="page")
    best = (
        select(col(Entity.id), col(Entity.name), col(Entity.type), col(ArticleEntity.mentions))
        .join(Entity, col(Entity.id) == col(ArticleEntity.entity_id))
        .where(col(ArticleEntity.article_id) == page.c.id)
        .order_by(col(ArticleEntity.mentions).desc(), col(Entity.name), col(Entity.id))
        .limit(bindparam("per_article"))
        .lateral("best")
    )
    return (
        select(page.c.id.label("article_id"), best.c.id, best.c.name, best.c.type, best.c.mentions)
        .select_from(page.join(best, true()))
        .order_by(page.c.id, best.c.mentions.desc(), best.c.name, best.c.id)
    )


# Built once, run with each page's ids: building them took longer than running them.
_TOP_ENTITIES = {"sqlite": _top_entities_ranked(), "postgresql": _top_entities_per_article()}


def top_entities(
    session: Session, article_ids: Sequence[int], per_article: int
) -> dict[int, list[tuple[Any, int]]]:
    """The most-mentioned entities of each article, most mentions first: (entity, mentions)
    pairs, the entity a row with id, name and type.

    The database ranks and cuts each article's list, and only those columns are read: an
    article of the corpus links some 25 entities and a page shows five of each.
    """
    if not article_ids:
        return {}
    statement = _TOP_ENTITIES[session.get_bind().dialect.name]
    rows = session.execute(statement, {"ids": list(article_ids), "per_article": per_article}).all()
    result: dict[int, list[tuple[Any, int]]] = {}
    for row in rows:
        result.setdefault(row.article_id, []).append((row, row.mentions))
    return result
