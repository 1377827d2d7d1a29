"""Streamed exports of a whole result set (CSV, JSON lines), read in keyset-paged batches.

Memory stays flat however many articles match: each batch (SearchService.export) is fetched
after the previous one's last sort key, turned into text and dropped. The walk is bound to
the newest article id when it starts, so articles ingested during an export neither appear
nor shift rows.
"""

from __future__ import annotations

import csv
import html
import io
import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Query, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from starlette.types import Receive, Scope, Send

from app.api.errors import ApiError
from app.api.gates import MemoryGate, memory_gate
from app.api.summaries import summarize
from app.config import Settings
from app.schemas import ArticleSummary
from app.search.filter import ArticleFilter, Hit, Sort
from app.search.limits import is_time_limit_error
from app.search.service import SearchService
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
    session: Session, hits: Iterator[list[Hit]], summarize: Summarizer, timeout_ms: int
) -> Iterator[list[ArticleSummary]]:
    """Batches of items; the first batch's time limit is a 503, a later one ends the export
    early (its status line is sent already). Closes the session when done or abandoned."""
    first = True
    try:
        for batch in hits:
            yield summarize(session, batch)
            first = False
    except DBAPIError as error:
        if not is_time_limit_error(error):
            raise
        if first:
            raise ApiError(
                503,
                "query_timeout",
                f"the export's first batch took longer than the {timeout_ms} ms limit; "
                "narrow the query or try again",
            ) from None
        # X-Total-Count lets a client see the export is short.
        logger.warning("export stopped: a batch exceeded the query time limit")
    finally:
        session.close()


class ExportResponse(StreamingResponse):
    """CSV or JSON lines, one chunk per batch, each built when the gate allows.

    The first chunk is built before the status line is sent, so a first query over the
    time limit still gets a proper error response.
    """

    def __init__(
        self, chunks: Iterator[str], gate_size: int, media_type: str, headers: dict[str, str]
    ) -> None:
        self.chunks, self.gate_size = chunks, gate_size
        super().__init__(iter(()), media_type=media_type, headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gate = memory_gate("export", self.gate_size)
        async with gate.job():
            first = await gate.run(next, self.chunks, None)
            self.body_iterator = self.rest(gate, first)
            await super().__call__(scope, receive, send)

    async def rest(self, gate: MemoryGate, chunk: str | None) -> AsyncIterator[str]:
        while chunk is not None:
            yield chunk
            chunk = await gate.run(next, self.chunks, None)


def export_response(
    search: SearchService,
    flt: ArticleFilter,
    sort: Sort,
    fmt: ExportFormat,
    summarize: Summarizer,
    settings: Settings,
) -> StreamingResponse:
    """Stream every matching article as CSV or JSON lines, X-Total-Count ahead."""
    total = search.count(flt)
    walk = search.export(flt, sort)
    items = _summarized(walk.session, walk.batches, summarize, settings.query_timeout_ms)
    chunks = csv_chunks(items) if fmt == "csv" else jsonl_chunks(items)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {
        "Content-Disposition": f'attachment; filename="newsdesk-articles-{stamp}.{fmt}"',
        "X-Total-Count": str(total),
    }
    return ExportResponse(chunks, settings.export_concurrency, MEDIA_TYPES[fmt], headers)


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
    search: SearchService,
    settings: Settings,
    flt: ArticleFilter,
    order: Sort,
    export: ExportFormat,
    marks: Highlight | None,
) -> Response:
    """Every match streamed; JSON lines keep the page's snippet markers, CSV is plain text."""

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

    return export_response(search, flt, order, export, batch_items, settings)
