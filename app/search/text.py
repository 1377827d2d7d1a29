"""Full-text matching, ranking and snippets, per database: SQLite FTS5 or PostgreSQL tsvector."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Float, Integer, bindparam, column, func, literal_column, select, table, text
from sqlalchemy.sql import Select
from sqlmodel import Session

from app.search.query import Query, to_fts5, to_tsquery

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
    """SELECT id, score of the articles matching `query`; a higher score is more relevant."""
    if dialect == "sqlite":
        bm25 = func.bm25(literal_column("article_fts"), TITLE_WEIGHT, BODY_WEIGHT)
        return select(fts.c.rowid.label("id"), (-bm25).label("score")).where(
            literal_column("article_fts").op("MATCH")(
                bindparam("fts_match", to_fts5(query, fts5_columns(search_in)))
            )
        )
    vector = _pg_vector(search_in)
    tsquery = func.to_tsquery(
        literal_column("'newsdesk'::regconfig"), bindparam("tsquery", to_tsquery(query))
    )
    article = table("article", column("id", Integer), column("search_vector"))
    return select(
        article.c.id.label("id"),
        func.ts_rank_cd(vector, tsquery).cast(Float).label("score"),
    ).where(vector.op("@@")(tsquery))


def _pg_vector(search_in: SearchIn) -> object:
    if search_in == "all":
        return literal_column("article.search_vector")
    weight = "A" if search_in == "title" else "B"
    return func.ts_filter(
        literal_column("article.search_vector"), literal_column(f"'{{{weight}}}'")
    )


def snippets(
    session: Session,
    query: Query,
    search_in: SearchIn,
    ids: Sequence[int],
    tokens: int,
    highlight: Highlight | None,
) -> dict[int, str]:
    """The best matching passage of each article in ids, escaped and highlighted."""
    if not ids:
        return {}
    if session.get_bind().dialect.name == "sqlite":
        statement = text(
            "SELECT rowid, snippet(article_fts, -1, :open, :close, '…', :tokens) "
            "FROM article_fts WHERE article_fts MATCH :match AND rowid IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        rows = session.execute(
            statement,
            {
                "open": _OPEN,
                "close": _CLOSE,
                "tokens": tokens,
                "match": to_fts5(query, fts5_columns(search_in)),
                "ids": list(ids),
            },
        ).all()
    else:
        statement = text(
            "SELECT id, ts_headline('newsdesk', body, to_tsquery('newsdesk', :q), :options) "
            "FROM article WHERE id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        options = (
            f"StartSel={_OPEN}, StopSel={_CLOSE}, MaxWords={tokens}, MinWords={tokens // 2}, "
            "MaxFragments=1, FragmentDelimiter=…"
        )
        rows = session.execute(
            statement, {"q": to_tsquery(query), "options": options, "ids": list(ids)}
        ).all()
    return {row[0]: render_snippet(row[1] or "", highlight) for row in rows}


def lede_snippet(text_: str | None, tokens: int) -> str | None:
    """The opening words of an article, for results without a text query."""
    if not text_:
        return None
    words = text_.split()
    shortened = " ".join(words[:tokens]) + (" …" if len(words) > tokens else "")
    return html.escape(shortened, quote=False)
