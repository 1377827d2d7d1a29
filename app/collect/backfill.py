"""Backfill (`newsdesk collect --since DATE`): each source's sitemaps walked back to DATE.

A sitemap source's sitemaps are its own URL; a feed's or a page's are those its site's
robots.txt lists on `Sitemap:` lines (read through the same robots.txt cache as the rounds).

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
from app.collect.listings import SITEMAP, Item, NotAListing
from app.collect.urls import host_key, normalise_url

# How deep sitemap indexes may nest (an index of indexes of sitemaps is 2).
MAX_SITEMAP_DEPTH = 4


def sitemap_roots(
    fetcher: Fetcher, sources: list[Snapshot], passed_over: list[tuple[str, str]]
) -> list[tuple[Snapshot, list[str]]]:
    """The sitemaps to walk for each source: a sitemap source's own URL; for feeds and pages,
    those their site's robots.txt lists (a site once, for its first such source; a listed
    sitemap that is a source itself is walked as that source). A site whose robots.txt lists
    none is added to `passed_over`. Raises Stopped when asked to stop."""
    own = {source.url for source in sources if source.kind == SITEMAP}
    walks: list[tuple[Snapshot, list[str]]] = []
    hosts: set[str] = set()
    for source in sources:
        if source.kind == SITEMAP:
            walks.append((source, [source.url]))
            continue
        host = host_key(source.url)
        if host in hosts:
            continue
        hosts.add(host)
        listed = [normalise_url(url) for url in fetcher.robots.rules(host).sitemaps()]
        if not listed:
            passed_over.append((f"{host}/robots.txt", f"lists no Sitemap: for {source.url}"))
        roots = [url for url in dict.fromkeys(listed) if url is not None and url not in own]
        if roots:
            walks.append((source, roots))
    return walks


def sitemap_items(
    fetcher: Fetcher,
    root: str,
    since: datetime,
    passed_over: list[tuple[str, str]],
    visited: set[str] | None = None,
) -> list[Item]:
    """The items of the sitemap at `root` (and of those an index there points to) dated on or
    after `since`, or undated; a child sitemap that can't be read is added to `passed_over`.
    Sitemaps in `visited` are not read again (it is updated). Raises FetchError or
    NotAListing when `root` can't be read, Stopped when asked to stop."""
    items: list[Item] = []
    queue = [(root, 0)]
    visited = set() if visited is None else visited
    while queue:
        url, depth = queue.pop(0)
        if url in visited:
            continue
        visited.add(url)
        try:
            listing = listing_of(fetcher.get(url))
        except (FetchError, NotAListing) as exc:
            if url == root:
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
