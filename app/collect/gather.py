"""One source's fetch, in a worker thread: its listing (conditionally), then each new item's
page, read into drafts. Nothing is written here: the round stores what was gathered."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.collect.fetch import Fetched, Fetcher, FetchError, Stopped
from app.collect.listings import SITEMAP, Item, Listing, NotAListing, read_listing
from app.collect.pages import page_draft
from app.collect.raw import kept_page
from app.ingest.document import ArticleDraft, ReadFailure
from app.models import Article, CollectedUrl

# Most sitemaps of an index read in one round (newest first, by their lastmod).
MAX_SITEMAPS = 20


@dataclass(frozen=True)
class Snapshot:
    """What a worker needs of a collection source (the row stays with the main thread)."""

    id: int
    url: str
    kind: str
    publisher: str
    tags: list[str]
    etag: str | None
    last_modified: str | None


@dataclass
class Gathered:
    """What fetching one source gave: its answer, the drafts, and the items passed over."""

    source: Snapshot
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    unchanged: bool = False
    failure: str | None = None
    retry_after: float | None = None
    drafts: list[tuple[str, ArticleDraft]] = field(default_factory=list)
    # (item URL, reason, whether it would fail again: then it is marked seen)
    skipped: list[tuple[str, str, bool]] = field(default_factory=list)
    # Items stored as articles but never marked seen (a run killed between the two):
    # marked now, their entities linked if they have none. (URL, article id)
    recovered: list[tuple[str, int]] = field(default_factory=list)
    # Stopped mid-way: the drafts are stored, the source's state is not advanced.
    partial: bool = False
    # The fetched pages to keep (NEWSDESK_KEEP_RAW), by item URL: raw_page rows, no article id.
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def items_to_retry(self) -> bool:
        """Some item failed in a way that may pass next time (a 5xx, a timeout, robots.txt):
        the listing must not be answered 304 next round, or they would be forgotten."""
        return any(not lasting for _, _, lasting in self.skipped)


def gather(
    fetcher: Fetcher,
    engine: Engine,
    source: Snapshot,
    max_items: int,
    claim: Callable[[str], bool] = lambda _url: True,
) -> Gathered:
    """Fetch the source's listing and its new items' pages (an item only when `claim`
    gives it to this source: two feeds of a round listing one article fetch it once).
    Never raises; stopped midway, what was gathered is `partial`."""
    result = Gathered(source)
    try:
        fetched = fetcher.get(source.url, etag=source.etag, last_modified=source.last_modified)
    except FetchError as exc:
        result.failure, result.status, result.retry_after = exc.reason, exc.status, exc.retry_after
        return result
    except Stopped:
        result.partial = True
        return result
    result.status = fetched.status
    if fetched.status == 304:
        result.unchanged = True
        return result
    result.etag = fetched.headers.get("etag")
    result.last_modified = fetched.headers.get("last-modified")
    try:
        listing = read_listing(fetched.body, fetched.url, fetched.content_type)
        items = _items(fetcher, listing, result)
    except NotAListing as exc:
        result.failure = str(exc)
        return result
    except Stopped:
        result.partial = True
        return result
    evidence = "sitemap" if listing.kind == SITEMAP else "feed"
    new, result.recovered = new_items(engine, items)
    for item in new[:max_items]:
        if not claim(item.url):
            continue
        try:
            read_item(fetcher, item, evidence, result)
        except Stopped:
            result.partial = True
            break
    return result


def _items(fetcher: Fetcher, listing: Listing, result: Gathered) -> list[Item]:
    """The listing's items; a sitemap index's are those of its newest sitemaps."""
    if not listing.sitemaps:
        return listing.items
    items = list(listing.items)
    newest = sorted(listing.sitemaps, key=lambda s: s[1].timestamp() if s[1] else 0, reverse=True)
    for url, _ in newest[:MAX_SITEMAPS]:
        try:
            child = listing_of(fetcher.get(url))
        except (FetchError, NotAListing) as exc:
            result.skipped.append((url, f"sitemap: {exc}", False))
            continue
        items += child.items
    return items


def listing_of(fetched: Fetched) -> Listing:
    """The fetched answer read as a listing (NotAListing when it is none)."""
    return read_listing(fetched.body, fetched.url, fetched.content_type)


def new_items(engine: Engine, items: list[Item]) -> tuple[list[Item], list[tuple[str, int]]]:
    """Items whose URL is neither stored as an article's nor handled before, each once; and
    the items stored as an article but not yet marked handled, with the article's id."""
    unique = list({item.url: item for item in reversed(items)}.values())[::-1]
    urls = [item.url for item in unique]
    stored: dict[str, int] = {}
    seen: set[str] = set()
    with Session(engine) as session:
        for start in range(0, len(urls), 500):
            chunk = urls[start : start + 500]
            rows = session.exec(
                select(col(Article.url), col(Article.id)).where(col(Article.url).in_(chunk))
            )
            stored.update((url, article_id) for url, article_id in rows if url and article_id)
            seen.update(
                session.exec(select(col(CollectedUrl.url)).where(col(CollectedUrl.url).in_(chunk)))
            )
    new = [item for item in unique if item.url not in stored and item.url not in seen]
    recovered = [(url, article_id) for url, article_id in stored.items() if url not in seen]
    return new, recovered


def read_item(fetcher: Fetcher, item: Item, evidence: str, result: Gathered) -> None:
    """Fetch the item's page into a draft, or note why it was passed over."""
    source = result.source
    try:
        fetched = fetcher.get(item.url)
    except FetchError as exc:
        result.skipped.append((item.url, exc.reason, exc.lasting))
        return
    started = time.perf_counter()
    draft = page_draft(fetched, item, evidence, source.publisher, source.tags)
    fetcher.metrics.extract_seconds.inc(time.perf_counter() - started)
    if isinstance(draft, ReadFailure):
        result.skipped.append((item.url, draft.reason, True))
    else:
        result.drafts.append((item.url, draft))
        if fetcher.settings.keep_raw:
            result.raw[item.url] = kept_page(fetched, item, evidence, source.publisher, source.tags)
