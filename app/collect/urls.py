"""URL normalisation before anything is fetched, so one article is one URL however linked."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit, urlunsplit

import courlan

# Tracking parameters courlan's normalisation leaves in place.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "at_", "oly_")
_TRACKING_NAMES = frozenset({"fbclid", "gclid", "dclid", "msclkid", "igshid", "ref_src", "_ga"})


def normalise_url(url: str, base: str | None = None) -> str | None:
    """The URL made absolute against `base`, lower-cased host, no default port, no fragment,
    no tracking parameters (utm_* and the like), remaining parameters sorted; None when it
    is not an http(s) URL."""
    url = urljoin(base, url.strip()) if base else url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    try:
        normal = courlan.normalize_url(url, trailing_slash=True)
    except ValueError:
        return None
    parts = urlsplit(normal)
    query = "&".join(
        pair for pair in parts.query.split("&") if pair and not _is_tracking(pair.split("=")[0])
    )
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def host_key(url: str) -> str:
    """scheme://host[:port]: the unit of politeness (robots.txt, one request at a time)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def site_of(url: str) -> str:
    """The host (and a non-default port) without a leading www.: a source's domain."""
    return urlsplit(url).netloc.lower().removeprefix("www.")
