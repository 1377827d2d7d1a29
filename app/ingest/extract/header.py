"""Read the lines above an article's body: headline, standfirst, byline, dates, dateline."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from app.ingest.document import from_text
from app.ingest.extract.dates import date_languages, parse_date
from app.ingest.extract.findings import RANK_TEXT_WEAKEST, Findings
from app.ingest.extract.furniture import (
    copyright_owner,
    is_caption_of,
    is_furniture,
    is_ticker,
    word_count,
)
from app.ingest.extract.textclean import ends_sentence, ends_with_full_stop

_HEADLINE_MAX_WORDS = 25
_STANDFIRST_MAX_WORDS = 40
# On a web page the standfirst is in the page's description; a short line heading the
# extracted text is a label ("Highlights", "Business · Updated"), a longer one is the story.
_PAGE_LABEL_MAX_WORDS = 3
_CAPITALS_MIN_WORDS = 3
_TITLE_CASE_SHARE = 0.75
_PAGE_LABEL_MAX_CHARS = 20  # scripts without spaces: a Japanese sentence is one "word"
_META_LINE_MAX_WORDS = 12
_AUTHOR_MAX_WORDS = 6
_SEPARATOR = r"\s*[|:\-–—]\s*|\s+"

_PUBLISHED_LINE = re.compile(
    rf"^(?:first\s+)?(?:published|posted|dated?|publication\s+date)(?:\s+(?:on|at))?(?:{_SEPARATOR})"
    r"(?P<date>.+)$",
    re.IGNORECASE,
)
_BYLINE = re.compile(
    rf"^(?:by|written\s+by|reporting\s+by|author)(?:{_SEPARATOR})(?P<name>.+)$", re.IGNORECASE
)
# "By | TKD Team", "By Reuters Staff": the byline credits the outlet, not a person.
_OUTLET_CREDIT = re.compile(
    r"^(?P<outlet>.+?)\s+(?:team|staff|desk|web\s+desk|news\s+desk|newsroom|editors|"
    r"editorial(?:\s+(?:team|board))?)$",
    re.IGNORECASE,
)
_DATELINE_LINE = re.compile(r"^(?P<place>[A-Z][A-Z'’.\-]+(?:\s[A-Z][A-Z'’.\-]+){0,3})\s*[:—–-]?$")
_URL_LINE = re.compile(r"^(?:(?:source|url|link)\s*:\s*)?(?P<url>https?://\S+)$", re.IGNORECASE)
# An upper-case place opening a paragraph ("MOSCOW — ", "KYIV, Ukraine (AP) — ").
DATELINE_OPENING = re.compile(
    r"^(?P<place>[A-Z][A-Z'’.\-]+(?:\s[A-Z][A-Z'’.\-]+){0,3})"
    r"(?:,\s*[A-Z][\w.'’-]*(?:\s[A-Z][\w.'’-]*){0,2})?"
    r"(?:,?\s+(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}|\d{1,2}\s+[A-Z][a-z]{2,8}))?"
    r"\s*(?:\([^)]{2,40}\)\s*)?(?:—|–|--|-|:)\s+(?=\S)"
)
# Labels that open a paragraph the way a dateline does but are not places.
_NOT_PLACES = frozenset(
    {"BREAKING", "UPDATE", "UPDATED", "EXCLUSIVE", "ANALYSIS", "OPINION", "WATCH", "VIDEO"}
    | {"PHOTOS", "NOTE", "EDITOR'S NOTE", "EDITOR’S NOTE", "CORRECTION", "FILE", "LIVE", "READ"}
)


@dataclass
class Header:
    """What the header held, and where the body starts."""

    body_start: int = 0
    dateline_line: str | None = None
    # Lines from body_start the page prints as one paragraph (0 when it is a line of its own).
    opening_lines: int = 0


def dateline_place(paragraph: str) -> str | None:
    """The place a paragraph opens with as a dateline ("MOSCOW — ..." gives "MOSCOW"), if any."""
    match = DATELINE_OPENING.match(paragraph)
    if match is None or match["place"] in _NOT_PLACES or len(match["place"]) < 3:
        return None
    if _is_upper_case(paragraph[match.end() :]):
        # "SOCCER - JAPAN GET LUCKY WIN ." is a section label over a capitals headline.
        return None
    return match["place"]


def scan_header(
    lines: list[str],
    findings: Findings,
    *,
    page: bool = False,
    joined: frozenset[int] = frozenset(),
) -> Header:
    """Walk the top lines, offering what they state to `findings`, until the body begins.

    `page` is True for text a library extracted from a web page: its first lines are the
    article's, so only a short label above them is taken out as a standfirst.
    `joined` holds the indices `i` where the page prints lines `i` and `i + 1` in one
    paragraph: a line in a paragraph with others opens the body unless it states metadata
    or is furniture (a page's headline, date and labels stand in elements of their own).
    """
    header = Header()
    index = 0
    while index < len(lines):
        line, more_follow = lines[index], index + 1 < len(lines)
        in_paragraph = index in joined or index - 1 in joined
        if not _take_line(line, more_follow, findings, header, page, in_paragraph):
            break
        index += 1
    header.body_start = end = index
    if index in joined or index - 1 in joined:
        while end in joined:
            end += 1
        header.opening_lines = end - index + 1
    return header


def _take_line(
    line: str,
    more_follow: bool,
    findings: Findings,
    header: Header,
    page: bool,
    in_paragraph: bool = False,
) -> bool:
    """Consume one header line (offering what it says); False when the line is body text."""
    title = findings.get("title")
    if take_metadata_line(line, findings) or is_furniture(line):
        return True
    if not in_paragraph and is_caption_of(line, title):
        return True
    if title is None and is_ticker(line):
        return True
    if word_count(line) <= _META_LINE_MAX_WORDS and (day := _parse_line_date(line, findings)):
        # Above the headline a bare date is when the page was viewed or printed.
        if title is not None:
            findings.offer("published_at", day, from_text("date-line"), RANK_TEXT_WEAKEST)
        return True
    if in_paragraph:
        # A label or the headline printed in one paragraph with the article's text opens it.
        return False
    if title is None:
        if more_follow and _looks_like_headline(line):
            findings.offer("title", line, from_text("first-line"))
            return True
        return False
    if (place := _dateline_line_place(line)) is not None:
        findings.offer("dateline", place, from_text("dateline-line"))
        header.dateline_line = line
        return True
    if page:
        # A label is dropped whether or not the page's description gave a standfirst.
        short = word_count(line) <= _PAGE_LABEL_MAX_WORDS and len(line) <= _PAGE_LABEL_MAX_CHARS
        return more_follow and short and _is_label(line)
    no_standfirst_yet = findings.get("subtitle") is None and header.dateline_line is None
    if no_standfirst_yet and more_follow and _looks_like_standfirst(line):
        findings.offer("subtitle", line, from_text("standfirst"))
        return True
    return False


def starts_with_byline(line: str) -> bool:
    """True for a line opening with a byline marker ("By …", "Written by …")."""
    return bool(_BYLINE.match(line))


def take_metadata_line(line: str, findings: Findings) -> bool:
    """Offer what a published, byline, address or copyright line states; True if it was one."""
    if word_count(line) > _META_LINE_MAX_WORDS:
        return False
    if (match := _PUBLISHED_LINE.match(line)) and (
        day := _parse_line_date(match["date"], findings)
    ):
        findings.offer("published_at", day, from_text("published-line"))
        return True
    if (match := _BYLINE.match(line)) and _looks_like_name(match["name"]):
        author = match["name"].strip()
        findings.offer("author", author, from_text("byline"))
        if outlet := _OUTLET_CREDIT.match(author):
            findings.offer("publisher", outlet["outlet"], from_text("byline"), RANK_TEXT_WEAKEST)
        return True
    if match := _URL_LINE.match(line):
        findings.offer("url", match["url"], from_text("url-line"))
        return True
    if owner := copyright_owner(line):
        findings.offer("publisher", owner, from_text("copyright-line"))
        return True
    return False


def _parse_line_date(text: str, findings: Findings) -> datetime | None:
    """A date standing alone in `text`, read in the article's language or English."""
    return parse_date(text, languages=date_languages(findings.get("language")))


def _looks_like_headline(line: str) -> bool:
    """A headline is short, has letters, and neither ends a sentence nor opens with a dateline.

    A full stop ends some headlines too ("CHINA IN SURPRISE DEFEAT .", "Ex-Minister Jailed."):
    one in capitals or in Title Case is still a headline, a sentence is not.
    """
    return (
        word_count(line) <= _HEADLINE_MAX_WORDS
        and any(char.isalpha() for char in line)
        and (not ends_with_full_stop(line) or _is_upper_case(line) or _is_title_case(line))
        and not line.endswith(":")
        and dateline_place(line) is None
    )


def _is_upper_case(text: str) -> bool:
    """Written in capitals: a few words, every letter upper case."""
    letters = [char for char in text if char.isalpha()]
    return len(text.split()) >= _CAPITALS_MIN_WORDS and all(char.isupper() for char in letters)


def _is_title_case(line: str) -> bool:
    """Most words capitalised, as headlines are written and sentences are not."""
    words = [word for word in line.split() if word[0].isalpha()]
    capitalised = sum(1 for word in words if word[0].isupper())
    return len(words) >= _CAPITALS_MIN_WORDS and capitalised >= _TITLE_CASE_SHARE * len(words)


def _is_label(line: str) -> bool:
    """A section label or kicker: no sentence end, no clause punctuation, no dateline."""
    return (
        not ends_sentence(line)
        and not line.endswith((":", ",", ";"))
        and dateline_place(line) is None
    )


def _looks_like_standfirst(line: str) -> bool:
    """A standfirst is a headline-like summary line, a little longer, under the headline."""
    return (
        word_count(line) <= _STANDFIRST_MAX_WORDS
        and not ends_sentence(line)
        and dateline_place(line) is None
        and not line.endswith(":")
    )


def _dateline_line_place(line: str) -> str | None:
    """The place named by a line that is only a dateline ("MOSCOW:"), if it is one."""
    match = _DATELINE_LINE.match(line)
    if match is None or match["place"] in _NOT_PLACES or len(match["place"]) < 3:
        return None
    return match["place"]


def _looks_like_name(name: str) -> bool:
    """A byline name: a few words, starting with a capital, not a sentence."""
    name = name.strip()
    return (
        0 < word_count(name) <= _AUTHOR_MAX_WORDS
        and name[0].isupper()
        and not ends_with_full_stop(name)
        and not any(char.isdigit() for char in name)
    )
