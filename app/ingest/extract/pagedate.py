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

from app.ingest.document import HTML_META
from app.ingest.extract.dates import date_languages, parse_date, parse_iso_date
from app.ingest.extract.pagemeta import PageMeta

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
# Meta tags that state when the page was last changed.
_MODIFIED_TAGS = ("article:modified_time", "og:updated_time", "datemodified", "last-modified")
# Provenance of a date read from the page's own date element (htmldate found at most a year).
DATE_ELEMENT = "date-element"
_YEAR_FIRST = re.compile(r"(?:19|20)\d{2}\s*[年./-]\s*\d{1,2}\s*[月./-]\s*\d{1,2}(?:\s*日)?")
_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}")
_LANGUAGE = re.compile(r"^(?P<code>[A-Za-z]{2})(?:[-_]|$)")


@dataclass(frozen=True)
class DateChoice:
    """The publication time and the provenance label saying where it came from."""

    when: datetime
    label: str


def choose_published(page: PageMeta, html: str, url: str | None) -> DateChoice | None:
    """The article's publication time: its stated published date, else htmldate's finding,
    else (when htmldate found at most a year, or only the page's modified time) the date in
    the page's own date element."""
    guessed = _htmldate(html, url)
    stated = _stated(page)
    languages = date_languages(page_language(page))
    if not stated:
        doubtful = guessed is None or _year_only(guessed) or _is_modified(page, guessed, languages)
        if doubtful and (shown := _shown_date(page, languages)):
            return DateChoice(shown, f"{HTML_META}:{DATE_ELEMENT}")
        return DateChoice(guessed, f"{HTML_META}:htmldate") if guessed else None
    # Two statements that disagree (a WebPage's date beside the article's published_time):
    # the one htmldate's independent reading agrees with, else the first.
    agreed = [item for item in stated if guessed and item[0].date() == guessed.date()]
    when, source = (agreed or stated)[0]
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


def _stated(page: PageMeta) -> list[tuple[datetime, str]]:
    """The published dates the page states about its article, each with where it states it,
    in order of trust (JSON-LD, then the published-time tags)."""
    languages = date_languages(page_language(page))
    statements = [("jsonld", page.published)]
    statements += [(tag, page.first(tag)) for tag in _PUBLISHED_TAGS]
    found: list[tuple[datetime, str]] = []
    for source, text in statements:
        if not text:
            continue
        # Numeric dates that are not ISO are read in the page's language ("27.04.2020").
        when = parse_iso_date(text) if _ISO_START.match(text) else None
        when = when or parse_date(text, languages=languages)
        if when is not None:
            found.append((when, source))
    return found


def _is_modified(page: PageMeta, when: datetime, languages: list[str]) -> bool:
    """True when `when` falls on the day the page says it was modified: htmldate, asked for
    the original date, found only the modification (og:updated_time)."""
    stamps = [page.modified, *(page.first(tag) for tag in _MODIFIED_TAGS)]
    for text in filter(None, stamps):
        modified = parse_iso_date(text) if _ISO_START.match(text) else None
        modified = modified or parse_date(text, languages=languages)
        if modified is not None and modified.date() == when.date():
            return True
    return False


def _year_only(when: datetime) -> bool:
    """htmldate's reading of a bare year (a copyright line): midnight on 1 January."""
    return (when.month, when.day, when.hour, when.minute, when.second) == (1, 1, 0, 0, 0)


def _shown_date(page: PageMeta, languages: list[str]) -> datetime | None:
    """The first full date written in an element the page names as its date
    (`<p class="date">2019年04月21日</p>`), read in the page's language."""
    for text in page.date_texts:
        if (when := parse_date(text, languages=languages)) is not None:
            return when
        # "2019年04月21日 12時00分更新": the year-first date at the front of a longer text.
        if (match := _YEAR_FIRST.search(text)) and (when := parse_date(match[0])):
            return when
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
