"""Saved web pages: main text by trafilatura, metadata from the page's own tags and htmldate."""

from __future__ import annotations

import re
import unicodedata

import trafilatura
from trafilatura.settings import Document

from app.ingest.document import HTML_META, ArticleDraft
from app.ingest.extract.findings import RANK_METADATA, Findings
from app.ingest.extract.opening import with_opening
from app.ingest.extract.pageauthor import choose_authors
from app.ingest.extract.pagedate import DateChoice, choose_published
from app.ingest.extract.pagemeta import PageMeta, read_page_meta
from app.ingest.extract.pagetitle import choose_title
from app.ingest.extract.paragraphs import joined_lines
from app.ingest.extract.plaintext import build_draft, extract_from_lines
from app.ingest.extract.textclean import ends_sentence, text_lines

# trafilatura metadata attribute -> draft field (title and author are cross-checked below).
_META_FIELDS = {
    "sitename": "publisher",
    "url": "url",
    "description": "subtitle",
}
# A precise reading shorter than this ("Advertisements", "SITE PROFILE") missed the article.
_MIN_BODY_CHARS = 200
# An opening the precise reading dropped: at most this many paragraphs of running text.
_MAX_LOST_LEAD = 2
_PROSE_MIN_CHARS = 60
# A body this long is an article whatever words it uses; a shorter one must name the topic.
_SHORT_READING_CHARS = 1000
_TERM_MIN_CHARS = 4
_WORD = re.compile(r"\w+")


def extract_html_article(html: str, origin: str, url: str | None = None) -> ArticleDraft:
    """Read a saved article page: metadata from its tags, then the text rules on its main text.

    `url` is the page's address when the user gave it (a sidecar): the date in it and the
    site's name help. trafilatura reads the page precisely first (keeping related-story lists
    out); its default reading gives back an opening paragraph precision dropped, or the
    article when the precise reading left next to no text. A short reading that names
    nothing the page's headline and description name (a video player's buttons) gives way
    to the page's description.
    """
    page = read_page_meta(html)
    published = choose_published(page, html, url)
    best = build_draft(origin, [], Findings())
    precise = _reading(html, url, precise=True)
    broad: Document | None = None
    if precise is not None:
        lines = text_lines(precise.text or "")
        if _may_have_lost_lead(lines):
            broad = _reading(html, url, precise=False)
            lines = _with_lost_lead(lines, text_lines(broad.text or "") if broad else [])
        best = _read_document(precise, lines, page, published, url, origin, html)
    if len(best.body) < _MIN_BODY_CHARS:
        broad = broad or _reading(html, url, precise=False)
        if broad is not None:
            draft = _read_document(
                broad, text_lines(broad.text or ""), page, published, url, origin, html
            )
            best = draft if len(draft.body) > len(best.body) else best
    document = precise or broad
    if document is not None and _reads_something_else(best):
        # The page's own summary of what it shows stands in for a reading of its interface.
        lines = text_lines(best.subtitle or "")
        draft = _read_document(document, lines, page, published, url, origin, html)
        best = draft if draft.body else best
    return best


def _reads_something_else(draft: ArticleDraft) -> bool:
    """True for a short body that shares no word with the page's headline or description.

    A page whose text is a video, a consent notice or placeholder text gives trafilatura
    only its interface ("If playback doesn't begin shortly…", "Got it"): a reading that
    names nothing its headline and description name is about something else.
    """
    if not draft.subtitle or len(draft.body) >= _SHORT_READING_CHARS:
        return False
    body = draft.body.casefold()
    return not any(term in body for term in _terms(f"{draft.title or ''} {draft.subtitle}"))


def _terms(text: str) -> set[str]:
    """Words of four letters or more, and pairs of characters in scripts without spaces."""
    terms: set[str] = set()
    for word in _WORD.findall(text.casefold()):
        if any(unicodedata.east_asian_width(char) in "WF" for char in word):
            terms.update(word[i : i + 2] for i in range(len(word) - 1))
        elif len(word) >= _TERM_MIN_CHARS and not word.isdigit():
            terms.add(word)
    return terms


def _reading(html: str, url: str | None, *, precise: bool) -> Document | None:
    """trafilatura's reading of the page, None when it finds no text."""
    document = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, favor_precision=precise, include_comments=False
    )
    if isinstance(document, Document) and (document.text or "").strip():
        return document
    return None


def _first_long_line(lines: list[str]) -> int | None:
    return next((i for i, line in enumerate(lines) if len(line) >= _PROSE_MIN_CHARS), None)


def _may_have_lost_lead(lines: list[str]) -> bool:
    """True when the precise reading kept a line (a headline) above its first paragraph."""
    first = _first_long_line(lines)
    return first is not None and first > 0


def _with_lost_lead(precise: list[str], broad: list[str]) -> list[str]:
    """The precise reading's lines with the paragraphs it dropped from inside its own span.

    When the default reading has running text between two lines the precise reading kept
    (its headline and its first paragraph), precision dropped the article's opening there.
    Text before the precise reading's first line (a standfirst above the article's own
    container) is left out, as precision meant.
    """
    first = _first_long_line(precise)
    if first is None or first == 0 or precise[first] not in broad:
        return precise
    anchor = broad.index(precise[first])
    above = precise[first - 1]
    if above not in broad[:anchor]:
        return precise
    between = broad[broad.index(above) + 1 : anchor]
    lost = [line for line in between if _is_prose(line) and line not in precise]
    if not lost or len(lost) > _MAX_LOST_LEAD or len(lost) != len(between):
        return precise
    return [*precise[:first], *lost, *precise[first:]]


def _is_prose(line: str) -> bool:
    """A paragraph of running text: long enough, and ending a sentence."""
    return len(line) >= _PROSE_MIN_CHARS and ends_sentence(line)


def _read_document(
    document: Document,
    lines: list[str],
    page: PageMeta,
    published: DateChoice | None,
    url: str | None,
    origin: str,
    html: str,
) -> ArticleDraft:
    """The draft from one trafilatura reading: cross-checked metadata, then the text rules.

    A caption or standfirst the reading left out above its first paragraph is put back first.
    """
    findings = Findings()
    title = choose_title(page, url, _stripped(document.title))
    if title:
        findings.offer("title", title.text, title.label, RANK_METADATA)
    lines = with_opening(html, lines, title.text if title else None)
    joined = joined_lines(html, lines)
    if authors := choose_authors(page, _stripped(document.author)):
        findings.offer("author", authors.text, authors.label, RANK_METADATA)
    for attribute, name in _META_FIELDS.items():
        value = _stripped(getattr(document, attribute, None))
        findings.offer(name, value, HTML_META, RANK_METADATA)
    if published is not None:
        findings.offer("published_at", published.when, published.label, RANK_METADATA)
    return extract_from_lines(lines, origin, findings, page=True, joined=joined)


def _stripped(value: object) -> str | None:
    """A metadata value as a stripped string, None when it is not a string or is blank."""
    return (value.strip() or None) if isinstance(value, str) else None
