"""Full-text matching, ranking and snippets, per database: SQLite FTS5 or PostgreSQL tsvector."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    Float,
    Integer,
    Row,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from app.search.query import Query, has_prefix, to_fts5, to_tsquery

SearchIn = Literal["all", "title", "body"]

# Title matches count this many times a body match in relevance (BM25 column weights).
TITLE_WEIGHT = 10.0
BODY_WEIGHT = 1.0

# Control characters cannot occur in stored text, so they mark matches safely until the
# snippet is HTML-escaped and they are swapped for the caller's markers.
_OPEN, _CLOSE = "\x02", "\x03"

fts = table("article_fts", column("rowid", Integer))


@dataclass(frozen=True)
class Highlight:
    """Markers put around each match in a snippet; None means plain text."""

    open: str = "<mark>"
    close: str = "</mark>"


def render_snippet(raw: str, highlight: Highlight | None) -> str:
    """HTML-escape a snippet whose matches are wrapped in the internal markers."""
    escaped = html.escape(" ".join(raw.split()), quote=False)
    if highlight is None:
        return escaped.replace(_OPEN, "").replace(_CLOSE, "")
    return escaped.replace(_OPEN, highlight.open).replace(_CLOSE, highlight.close)


def fts5_columns(search_in: SearchIn) -> list[str] | None:
    return None if search_in == "all" else [search_in]


def matches(dialect: str, query: Query, search_in: SearchIn) -> Select[tuple[int, float]]:
    """SELECT id, score of the articles matching `query`; a higher score is more relevant.

    The scores of the two databases differ (BM25 on SQLite, cover density on PostgreSQL),
    so the order of equally good matches may too; which articles match does not.
    """
    if dialect == "sqlite":
        bm25 = func.bm25(literal_column("article_fts"), TITLE_WEIGHT, BODY_WEIGHT)
        return select(fts.c.rowid.label("id"), (-bm25).label("score")).where(
            literal_column("article_fts").op("MATCH")(
                bindparam("fts_match", to_fts5(query, fts5_columns(search_in)))
            )
        )
    vector = _pg_vector(search_in)
    tsquery = _pg_tsquery(query)
    score = func.ts_rank_cd(_PG_WEIGHTS, vector, tsquery, PG_LENGTH_NORMALIZATION)
    return select(article.c.id.label("id"), score.cast(Float).label("score")).where(
        vector.op("@@")(tsquery)
    )


# ts_rank_cd weights for {D, C, B, A}: the title (A) counts TITLE_WEIGHT times the body (B).
_PG_WEIGHTS: ColumnElement[Any] = literal_column(
    f"'{{0, 0, {BODY_WEIGHT / TITLE_WEIGHT}, 1}}'::float4[]"
)
# Divide the rank by 1 + log(document length), as BM25 favours short documents.
PG_LENGTH_NORMALIZATION = 1

article = table("article", column("id", Integer), column("body"), column("search_vector"))


def _pg_tsquery(query: Query) -> ColumnElement[Any]:
    """to_tsquery over our compiled text: every lexeme is quoted, so nothing is user syntax."""
    return func.to_tsquery(
        literal_column("'newsdesk'::regconfig"), bindparam("tsquery", to_tsquery(query))
    )


def _pg_vector(search_in: SearchIn) -> ColumnElement[Any]:
    """The article's tsvector, or only its title (A) or body (B) lexemes."""
    if search_in == "all":
        return article.c.search_vector
    weight = "A" if search_in == "title" else "B"
    return func.ts_filter(article.c.search_vector, literal_column(f"'{{{weight}}}'::\"char\"[]"))


def snippets(
    session: Session,
    query: Query,
    search_in: SearchIn,
    texts: Mapping[int, tuple[str | None, str | None]],
    tokens: int,
    highlight: Highlight | None,
) -> dict[int, str]:
    """The best matching passage of each article of a page (id → title, body), escaped and
    highlighted."""
    if not texts:
        return {}
    if session.get_bind().dialect.name == "sqlite" and has_prefix(query):
        rows = _page_fts5_snippets(session, query, search_in, texts, tokens)
    elif session.get_bind().dialect.name == "sqlite":
        rows = _fts5_snippets(session, query, search_in, list(texts), tokens)
    else:
        rows = _pg_snippets(session, query, list(texts), tokens)
    return {row[0]: render_snippet(row[1] or "", highlight) for row in rows}


# A full-text table of the connection's own (SQLite's temp schema) that holds one page.
_PAGE_FTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.page_fts USING fts5("
    "title, body, tokenize='unicode61 remove_diacritics 2')"
)


def _fts5_snippets(
    session: Session, query: Query, search_in: SearchIn, ids: Sequence[int], tokens: int
) -> Sequence[Row[Any]]:
    """FTS5's snippet(): the best passage of whichever column matched."""
    statement = text(
        "SELECT rowid, snippet(article_fts, -1, :open, :close, '…', :tokens) "
        "FROM article_fts WHERE article_fts MATCH :match AND rowid IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    parameters = {
        "open": _OPEN,
        "close": _CLOSE,
        "tokens": tokens,
        "match": to_fts5(query, fts5_columns(search_in)),
        "ids": list(ids),
    }
    return session.execute(statement, parameters).all()


def _page_fts5_snippets(
    session: Session,
    query: Query,
    search_in: SearchIn,
    texts: Mapping[int, tuple[str | None, str | None]],
    tokens: int,
) -> Sequence[Row[Any]]:
    """The same snippet() over a temporary table holding only the page's articles, for a
    query with a prefix: over the whole index, FTS5 first expands a prefix such as `elect*`
    across every article (most of half a second at a million articles, for 20 snippets),
    while copying one page costs a few milliseconds whatever the query."""
    session.execute(text(_PAGE_FTS))
    session.execute(text("DELETE FROM temp.page_fts"))
    session.execute(
        text("INSERT INTO temp.page_fts(rowid, title, body) VALUES (:id, :title, :body)"),
        [{"id": i, "title": title, "body": body} for i, (title, body) in texts.items()],
    )
    statement = text(
        "SELECT rowid, snippet(page_fts, -1, :open, :close, '…', :tokens) "
        "FROM temp.page_fts WHERE page_fts MATCH :match"
    )
    parameters = {
        "open": _OPEN,
        "close": _CLOSE,
        "tokens": tokens,
        "match": to_fts5(query, fts5_columns(search_in)),
    }
    return session.execute(statement, parameters).all()


def _pg_snippets(
    session: Session, query: Query, ids: Sequence[int], tokens: int
) -> Sequence[Row[Any]]:
    """ts_headline() over the body: its passage, and so the snippet text, differ from FTS5's.

    ts_headline parses the raw body, where "U.S." is one token, so a match the index found
    through punctuation may go unmarked; the passage then is the body's opening words.
    """
    options = (
        f"StartSel={_OPEN}, StopSel={_CLOSE}, MaxWords={tokens}, MinWords={tokens // 2}, "
        "MaxFragments=1, FragmentDelimiter=…"
    )
    headline = func.ts_headline(
        literal_column("'newsdesk'::regconfig"), article.c.body, _pg_tsquery(query), options
    )
    statement = select(article.c.id, headline).where(article.c.id.in_(list(ids)))
    return session.execute(statement).all()


def lede_snippet(text_: str | None, tokens: int) -> str | None:
    """The opening words of an article, for results without a text query."""
    if not text_:
        return None
    words = text_.split()
    shortened = " ".join(words[:tokens]) + (" …" if len(words) > tokens else "")
    return html.escape(shortened, quote=False)
