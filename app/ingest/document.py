"""What the readers hand to the rest of ingest: one article's extracted metadata, or a failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.untrusted import url_scheme, web_url

# Where a metadata value came from, recorded per field so users can see why an
# article has the date (or publisher, or title) it has.
SIDECAR = "sidecar"
HTML_META = "html-meta"
URL = "url"
FETCHED = "fetched"  # the address the collector fetched the page from
NONE = "none"


def from_text(rule: str) -> str:
    """Provenance label for a value found in the text by the named rule, e.g. `text:byline`."""
    return f"text:{rule}"


@dataclass
class ArticleDraft:
    """One article as extracted from a file, before it is stored.

    `origin` is the file's path as the ingest command named it (`articles/sport/001.txt`
    for `ingest articles`), or `origin:LINE` for one line of a JSONL file.
    `published_at` is timezone-aware UTC (midnight when only a day is known).
    `provenance` maps a field name (title, subtitle, dateline, author, publisher,
    published_at, language, url, cites) to SIDECAR, HTML_META, URL, NONE or from_text(rule);
    a URL that is not http(s) is dropped and its provenance says `dropped:<scheme>`.
    """

    origin: str
    body: str
    title: str | None = None
    subtitle: str | None = None
    dateline: str | None = None
    author: str | None = None
    publisher: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    url: str | None = None
    lede: str | None = None
    cites: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)
    # The file's absolute path (not resolved; `:LINE` for a line), which identifies it in the
    # database whatever folder ingest ran from: two `articles/story.txt` read from different
    # parents are different files. None for articles with no file (the API).
    identity: str | None = None

    @property
    def word_count(self) -> int:
        return len(self.body.split())


@dataclass
class ReadFailure:
    """A file (or one JSONL line) that could not be turned into an article, and why."""

    origin: str
    reason: str


def drop_unsafe_url(draft: ArticleDraft) -> None:
    """Keep only an http(s) URL as the article's link; note a dropped one in its provenance.

    The note names the scheme only (`dropped:javascript`), never the refused value.
    """
    if draft.url is None or web_url(draft.url) is not None:
        return
    draft.provenance["url"] = f"dropped:{url_scheme(draft.url) or 'not-a-url'}"
    draft.url = None
