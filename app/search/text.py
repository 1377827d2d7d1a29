"""Full-text matching, ranking and snippets, per database: SQLite FTS5 or PostgreSQL tsvector."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    Float,
    Integer,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from app.search.page_snippets import page_snippets
from app.search.passages import highlight_query, needles, opening, passage_window
from app.search.query import Query, to_fts5, to_tsquery

SearchIn = Literal["all", "title", "body"]

# Title matches count this many times a body match in relevance (BM25 column weights).
TITLE_WEIGHT = 10.0
BODY_WEIGHT = 1.0

# The engines wrap matches in these; passage_window turns any in stored text into spaces,
# so they mark matches safely until the snippet is escaped and they become the caller's.
_OPEN, _CLOSE = "\x02", "\x03"

fts = table("article_fts", column("rowid", Integer))


# Plain tags a highlight marker may be; anything else is text without HTML's specials.
HIGHLIGHT_TAGS = ("mark", "b", "em", "strong")
_HTML_SPECIALS = set("<>&\"'")


class InvalidHighlight(ValueError):
    """Highlight markers that are neither a plain tag pair nor plain text."""


@dataclass(frozen=True)
class Highlight:
    """Markers put around each match in a snippet; None means plain text.

    Snippets are HTML: escaped text with only these markers inserted, so a marker is either
    one of the plain tags (<mark>…</mark>, <b>, <em>, <strong>) or text without < > & " '.
    """

    open: str = "<mark>"
    close: str = "</mark>"

    def __post_init__(self) -> None:
        tags = {f"<{tag}>": f"</{tag}>" for tag in HIGHLIGHT_TAGS}
        if self.open in tags or self.close in tags.values():
            if tags.get(self.open) != self.close:
                raise InvalidHighlight(
                    "highlight_open and highlight_close must be a matching pair of "
                    f"{', '.join(f'<{tag}>' for tag in HIGHLIGHT_TAGS)} tags "
                    f"(got {self.open!r} and {self.close!r})"
                )
            return
        for marker in (self.open, self.close):
            if _HTML_SPECIALS.intersection(marker) or not marker.isprintable():
                raise InvalidHighlight(
                    f"highlight marker {marker!r}: use one of "
                    f"{', '.join(f'<{tag}>' for tag in HIGHLIGHT_TAGS)} with its closing tag, "
                    "or plain text without < > & \" ' or control characters"
                )


def render_snippet(raw: str, highlight: Highlight | None) -> str:
    """HTML-escape a snippet whose matches are wrapped in the internal markers, then put the
    caller's markers in their place (the text itself never holds the internal markers)."""
    opened, closed = (highlight.open, highlight.close) if highlight else ("", "")
    pieces = re.split(f"([{_OPEN}{_CLOSE}])", " ".join(raw.split()))
    return "".join(
        opened if piece == _OPEN else closed if piece == _CLOSE else html.escape(piece, quote=False)
        for piece in pieces
    )


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
    window: int,
) -> dict[int, str]:
    """The best matching passage of each article of a page (id → title, body), escaped and
    highlighted; chosen from a window of `window` characters around the first match."""
    if not texts:
        return {}
    query = highlight_query(query)
    found = needles(query)
    windows = {
        i: (passage_window(title, found, window), passage_window(body, found, window))
        for i, (title, body) in texts.items()
    }
    match = to_fts5(query, fts5_columns(search_in))
    rows = page_snippets(session, match, windows, tokens, (_OPEN, _CLOSE))
    return {row[0]: render_snippet(row[1] or "", highlight) for row in rows}


def lede_snippet(text_: str | None, tokens: int, window: int = 2_000) -> str | None:
    """The opening words of an article, for results without a text query."""
    if not text_:
        return None
    words = opening(text_, window).split()
    shortened = " ".join(words[:tokens]) + (" …" if len(words) > tokens else "")
    return html.escape(shortened, quote=False)
