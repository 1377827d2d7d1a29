"""Raw pages (NEWSDESK_KEEP_RAW=1): a collected article's page kept as fetched, gzip-compressed,
and `newsdesk reextract`, which reads the kept pages again through the collector's page path
(HTML extraction, dates, the listing's evidence, entities, provenance) without fetching.

Each kept page carries what its draft was read with besides the bytes: the Content-Type (its
charset decides the decoding), the address it came from, the feed or sitemap item's title,
author, date and summary, and the outlet and tags, so a re-read differs from the first only
where the extractor does.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.collect.fetch import Fetched
from app.collect.listings import Item
from app.collect.pages import page_draft
from app.config import Settings
from app.ingest.document import ArticleDraft, ReadFailure
from app.ingest.pipeline import Ingest
from app.ingest.store.articles import Outcome
from app.models import Article, RawPage, utc_now
from app.search.tantivy.sync import sync_search_index

if TYPE_CHECKING:
    from app.ingest.entities.recognition import EntityRecognizer

GZIP = "gzip"
# Fast compression: HTML shrinks about five times at level 6 and barely more above it.
GZIP_LEVEL = 6


def kept_page(
    fetched: Fetched, item: Item, evidence: str, publisher: str, tags: list[str]
) -> dict[str, Any]:
    """A raw_page row for a fetched article page, without its article id (not stored yet)."""
    listing = {
        "evidence": evidence,
        "publisher": publisher,
        "tags": list(tags),
        "title": item.title,
        "author": item.author,
        "published": item.published.isoformat() if item.published else None,
        "summary": item.summary,
    }
    return {
        "url": item.url,
        "fetched_url": fetched.url[:2000],
        "fetched_at": utc_now(),
        # Held to the column's size: an absurd header must not fail the source's commit.
        "content_type": fetched.headers.get("content-type", "")[:300] or None,
        "listing": listing,
        "compression": GZIP,
        "size": len(fetched.body),
        "body": gzip.compress(fetched.body, compresslevel=GZIP_LEVEL),
    }


def draft_of(page: RawPage) -> ArticleDraft | ReadFailure:
    """The kept page read again as the collector read it when fetched."""
    if page.compression != GZIP:
        return ReadFailure(page.url, f"kept page compressed as {page.compression!r}: unknown")
    try:
        body = gzip.decompress(page.body)
    except (OSError, EOFError, zlib.error) as exc:
        return ReadFailure(page.url, f"kept page unreadable: {exc}")
    headers = httpx.Headers({"content-type": page.content_type} if page.content_type else {})
    listing = page.listing
    published = listing.get("published")
    item = Item(
        page.url,
        title=listing.get("title"),
        author=listing.get("author"),
        published=datetime.fromisoformat(published) if published else None,
        summary=listing.get("summary"),
    )
    fetched = Fetched(page.fetched_url, 200, headers, body)
    return page_draft(
        fetched,
        item,
        str(listing.get("evidence") or "feed"),
        str(listing.get("publisher") or ""),
        [str(tag) for tag in listing.get("tags") or []],
    )


@dataclass
class ReextractReport:
    """What `newsdesk reextract` did: pages read again, articles changed or not, failures."""

    reextracted: int = 0
    changed: int = 0
    unchanged: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.reextracted} re-extracted: {self.changed} changed, "
            f"{self.unchanged} unchanged, {len(self.failures)} failed"
        )


def reextract(
    engine: Engine,
    settings: Settings,
    recognizer: EntityRecognizer | None,
    source_ids: list[int] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> ReextractReport:
    """Read every kept page (of these outlets' articles) again and store what it gives
    through the ingest's store: the article keeps its id, origins and entity curation (merges
    and curated aliases apply as on any ingest), and the search index follows."""
    report = ReextractReport()
    ingest = Ingest(engine, settings, recognizer)
    after = 0
    while True:
        pages = _pages_after(engine, after, settings.ingest_batch_size, source_ids)
        if not pages:
            break
        after = pages[-1].article_id
        drafts: list[tuple[RawPage, ArticleDraft]] = []
        for page in pages:
            draft = draft_of(page)
            if isinstance(draft, ReadFailure):
                report.failures.append((page.url, draft.reason))
            else:
                drafts.append((page, draft))
        results = ingest.store_drafts([draft for _, draft in drafts])
        for (page, _), saved in zip(drafts, results, strict=True):
            if isinstance(saved, ReadFailure):
                report.failures.append((page.url, saved.reason))
                continue
            report.reextracted += 1
            if saved[1] is Outcome.UPDATED:
                report.changed += 1
            else:
                report.unchanged += 1
        if on_batch is not None:
            on_batch(len(pages))
    sync_search_index(settings, engine, wait_seconds=settings.search_index_wait_ms / 1000)
    return report


def _pages_after(
    engine: Engine, after: int, limit: int, source_ids: list[int] | None
) -> list[RawPage]:
    """The next kept pages by article id (only those of the outlets given, if any)."""
    query = select(RawPage).where(col(RawPage.article_id) > after)
    if source_ids:
        query = query.join(Article, col(Article.id) == col(RawPage.article_id)).where(
            col(Article.source_id).in_(source_ids)
        )
    with Session(engine) as session:
        pages = list(session.exec(query.order_by(col(RawPage.article_id)).limit(limit)).all())
        for page in pages:
            session.expunge(page)
    return pages
