"""Article search in the database: matching ids, sort orders, exact totals, keyset paging."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

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
from sqlalchemy.orm import join
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
from app.search.filter import (
    ArticleFilter,
    Hit,
    HitArticle,
    HitSource,
    Sort,
    filter_conditions,
)
from app.search.text import matches

# HitArticle's columns, then HitSource's: what every hit is read from.
HIT_COLUMNS = (
    *(getattr(Article, name) for name in HitArticle._fields),
    *(getattr(Source, name) for name in HitSource._fields),
)
_SOURCE_AT = len(HitArticle._fields)
_EXTRA_AT = _SOURCE_AT + len(HitSource._fields)


def hit_statement(*extra: Any, articles: Any = Article) -> Select[Any]:
    """SELECT the hit columns, then `extra`, from `articles` (article, or a join of it)
    with each article's source (if any)."""
    return (
        select(*HIT_COLUMNS, *extra)
        .select_from(articles)
        .outerjoin(Source, col(Source.id) == col(Article.source_id))
    )


def hit_of(row: Sequence[Any], score: float | None = None, rank: int | None = None) -> Hit:
    """A hit from a row of hit_statement()."""
    source_id = row[_SOURCE_AT]
    return Hit(
        HitArticle._make(row[:_SOURCE_AT]),
        HitSource(source_id, row[_SOURCE_AT + 1]) if source_id is not None else None,
        score,
        rank,
    )


def read_hits(
    session: Session, statement: Select[Any], params: Any = None
) -> Sequence[Sequence[Any]]:
    """Rows of a hit_statement(), a page's: on the session's connection, as plain rows (the
    ORM's objects and bookkeeping are what a search page cost most beside its text search),
    fetched at once (row by row, each row is a trip through the result's machinery)."""
    return session.connection().execute(statement, params).all()


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
        return _scalar(session, select(func.count()).select_from(matched))
    ids = matching_ids(session, flt).subquery()
    return _scalar(session, select(func.count()).select_from(ids))


def _scalar(session: Session, statement: Select[Any]) -> int:
    """A count on the session's connection (the ORM's execution adds nothing to a number)."""
    return int(session.connection().execute(statement).scalar_one())


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
    return _scalar(session, _NEWEST_ID)


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


# Typed NULL: PostgreSQL would otherwise send an untyped (text) NULL for a float.
_NO_SCORE = cast(null(), Float).label("score")
# Every page without q starts from this: built once, as its filters are added per request.
_UNSCORED_HITS = hit_statement(_NO_SCORE)


def _hits_statement(session: Session, flt: ArticleFilter, snapshot: int) -> tuple[Select[Any], Any]:
    """SELECT the hit columns and the score under every filter, unordered; and the score."""
    statement: Select[Any]
    if flt.query is not None:
        dialect = session.get_bind().dialect.name
        matched = matches(dialect, flt.query, flt.search_in).subquery()
        score: Any = matched.c.score
        articles = join(Article, matched, matched.c.id == col(Article.id))
        statement = hit_statement(score, articles=articles)
    else:
        score = _NO_SCORE
        statement = _UNSCORED_HITS
    return statement.where(col(Article.id) <= snapshot, *filter_conditions(flt)), score


def _run(session: Session, statement: Select[Any]) -> list[Hit]:
    return [hit_of(row, row[_EXTRA_AT]) for row in read_hits(session, statement)]


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


class TopEntity(NamedTuple):
    """One of an article's most-mentioned entities."""

    id: int
    name: str
    type: str
    mentions: int


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
    session: 8.7 ms to 4.8 ms). Its cost follows the page, not the entity table.

    Each link's entity is a LATERAL lookup of its own (`LIMIT 1` keeps PostgreSQL from
    flattening it into a join): at a million articles ANALYZE's sample put some 174 links
    on an article for the true 25, and a plain join was planned as a hash join reading the
    whole entity table again for every article of the page (37 ms for a page of 20; 4 ms
    so)."""
    ids = bindparam("ids", type_=ARRAY(Integer))
    page = func.unnest(ids).table_valued("id").render_derived(name="page")
    named = (
        select(col(Entity.id), col(Entity.name), col(Entity.type))
        .where(col(Entity.id) == col(ArticleEntity.entity_id))
        .limit(1)
        .lateral("named")
    )
    best = (
        select(named.c.id, named.c.name, named.c.type, col(ArticleEntity.mentions))
        .select_from(ArticleEntity)
        .join(named, true())
        .where(col(ArticleEntity.article_id) == page.c.id)
        .order_by(col(ArticleEntity.mentions).desc(), named.c.name, named.c.id)
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
) -> dict[int, list[TopEntity]]:
    """The most-mentioned entities of each article, most mentions first.

    The database ranks and cuts each article's list, and only those columns are read: an
    article of the corpus links some 25 entities and a page shows five of each. Plain rows
    on the session's connection: through the ORM, the page's hundred rows cost more than
    the statement.
    """
    if not article_ids:
        return {}
    connection = session.connection()
    rows = connection.execute(
        _TOP_ENTITIES[connection.dialect.name],
        {"ids": list(article_ids), "per_article": per_article},
    ).all()
    result: dict[int, list[TopEntity]] = {}
    for article_id, *entity in rows:
        result.setdefault(article_id, []).append(TopEntity._make(entity))
    return result
