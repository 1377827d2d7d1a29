"""Article search in the database: matching ids, sort orders, exact totals, keyset paging."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Float, and_, cast, func, null, or_, select, tuple_
from sqlalchemy.sql import Select
from sqlmodel import Session, col

from app.models import Article, ArticleEntity, Entity, Source
from app.search.cursor import (
    Cursor,
    InvalidCursor,
    KeyCheck,
    is_count,
    is_id,
    is_score,
    is_timestamp,
)
from app.search.filter import ArticleFilter, Hit, Sort, filter_conditions
from app.search.text import matches

if TYPE_CHECKING:
    import tantivy

    from app.search.index import SearchIndex


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


def count_articles(session: Session, flt: ArticleFilter, index: SearchIndex | None = None) -> int:
    """The exact number of articles the filter admits (counted by the index when current)."""
    searcher = index.current_searcher(session) if index is not None else None
    if index is not None and searcher is not None:
        return index.count(searcher, flt)
    if flt.query is not None and flt == ArticleFilter(query=flt.query, search_in=flt.search_in):
        # Only a text query: count in the full-text index alone, without touching rows.
        dialect = session.get_bind().dialect.name
        matched = matches(dialect, flt.query, flt.search_in).subquery()
        return int(session.execute(select(func.count()).select_from(matched)).scalar_one())
    ids = matching_ids(session, flt).subquery()
    return int(session.execute(select(func.count()).select_from(ids)).scalar_one())


def sort_order(sort: Sort, score: Any) -> list[Any]:
    """ORDER BY terms giving the same order as search_articles' pages (undated last).

    The date orders are the one order of every engine: published_at to the microsecond,
    then id, then the undated by id; exactly the (published_at, id) index the database
    walks, so a page needs no sort (the index engine's side is in app/search/index.py).
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


def newest_id(session: Session) -> int:
    return int(session.execute(select(func.coalesce(func.max(col(Article.id)), 0))).scalar_one())


def search_articles(
    session: Session,
    flt: ArticleFilter,
    sort: Sort,
    limit: int,
    cursor: Cursor | None,
    index: SearchIndex | None = None,
) -> tuple[list[Hit], int]:
    """One page of hits after `cursor`, and the snapshot (newest id) the walk is bound to.

    The search index answers when it is current; a relevance walk stays on the engine it
    began on (the two engines' scores differ), date orders are the same on both. Every
    article by date is a walk of the database's (published_at, id) index, which reads one
    page's rows where the engine would rank them all.
    """
    if sort == "relevance" and flt.query is None:
        raise InvalidCursor("sort=relevance needs a text query q")
    snapshot = cursor.snapshot if cursor else newest_id(session)
    key = cursor.key if cursor else None
    unfiltered_by_date = sort != "relevance" and flt == ArticleFilter()
    searcher = None if unfiltered_by_date else _index_searcher(session, index, sort, key)
    if index is not None and searcher is not None:
        return _index_page(session, index, searcher, flt, sort, snapshot, key, limit), snapshot
    if sort == "relevance":
        return _relevance_page(session, flt, snapshot, key, limit), snapshot
    return _date_page(session, flt, sort == "-published_at", snapshot, key, limit), snapshot


def _index_searcher(
    session: Session, index: SearchIndex | None, sort: Sort, key: list[Any] | None
) -> tantivy.Searcher | None:
    if index is None:
        return None
    if sort == "relevance" and key is not None:
        # A relevance cursor carries a rank only when the index made its page.
        return index.any_searcher() if len(key) == 3 else None
    return index.current_searcher(session)


def _index_page(
    session: Session,
    index: SearchIndex,
    searcher: tantivy.Searcher,
    flt: ArticleFilter,
    sort: Sort,
    snapshot: int,
    key: list[Any] | None,
    limit: int,
) -> list[Hit]:
    # A first page needs no snapshot filter: the index holds what the database held when
    # the snapshot was read (an article indexed since then shows once, on this page, and
    # takes no place in the ranks of the walk). Without it, a text query runs on the
    # posting lists alone.
    bound = snapshot if key is not None else None
    rank = int(key[2]) if sort == "relevance" and key else 0
    if sort == "relevance":
        page = index.relevance_page(searcher, flt, bound, rank, limit)
    else:
        after = None
        if key is not None:
            after = (datetime.fromisoformat(key[0]) if key[0] else None, int(key[1]))
        page = index.date_page(searcher, flt, bound, sort == "-published_at", after, limit)
    rows = {
        article.id: (article, source)
        for article, source in session.execute(
            select(Article, Source)
            .outerjoin(Source, col(Source.id) == col(Article.source_id))
            .where(col(Article.id).in_(page.ids))
        ).all()
    }
    hits: list[Hit] = []
    for article_id, score in zip(page.ids, page.scores, strict=True):
        rank += article_id <= snapshot  # the position after this one, in the snapshot's ranks
        if article_id in rows:  # else deleted since the index was read
            article, source = rows[article_id]
            hits.append(Hit(article, source, score, rank=rank if sort == "relevance" else None))
    return hits


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
        .where(col(ArticleEntity.article_id).in_(article_ids))
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.article_id, ranked.c.id, ranked.c.name, ranked.c.type, ranked.c.mentions)
        .where(ranked.c.rank <= per_article)
        .order_by(ranked.c.article_id, ranked.c.rank)
    ).all()
    result: dict[int, list[tuple[Any, int]]] = {}
    for row in rows:
        result.setdefault(row.article_id, []).append((row, row.mentions))
    return result
