"""Article search: filters, sort orders, exact totals and keyset paging with no depth limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Float, and_, cast, false, func, null, or_, select, tuple_
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session, col

from app.models import Article, ArticleEntity, ArticleTag, Entity, Source
from app.search.cursor import (
    KeyCheck,
    is_count,
    is_id,
    is_score,
    is_timestamp,
)
from app.search.query import Query
from app.search.text import SearchIn, matches

Sort = Literal["relevance", "published_at", "-published_at"]


@dataclass
class ArticleFilter:
    """Everything that narrows a set of articles; shared by search, facets, timeline, exports."""

    query: Query | None = None
    search_in: SearchIn = "all"
    source_ids: list[int] | None = None
    published_from: datetime | None = None
    published_to: datetime | None = None
    entity_groups: list[list[int]] = field(default_factory=list)
    entity_types: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    exclude_duplicates: bool = False
    # Bare lower-case hosts ("bbc.co.uk"): the source's domain or the article URL's host.
    domains: list[str] = field(default_factory=list)
    exclude_domains: list[str] = field(default_factory=list)
    # Only articles with an id up to this: a walk's snapshot, so that the total and facets of
    # its later pages count the articles its pages list, not ones ingested since.
    up_to_id: int | None = None


@dataclass
class Hit:
    article: Article
    source: Source | None
    score: float | None
    # Relevance pages from the search index: the position after this hit, for the cursor.
    rank: int | None = None


def filter_conditions(flt: ArticleFilter) -> list[ColumnElement[bool]]:
    """WHERE conditions on Article for every filter except the text query."""
    conditions: list[ColumnElement[bool]] = []
    if flt.source_ids is not None:
        conditions.append(Article.source_id.in_(flt.source_ids) if flt.source_ids else false())
    if flt.published_from is not None:
        conditions.append(Article.published_at >= flt.published_from)
    if flt.published_to is not None:
        conditions.append(Article.published_at <= flt.published_to)
    for group in flt.entity_groups:
        conditions.append(
            Article.id.in_(
                select(ArticleEntity.article_id).where(ArticleEntity.entity_id.in_(group))
            )
        )
    if flt.entity_types:
        conditions.append(
            Article.id.in_(
                select(ArticleEntity.article_id)
                .join(Entity, Entity.id == ArticleEntity.entity_id)
                .where(Entity.type.in_(flt.entity_types))
            )
        )
    if flt.languages:
        conditions.append(Article.language.in_(flt.languages))
    if flt.tags:
        conditions.append(
            Article.id.in_(select(ArticleTag.article_id).where(ArticleTag.tag.in_(flt.tags)))
        )
    if flt.exclude_duplicates:
        conditions.append(Article.duplicate_of.is_(None))
    if flt.domains:
        conditions.append(on_domains(flt.domains))
    if flt.exclude_domains:
        conditions.append(~on_domains(flt.exclude_domains))
    if flt.up_to_id is not None:
        conditions.append(Article.id <= flt.up_to_id)
    return conditions


def on_domains(domains: list[str]) -> ColumnElement[bool]:
    """Articles whose source's domain is one of `domains` or whose URL is on one (www. too).

    Never NULL, so its negation keeps articles without a URL or a source.
    """
    url = func.coalesce(func.lower(Article.url), "") + "/"
    escaped = [d.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for d in domains]
    on_url = [
        url.like(f"{scheme}://{www}{domain}/%", escape="\\")
        for domain in escaped
        for scheme in ("http", "https")
        for www in ("", "www.")
    ]
    on_source = and_(
        Article.source_id.is_not(None),
        Article.source_id.in_(select(Source.id).where(Source.domain.in_(domains))),
    )
    return or_(on_source, *on_url)


def matching_ids(session: Session, flt: ArticleFilter) -> Select[Any]:
    """SELECT article.id, score for every article the filter admits (score NULL without q)."""
    statement: Select[Any]
    if flt.query is not None:
        matched = matches(session.get_bind().dialect.name, flt.query, flt.search_in).subquery()
        statement = select(Article.id, matched.c.score).join(matched, matched.c.id == Article.id)
    else:
        # Typed NULL: PostgreSQL would otherwise send an untyped (text) NULL for a float.
        statement = select(Article.id, cast(null(), Float).label("score"))
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
    walks, so a page needs no sort (the index engine's side is in app/search/index.py).
    """
    if sort == "relevance":
        return [score.desc(), Article.id.asc()]
    if sort == "-published_at":
        return [Article.published_at.is_(None), Article.published_at.desc(), Article.id.desc()]
    return [Article.published_at.is_(None), Article.published_at.asc(), Article.id.asc()]


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
    return int(session.execute(select(func.coalesce(func.max(Article.id), 0))).scalar_one())


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
        statement = select(Article, Source, score).join(matched, matched.c.id == Article.id)
    else:
        score = cast(null(), Float).label("score")
        statement = select(Article, Source, score)
    statement = statement.outerjoin(Source, Source.id == Article.source_id).where(
        Article.id <= snapshot, *filter_conditions(flt)
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
            or_(score < last_score, and_(score == last_score, Article.id > last_id))
        )
    return _run(session, statement.order_by(score.desc(), Article.id.asc()).limit(limit))


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
    published, article_id = Article.published_at, Article.id
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
            partition_by=ArticleEntity.article_id,
            order_by=[ArticleEntity.mentions.desc(), Entity.name, col(Entity.id)],
        )
        .label("rank")
    )
    ranked = (
        select(
            ArticleEntity.article_id,
            Entity.id,
            Entity.name,
            Entity.type,
            ArticleEntity.mentions,
            rank,
        )
        .join(Entity, Entity.id == ArticleEntity.entity_id)
        .where(ArticleEntity.article_id.in_(article_ids))
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
