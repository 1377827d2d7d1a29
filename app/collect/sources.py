"""Collection sources: adding one (its kind detected, its outlet found or made), removing,
importing a list (OPML or one URL a line), and their health counts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from lxml import etree
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from app.collect.fetch import Fetcher, FetchError
from app.collect.listings import FEED, KINDS, PAGE, NotAListing, read_listing
from app.collect.urls import normalise_url, site_of
from app.models import CollectedUrl, CollectionSource, Source, utc_now

AUTO = "auto"
_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd])\s*$", re.I)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Feeds a home page advertises: each becomes a collection source; more are not followed.
MAX_ADVERTISED_FEEDS = 5
MIN_INTERVAL_SECONDS = 60


class SourceError(ValueError):
    """A source that can't be added or found, and what to do about it."""

    def __init__(self, message: str, *, exists: bool = False) -> None:
        super().__init__(message)
        self.exists = exists  # the URL is collected already


def parse_interval(text: str) -> int:
    """`30m`, `2h`, `1d`, `90s` as seconds (at least a minute)."""
    match = _INTERVAL.match(text)
    if match is None:
        raise SourceError(f"interval {text!r}: a number and a unit s, m, h or d (e.g. 30m)")
    seconds = int(match[1]) * _UNIT_SECONDS[match[2].lower()]
    if seconds < MIN_INTERVAL_SECONDS:
        raise SourceError(f"interval {text!r}: at least {MIN_INTERVAL_SECONDS} s")
    return seconds


def format_interval(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


@dataclass
class Plan:
    """What to collect for a URL: its kind, its own name, and where it was found."""

    url: str
    kind: str
    title: str | None = None
    discovered_from: str | None = None


def detect(fetcher: Fetcher, url: str, kind: str) -> tuple[list[Plan], str | None]:
    """The collection sources for a URL and the site's own name.

    `auto` reads the URL: a feed or a sitemap is itself; an HTML page gives its advertised
    feeds when it has any, else it is watched as a page (its article links followed). A
    kind given explicitly is kept, the URL read only for the name (a failure is no error).
    """
    try:
        fetched = fetcher.get(url)
        listing = read_listing(fetched.body, fetched.url, fetched.content_type)
    except (FetchError, NotAListing) as exc:
        if kind != AUTO:
            return [Plan(url, kind)], None
        raise SourceError(f"{url}: {exc}; give --kind to add it anyway") from None
    if kind != AUTO:
        return [Plan(url, kind, listing.title)], listing.title
    if listing.kind == PAGE and listing.feeds:
        feeds = listing.feeds[:MAX_ADVERTISED_FEEDS]
        return [Plan(feed, FEED, None, url) for feed in feeds], listing.title
    return [Plan(url, listing.kind, listing.title)], listing.title


def outlet_for(session: Session, name: str | None, url: str) -> Source:
    """The Source a collection source belongs to: the one named `name`, else the one of
    the URL's site, else a new one named `name` or after the site."""
    site = site_of(url)
    if name:
        named = session.exec(select(Source).where(col(Source.name) == name)).first()
        if named is not None:
            return named
    same_site = session.exec(
        select(Source).where(col(Source.domain) == site).order_by(col(Source.id))
    ).first()
    if same_site is not None:
        return same_site
    outlet = Source(name=name or site, domain=site)
    session.add(outlet)
    session.flush()
    return outlet


def add_source(
    session: Session,
    fetcher: Fetcher,
    url: str,
    *,
    name: str | None = None,
    kind: str = AUTO,
    interval_seconds: int = 1800,
    tags: list[str] | None = None,
) -> list[CollectionSource]:
    """Add the collection source(s) for a URL, in the caller's transaction."""
    if kind != AUTO and kind not in KINDS:
        raise SourceError(f"kind {kind!r}: one of auto, {', '.join(KINDS)}")
    normal = normalise_url(url)
    if normal is None:
        raise SourceError(f"{url!r} is not an http(s) URL")
    plans, site_name = detect(fetcher, normal, kind)
    outlet = outlet_for(session, (name or "").strip() or site_name, normal)
    assert outlet.id is not None  # flushed
    added = []
    for plan in plans:
        existing = session.exec(
            select(CollectionSource).where(col(CollectionSource.url) == plan.url)
        ).first()
        if existing is not None:
            raise SourceError(
                f"{plan.url} is collected already (source {existing.source_id})", exists=True
            )
        source = CollectionSource(
            source_id=outlet.id,
            url=plan.url,
            kind=plan.kind,
            title=plan.title,
            discovered_from=plan.discovered_from,
            interval_seconds=interval_seconds,
            tags=list(dict.fromkeys(tag.strip() for tag in tags or [] if tag.strip())),
        )
        session.add(source)
        added.append(source)
    session.flush()
    return added


def remove_sources(session: Session, target: str) -> list[CollectionSource]:
    """Stop collecting: a source id removes all of that outlet's collection sources, a URL
    the one collecting it. The articles stay, as does the outlet."""
    if target.strip().isdigit():
        where = col(CollectionSource.source_id) == int(target)
    else:
        where = col(CollectionSource.url) == (normalise_url(target) or target)
    removed = list(session.exec(select(CollectionSource).where(where)).all())
    if not removed:
        raise SourceError(f"no collection source {target!r} (see `newsdesk sources list`)")
    ids = [source.id for source in removed]
    session.execute(delete(CollectedUrl).where(col(CollectedUrl.collection_source_id).in_(ids)))
    session.execute(delete(CollectionSource).where(col(CollectionSource.id).in_(ids)))
    return removed


def read_source_list(path: Path) -> list[str]:
    """The URLs of an OPML file (each outline's xmlUrl, as feed readers export them) or of
    a text file (one a line; blank lines and # comments skipped)."""
    data = path.read_bytes()
    if data.lstrip()[:100].lower().startswith((b"<?xml", b"<opml")):
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        try:
            root = etree.fromstring(data, parser)
        except etree.XMLSyntaxError as exc:
            raise SourceError(f"{path}: not readable OPML: {exc}") from None
        urls = [node.get("xmlUrl") or node.get("xmlurl") or "" for node in root.iter("outline")]
        return [url.strip() for url in urls if url.strip()]
    lines = data.decode("utf-8", errors="replace").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def articles_added(session: Session, since: datetime) -> dict[int, int]:
    """Articles each collection source added since `since`."""
    rows = session.exec(
        select(col(CollectedUrl.collection_source_id), func.count())
        .where(col(CollectedUrl.outcome) == "added", col(CollectedUrl.seen_at) >= since)
        .group_by(col(CollectedUrl.collection_source_id))
    ).all()
    return {source_id: count for source_id, count in rows}


def recent_counts(session: Session) -> tuple[dict[int, int], dict[int, int]]:
    """Articles added per collection source in the last 24 hours and the last 7 days."""
    now = utc_now()
    return articles_added(session, now - timedelta(days=1)), articles_added(
        session, now - timedelta(days=7)
    )


def collection_sources(session: Session, source_id: int | None = None) -> list[CollectionSource]:
    statement = select(CollectionSource).order_by(col(CollectionSource.id))
    if source_id is not None:
        statement = statement.where(col(CollectionSource.source_id) == source_id)
    return list(session.exec(statement).all())
