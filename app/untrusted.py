"""Checks on values that come from outside (files, request bodies) before they are stored,
served or fetched: article URLs (JSON depth: limits_json.py; addresses the server must not
fetch on someone's behalf: net/addresses.py).

Shared by ingest (which stores) and the API (which serves), so it imports nothing from either.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

WEB_SCHEMES = frozenset({"http", "https"})
# Browsers strip leading C0 controls and spaces and drop tabs and newlines inside a URL, so
# "java\tscript:" is javascript: to them; a URL holding any control character is refused.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def url_scheme(url: str) -> str:
    """The scheme a browser would see in `url`, lower-case ("" when there is none)."""
    head = url.split(":", 1)[0] if ":" in url else ""
    return _CONTROL.sub("", head).strip().lower()


def web_url(url: str | None) -> str | None:
    """`url` when it is an absolute http(s) URL with a host and no control characters, else None.

    Only such URLs may become an article's link: javascript:, data: and the like would run
    or carry content in a reader's browser when a feed or page links to them.
    """
    if not url or _CONTROL.search(url) or url != url.strip():
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an invalid IPv6 host
        return None
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.hostname:
        return None
    return url
