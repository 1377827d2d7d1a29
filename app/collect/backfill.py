"""Backfill (`newsdesk collect --since DATE`): a sitemap source's sitemaps walked back to DATE.

A sitemap index is followed down to its news sitemaps and plain sitemaps, skipping the child
sitemaps last modified before DATE's day; of their URLs, those dated (news publication date,
else `<lastmod>`) on or after DATE are read, and undated ones too (the sitemap does not say
they are older). Fetching goes through the round's Fetcher (robots.txt, the per-host delay,
the limits), and articles are stored in batches through the round's path: each batch's
URLs are marked handled once stored, so a backfill run again, or after an interruption,
fetches no article page it has already stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy.engine import Engine

from app.collect.fetch import Fetcher, FetchError, Stopped
from app.collect.gather import Gathered, Snapshot, listing_of, new_items, read_item
from app.collect.listings import Item, NotAListing

# How deep sitemap indexes may nest (an index of indexes of sitemaps is 2).
MAX_SITEMAP_DEPTH = 4


def sitemap_items(
    fetcher: Fetcher, source: Snapshot, since: datetime, passed_over: list[tuple[str, str]]
) -> list[Item]:
    """The items of the source's sitemaps dated on or after `since` (or undated); a child
    sitemap that can't be read is added to `passed_over`. Raises FetchError or NotAListing
    when the source's own sitemap can't be read, Stopped when asked to stop."""
    items: list[Item] = []
    queue, visited = [(source.url, 0)], set()
    while queue:
        url, depth = queue.pop(0)
        if url in visited:
            continue
        visited.add(url)
        try:
            listing = listing_of(fetcher.get(url))
        except (FetchError, NotAListing) as exc:
            if url == source.url:
                raise
            passed_over.append((url, f"sitemap: {exc}"))
            continue
        if depth < MAX_SITEMAP_DEPTH:
            queue += [
                (child, depth + 1)
                for child, lastmod in listing.sitemaps
                # A lastmod is often a bare day: a sitemap changed on DATE's day is read.
                if lastmod is None or lastmod.date() >= since.date()
            ]
        items += [
            item for item in listing.items if item.published is None or item.published >= since
        ]
    return items


def backfill_batches(
    fetcher: Fetcher, engine: Engine, source: Snapshot, items: list[Item], batch_size: int
) -> Iterator[Gathered]:
    """The source's items not stored or handled before, read into drafts `batch_size` at a
    time: each batch is stored before the next is fetched; stopped, the batch in flight
    is handed over first, then Stopped raised."""
    new, recovered = new_items(engine, items)
    # partial: a backfill leaves the source's schedule and HTTP state to the rounds.
    batch = Gathered(source, recovered=recovered, partial=True)
    try:
        for item in new:
            read_item(fetcher, item, "sitemap", batch)
            if len(batch.drafts) + len(batch.skipped) >= batch_size:
                yield batch
                batch = Gathered(source, partial=True)
    except Stopped:
        # What was fetched is stored all the same: a run again goes on after it.
        if batch.drafts or batch.skipped or batch.recovered:
            yield batch
        raise
    if batch.drafts or batch.skipped or batch.recovered:
        yield batch
