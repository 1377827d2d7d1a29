"""URL normalisation before anything is fetched, so one article is one URL however linked."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit, urlunsplit

import courlan


def normalise_url(url: str, base: str | None = None) -> str | None:
    """The URL made absolute against `base`, lower-cased host, no default port, no fragment,
    no tracking parameters (courlan's list: utm_*, fbclid, gclid, ...), remaining parameters
    sorted; None when it is not an http(s) URL."""
    url = urljoin(base, url.strip()) if base else url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    try:
        normal = courlan.normalize_url(url, trailing_slash=True)
    except ValueError:
        return None
    parts = urlsplit(normal)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def host_key(url: str) -> str:
    """scheme://host[:port]: the unit of politeness (robots.txt, one request at a time)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def site_of(url: str) -> str:
    """The host (and a non-default port) without a leading www.: a source's domain."""
    return urlsplit(url).netloc.lower().removeprefix("www.")
