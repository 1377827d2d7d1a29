"""A page's publication date: the article's own published-date statement before htmldate's guess.

htmldate weighs every date a page holds, and on pages whose template carries a modified
date, a copyright year or a saved-on date it can pick one of those. A page that states its
article's publication in JSON-LD (datePublished) or a published-time meta tag is taken at
its word; htmldate (which also reads the address and the text) decides otherwise. When the
two disagree, the provenance says so, so that a user can see why and check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import htmldate

from app.ingest.dates import date_languages, parse_date, parse_iso_date
from app.ingest.document import HTML_META
from app.ingest.pagemeta import PageMeta

# Meta tags that state when the article was first published (never when it was modified).
_PUBLISHED_TAGS = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "parsely-pub-date",
    "publishdate",
    "publish-date",
    "pubdate",
    "dc.date.issued",
    "dcterms.issued",
    "sailthru.date",
    "vr:published-time",
    "citation_publication_date",
)
_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}")
_LANGUAGE = re.compile(r"^(?P<code>[A-Za-z]{2})(?:[-_]|$)")


@dataclass(frozen=True)
class DateChoice:
    """The publication time and the provenance label saying where it came from."""

    when: datetime
    label: str


def choose_published(page: PageMeta, html: str, url: str | None) -> DateChoice | None:
    """The article's publication time: its stated published date, else htmldate's finding."""
    guessed = _htmldate(html, url)
    stated = _stated(page)
    if stated is None:
        return DateChoice(guessed, f"{HTML_META}:htmldate") if guessed else None
    when, source = stated
    label = f"{HTML_META}:{source}"
    if guessed is not None and guessed.date() != when.date():
        label += f" (htmldate: {guessed.date().isoformat()})"
    return DateChoice(when, label)


def page_language(page: PageMeta) -> str | None:
    """The page's declared language as a two-letter code (<html lang>, else og:locale)."""
    for declared in (page.language, page.first("og:locale", "content-language")):
        if declared and (match := _LANGUAGE.match(declared)):
            return match["code"].lower()
    return None


def _stated(page: PageMeta) -> tuple[datetime, str] | None:
    """The first published date the page states about its article, and where it states it."""
    languages = date_languages(page_language(page))
    statements = [("jsonld", page.published)]
    statements += [(tag, page.first(tag)) for tag in _PUBLISHED_TAGS]
    for source, text in statements:
        if not text:
            continue
        # Numeric dates that are not ISO are read in the page's language ("27.04.2020").
        when = parse_iso_date(text) if _ISO_START.match(text) else None
        when = when or parse_date(text, languages=languages)
        if when is not None:
            return when, source
    return None


def _htmldate(html: str, url: str | None) -> datetime | None:
    """htmldate's original publication date: markup, the address, then dates in the text."""
    found = htmldate.find_date(
        html,
        url=url,
        extensive_search=True,
        original_date=True,
        outputformat="%Y-%m-%dT%H:%M:%S%z",
    )
    return parse_iso_date(found) if found else None
