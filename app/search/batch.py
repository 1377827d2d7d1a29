"""Searching one batch of articles many times: which of them each saved search admits.

Matching runs every saved search against an ingest batch's few articles. Asked of the
archive, even restricted to the batch's ids, a text query walks its words' postings across
every article (FTS5 evaluates MATCH before any rowid test), so a batch would cost more as
the archive grows. Instead the batch's text is indexed once, alone, by the engine that
answers /articles, and every search runs against that small index with the same compiled
query and the same filters:

- the tantivy engine: an index in memory of the batch's documents, made by the code that
  makes the archive's (app/search/tantivy/sync.py): the same fields, the same analyzer;
- SQLite's FTS5: a temporary FTS5 table of the batch's title and body, folded and tokenized
  as the triggers fill article_fts; the other filters are the archive's SQL;
- PostgreSQL: the archive's own statement with the ids; its planner reads the batch's rows
  by id and tests each one's tsvector, never a whole posting list of the GIN index.

So a search matches an article of the batch exactly when /articles with its query lists it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from sqlalchemy import bindparam, text
from sqlmodel import Session

from app.search.articles import matching_ids
from app.search.filter import ArticleFilter
from app.search.letters import sqlite_fold
from app.search.query import Query, to_fts5
from app.search.text import SearchIn, fts5_columns

BATCH_FTS = "batch_fts"
_TOKENIZE = re.compile(r"tokenize\s*=\s*('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")", re.IGNORECASE)


class BatchSearch(Protocol):
    """One batch of articles, indexed once, searched with any number of filters."""

    def ids(self, flt: ArticleFilter) -> list[int]:
        """The batch's articles the filter admits, in no promised order."""
        ...


def _within(flt: ArticleFilter, batch: Sequence[int]) -> ArticleFilter:
    """The filter narrowed to the batch (and to its own ids, if it names some)."""
    if flt.article_ids is None:
        return replace(flt, article_ids=list(batch))
    wanted = set(flt.article_ids)
    return replace(flt, article_ids=[i for i in batch if i in wanted])


class DatabaseBatch:
    """The batch searched in the database: on SQLite, q in a temporary FTS5 table of the
    batch alone (see the module's docstring); on PostgreSQL, the archive's statement.

    A filter admits the articles its text query matches among those its other filters
    admit (matching_ids applies both in one statement): here each half is asked once per
    batch for all the searches that share it, as many searches share their filters (or
    have none but q), and the two answers are intersected.
    """

    def __init__(self, session: Session, ids: Sequence[int]) -> None:
        self.session = session
        self.batch = list(ids)
        self.sqlite = session.get_bind().dialect.name == "sqlite"
        if self.sqlite and self.batch:
            self._fill_sqlite_table()
        self._texts: dict[tuple[str, str], set[int]] = {}
        self._filters: dict[str, list[int]] = {}

    def _fill_sqlite_table(self) -> None:
        session = self.session
        # The archive's tokenizer, read off its table, so that words split as they do there.
        definition = session.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'article_fts'")
        ).scalar_one()
        tokenize = _TOKENIZE.search(definition)
        options = f", tokenize={tokenize.group(1)}" if tokenize else ""
        session.execute(
            text(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{BATCH_FTS} "
                f"USING fts5(title, body, content=''{options})"
            )
        )
        session.execute(text(f"INSERT INTO temp.{BATCH_FTS}({BATCH_FTS}) VALUES ('delete-all')"))
        # Folded as the insert trigger folds article_fts's rows (migration 0012).
        fill: Any = text(
            f"INSERT INTO temp.{BATCH_FTS}(rowid, title, body) "
            f"SELECT id, {sqlite_fold('title')}, {sqlite_fold('body')} FROM article "
            "WHERE id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        session.execute(fill, {"ids": self.batch})

    def ids(self, flt: ArticleFilter) -> list[int]:
        admitted = self._filtered(replace(flt, query=None, search_in="all"))
        if flt.query is None:
            return admitted
        matched = self._matched(flt.query, flt.search_in)
        return [article_id for article_id in admitted if article_id in matched]

    def _filtered(self, flt: ArticleFilter) -> list[int]:
        """The batch's articles every filter but q admits (asked once per such filter)."""
        key = repr(flt)
        if key not in self._filters:
            statement = matching_ids(self.session, _within(flt, self.batch))
            self._filters[key] = [int(row[0]) for row in self.session.execute(statement)]
        return self._filters[key]

    def _matched(self, query: Query, search_in: SearchIn) -> set[int]:
        """The batch's articles the text query matches (asked once per query)."""
        key = (repr(query), search_in)
        if key not in self._texts:
            if not self.batch:
                found: set[int] = set()
            elif self.sqlite:
                match = text(f"SELECT rowid FROM temp.{BATCH_FTS} WHERE {BATCH_FTS} MATCH :match")
                parameters = {"match": to_fts5(query, fts5_columns(search_in))}
                found = {int(i) for i in self.session.execute(match, parameters).scalars()}
            else:
                only_q = ArticleFilter(query=query, search_in=search_in, article_ids=self.batch)
                statement = matching_ids(self.session, only_q)
                found = {int(row[0]) for row in self.session.execute(statement)}
            self._texts[key] = found
        return self._texts[key]
