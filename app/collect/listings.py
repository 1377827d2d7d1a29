"""What a source URL lists: a feed's items, a sitemap's URLs (or an index's sitemaps), or a
page's advertised feeds and article links. The kind is read from the content itself."""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser
import lxml.html
from lxml import etree

from app.collect.urls import normalise_url

FEED, SITEMAP, PAGE = "feed", "sitemap", "page"
KINDS = (FEED, SITEMAP, PAGE)
_FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}
)
_FEED_ROOTS = frozenset({"rss", "RDF", "feed", "channel"})
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_TAGS = re.compile(r"<[^>]+>")
_ARTICLE_LAST_SEGMENT = re.compile(r"\d|\.s?html?$|^[^-]+(-[^-]+){2,}$")


class NotAListing(ValueError):
    """The content is no feed, sitemap or page the collector can read, and why."""


@dataclass
class Item:
    """One article a listing points to, with what the listing says of it."""

    url: str
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    summary: str | None = None


@dataclass
class Listing:
    """A source URL's content, read."""

    kind: str
    title: str | None = None
    items: list[Item] = field(default_factory=list)
    sitemaps: list[tuple[str, datetime | None]] = field(default_factory=list)  # an index
    feeds: list[str] = field(default_factory=list)  # a page's advertised feeds


def read_listing(body: bytes, url: str, content_type: str = "") -> Listing:
    """Read a feed (RSS 0.9x/1.0/2.0, Atom, JSON Feed), a sitemap (index, news sitemap) or
    an HTML page; NotAListing says why anything else can't be read."""
    head = body.lstrip()[:512].lower()
    if head.startswith(b"{") or content_type.endswith("json"):
        return _json_feed(body, url)
    if head.startswith(b"<?xml") or (head.startswith(b"<") and b"<html" not in head):
        root = _xml_root(body)
        if root is not None:
            name = etree.QName(root).localname
            if name in ("urlset", "sitemapindex"):
                return _sitemap(root, url)
            if name in _FEED_ROOTS:
                return _feed(body, url)
            raise NotAListing(f"XML whose root is <{name}>: not a feed or a sitemap")
        if b"<rss" in head or b"<feed" in head or b"<rdf" in head:
            return _feed(body, url, well_formed=False)  # feedparser's lenient reading
    if content_type.startswith(("text/html", "application/xhtml")) or b"<html" in head:
        return _page(body, url)
    if b"<html" in body[:4096].lower():
        return _page(body, url)
    raise NotAListing(f"not a feed, sitemap or HTML page ({content_type or 'no content type'})")


def _xml_root(body: bytes) -> Any:
    try:
        return etree.fromstring(body, _XML_PARSER)
    except etree.XMLSyntaxError:
        return None


def _feed(body: bytes, url: str, *, well_formed: bool = True) -> Listing:
    """A feed's items; one that is not well-formed XML is read leniently (as feed readers
    do) when items can be found in it, and is malformed otherwise."""
    parsed = feedparser.parse(body, response_headers={"content-location": url})
    if not parsed.entries and (parsed.bozo or not parsed.version):
        why = getattr(parsed, "bozo_exception", None) or "not well-formed XML, no items"
        raise NotAListing(f"malformed feed: {why}")
    items = []
    for entry in parsed.entries:
        link = entry.get("link") or _first_link(entry)
        target = normalise_url(link, base=url) if link else None
        if target is None:
            continue
        items.append(
            Item(
                target,
                title=_clean(entry.get("title")),
                author=_clean(entry.get("author")),
                published=_struct_time(
                    entry.get("published_parsed") or entry.get("updated_parsed")
                ),
                summary=_clean(entry.get("summary")),
            )
        )
    if not items and not well_formed:
        raise NotAListing("malformed feed: not well-formed XML, and no item with a link in it")
    return Listing(FEED, title=_clean(parsed.feed.get("title")), items=items)


def _first_link(entry: Any) -> str | None:
    for link in entry.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    return None


def _json_feed(body: bytes, url: str) -> Listing:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise NotAListing(f"malformed JSON feed: {exc}") from None
    if not isinstance(document, dict) or "jsonfeed.org" not in str(document.get("version", "")):
        raise NotAListing("JSON that is not a JSON Feed (no jsonfeed.org version)")
    items = []
    for entry in document.get("items") or []:
        if not isinstance(entry, dict):
            continue
        link = entry.get("url") or entry.get("external_url")
        target = normalise_url(link, base=url) if isinstance(link, str) else None
        if target is None:
            continue
        authors = entry.get("authors") or ([entry["author"]] if entry.get("author") else [])
        names = [str(a["name"]) for a in authors if isinstance(a, dict) and a.get("name")]
        published = entry.get("date_published") or entry.get("date_modified")
        items.append(
            Item(
                target,
                title=_clean(entry.get("title")),
                author=_clean(", ".join(names)),
                published=_date(published) if isinstance(published, str) else None,
                summary=_clean(entry.get("summary")),
            )
        )
    return Listing(FEED, title=_clean(document.get("title")), items=items)


def _sitemap(root: Any, url: str) -> Listing:
    """A urlset (news sitemap dates and titles read) or a sitemap index's sitemaps."""
    if etree.QName(root).localname == "sitemapindex":
        sitemaps = []
        for node in root.iterfind("{*}sitemap"):
            target = normalise_url(node.findtext("{*}loc") or "", base=url)
            if target:
                sitemaps.append((target, _date(node.findtext("{*}lastmod"))))
        return Listing(SITEMAP, sitemaps=sitemaps)
    items = []
    for node in root.iterfind("{*}url"):
        target = normalise_url(node.findtext("{*}loc") or "", base=url)
        if target is None:
            continue
        news = node.find("{*}news")
        published = node.findtext("{*}lastmod")
        title = None
        if news is not None:
            published = news.findtext("{*}publication_date") or published
            title = _clean(news.findtext("{*}title"))
        items.append(Item(target, title=title, published=_date(published)))
    return Listing(SITEMAP, items=items)


def _page(body: bytes, url: str) -> Listing:
    """A page's advertised feeds, else its same-site article links (one level deep)."""
    try:
        tree = lxml.html.fromstring(body)
    except (etree.ParserError, ValueError) as exc:
        raise NotAListing(f"unreadable HTML page: {exc}") from None
    feeds = []
    for link in tree.iterfind(".//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in _FEED_TYPES:
            target = normalise_url(link.get("href") or "", base=url)
            if target and target not in feeds:
                feeds.append(target)
    site = tree.find(".//meta[@property='og:site_name']")
    title = _clean(site.get("content") if site is not None else tree.findtext(".//title"))
    host = urlsplit(url).netloc
    items: dict[str, Item] = {}
    for anchor in tree.iterfind(".//a[@href]"):
        target = normalise_url(anchor.get("href") or "", base=url)
        if target and target != url and urlsplit(target).netloc == host and _is_article(target):
            items.setdefault(target, Item(target, title=_clean(anchor.text_content())))
    return Listing(PAGE, title=title, items=list(items.values()), feeds=feeds)


def _is_article(url: str) -> bool:
    """An article-like address: its last path segment holds a number, ends in .html, or is
    a slug of three words or more (section fronts and /about do not)."""
    segments = [part for part in urlsplit(url).path.split("/") if part]
    return bool(segments) and bool(_ARTICLE_LAST_SEGMENT.search(segments[-1]))


def _clean(value: Any) -> str | None:
    """Text without tags and runs of whitespace; None when blank or not text."""
    if not isinstance(value, str):
        return None
    text = " ".join(_TAGS.sub(" ", value).split())
    return text or None


def _struct_time(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromtimestamp(calendar.timegm(value), UTC)


def _date(text: str | None) -> datetime | None:
    """A W3C datetime (a sitemap's, a JSON Feed's) in UTC; None when absent or unreadable.
    (Read here, not by the ingest's date parser: the API adds sources without loading it.)"""
    try:
        moment = datetime.fromisoformat((text or "").strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
