"""Streamed exports of a whole result set (CSV, JSON lines), read in keyset-paged batches.

Memory stays flat however many articles match: each batch is fetched after the previous
one's last sort key, turned into text and dropped. The walk is bound to the newest article
id when it starts, so articles ingested during an export neither appear nor shift rows.
"""

from __future__ import annotations

import csv
import html
import io
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app.api.errors import ApiError
from app.api.summaries import summarize
from app.config import Settings
from app.schemas import ArticleSummary
from app.search.articles import (
    ArticleFilter,
    Hit,
    Sort,
    count_articles,
    search_articles,
    sort_key,
)
from app.search.cursor import Cursor
from app.search.index import SearchIndex, search_index_for
from app.search.limits import is_time_limit_error, query_time_limit
from app.search.text import Highlight

logger = logging.getLogger("newsdesk.exports")

ExportFormat = Literal["csv", "jsonl"]
CSV_COLUMNS = [
    "id",
    "title",
    "url",
    "source",
    "author",
    "published_at",
    "language",
    "entities",
    "snippet",
]
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}

# Turns one batch of hits into API items, with the session the batch was read with.
Summarizer = Callable[[Session, list[Hit]], list[ArticleSummary]]


def hit_batches(
    session: Session,
    flt: ArticleFilter,
    sort: Sort,
    batch_size: int,
    timeout_ms: int,
    index: SearchIndex | None = None,
) -> Iterator[list[Hit]]:
    """Every matching article once, in `sort` order, `batch_size` at a time.

    Each batch's query gets its own time limit (the export as a whole has none).
    """
    cursor: Cursor | None = None
    while True:
        session.expunge_all()  # the previous batch's rows are written out: let them go
        with query_time_limit(session, timeout_ms):
            hits, snapshot = search_articles(session, flt, sort, batch_size, cursor, index)
        if not hits:
            return
        yield hits
        if len(hits) < batch_size:
            return
        cursor = Cursor(key=sort_key(sort, hits[-1]), snapshot=snapshot, query_hash="")


# A cell starting with one of these is a formula to a spreadsheet (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_row(item: ArticleSummary) -> list[str | int]:
    return [
        item.id,
        as_text(item.title),
        as_text(item.url),
        as_text(item.source.name if item.source else None),
        as_text(item.author),
        item.published_at.isoformat() if item.published_at else "",
        as_text(item.language),
        as_text(";".join(entity.name for entity in item.entities)),
        # Plain text in a CSV cell: the API's snippet is HTML-escaped for web pages.
        as_text(html.unescape(item.snippet) if item.snippet else None),
    ]


def as_text(value: str | None) -> str:
    """A text cell a spreadsheet shows as text: a leading quote defuses a formula."""
    if not value:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_chunks(batches: Iterable[list[ArticleSummary]]) -> Iterator[str]:
    """A header, then one chunk of correctly quoted CSV rows per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for batch in batches:
        writer.writerows(csv_row(item) for item in batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def jsonl_chunks(batches: Iterable[list[ArticleSummary]]) -> Iterator[str]:
    """One JSON object per line, each shaped like an /articles item."""
    for batch in batches:
        yield "".join(item.model_dump_json() + "\n" for item in batch)


def _summarized(
    session: Session, first: list[Hit] | None, rest: Iterator[list[Hit]], summarize: Summarizer
) -> Iterator[list[ArticleSummary]]:
    """Batches of items; closes the export's session when done, failed or abandoned."""
    try:
        if first is None:
            return
        yield summarize(session, first)
        for hits in rest:
            yield summarize(session, hits)
    except DBAPIError as error:
        # The status line is sent already; X-Total-Count lets a client see it is short.
        if not is_time_limit_error(error):
            raise
        logger.warning("export stopped: a batch exceeded the query time limit")
    finally:
        session.close()


def export_response(
    engine_session: Session,
    flt: ArticleFilter,
    sort: Sort,
    fmt: ExportFormat,
    total: int,
    summarize: Summarizer,
    batch_size: int,
    timeout_ms: int,
    index: SearchIndex | None = None,
) -> StreamingResponse:
    """Stream every matching article as CSV or JSON lines.

    The export reads with a session of its own on the request session's engine (the
    request's session has a time limit for the whole request). The first batch is read
    before the response starts, so a failing query still gets a proper error response.
    """
    session = Session(engine_session.get_bind())
    try:
        batches = hit_batches(session, flt, sort, batch_size, timeout_ms, index)
        first = next(batches, None)
    except DBAPIError as error:
        session.close()
        if not is_time_limit_error(error):
            raise
        raise ApiError(
            503,
            "query_timeout",
            f"the export's first batch took longer than the {timeout_ms} ms limit; "
            "narrow the query or try again",
        ) from None
    except BaseException:
        session.close()
        raise
    items = _summarized(session, first, batches, summarize)
    chunks = csv_chunks(items) if fmt == "csv" else jsonl_chunks(items)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "Content-Disposition": f'attachment; filename="newsdesk-articles-{stamp}.{fmt}"',
        "X-Total-Count": str(total),
    }
    return StreamingResponse(chunks, media_type=MEDIA_TYPES[fmt], headers=headers)


ExportParam = Annotated[
    Literal["json", "csv", "jsonl"],
    Query(
        alias="format",
        description="json: one page. csv or jsonl: the WHOLE result set streamed as a download "
        "(limit and facets do not apply; cursor is refused). CSV columns: "
        f"{','.join(CSV_COLUMNS)} (entities: every entity's name, most mentioned first, "
        "joined by ';'; snippet as plain text). JSON lines: one /articles item per line, with "
        "every entity. X-Total-Count says how many rows follow.",
        examples=["csv"],
    ),
]


def export_articles(
    session: Session,
    settings: Settings,
    flt: ArticleFilter,
    order: Sort,
    export: ExportFormat,
    marks: Highlight | None,
) -> Response:
    """Every match streamed; JSON lines keep the page's snippet markers, CSV is plain text."""
    index = search_index_for(settings)

    def batch_items(batch_session: Session, hits: list[Hit]) -> list[ArticleSummary]:
        return summarize(
            batch_session,
            settings.snippet_tokens,
            flt,
            hits,
            marks if export == "jsonl" else None,
            entities_per_article=sys.maxsize,
            window=settings.snippet_window_chars,
        )

    return export_response(
        session,
        flt,
        order,
        export,
        count_articles(session, flt, index),
        batch_items,
        settings.export_batch_size,
        settings.query_timeout_ms,
        index,
    )
