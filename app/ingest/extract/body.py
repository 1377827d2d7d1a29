"""Clean an article's body lines: drop furniture and notices; read credits, ids, datelines."""

from __future__ import annotations

import re
from datetime import datetime

from app.ingest.document import from_text
from app.ingest.extract.dates import parse_date
from app.ingest.extract.findings import RANK_TEXT_WEAK, Findings
from app.ingest.extract.furniture import footer_start, is_caption_of, is_furniture, word_count
from app.ingest.extract.header import dateline_place, take_metadata_line

# Syndication ids that carry the day the article went out, with the id's date order.
# MENAFN ids read MENAFN + DDMMYYYY + serial + ID + number; the id closes the article.
_SYNDICATION_IDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^MENAFN(?P<date>\d{8})\d*ID\d+$"), "%d%m%Y"),
)
# Credits a syndicator puts before the first paragraph, naming the original publisher.
_PUBLISHER_CREDITS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^\(MENAFN\s*[-–—]\s*(?P<publisher>[^)]+?)\s*\)\s*"), "menafn-credit"),
)
_NOTICE_LINES_AFTER_ID = 4
_PUBLISHER_LINE_MAX_WORDS = 6


def clean_body(
    lines: list[str],
    findings: Findings,
    dateline_line: str | None,
    opening_lines: int = 0,
) -> list[str]:
    """The body paragraphs left once furniture, metadata lines and notices are gone.

    A line repeating the headline is a caption, unless it is one of the `opening_lines`
    the page prints as the paragraph opening the body: there it introduces the text.
    """
    lines = _cut_closing_notices(lines, findings)
    title = findings.get("title")
    paragraphs: list[str] = []
    for index, line in enumerate(lines):
        caption = index >= opening_lines and is_caption_of(line, title)
        if take_metadata_line(line, findings) or is_furniture(line) or caption:
            continue
        paragraphs.append(_strip_publisher_credit(line, findings))
    paragraphs = [paragraph for paragraph in paragraphs if paragraph]
    _drop_trailing_publisher_lines(paragraphs, findings.get("publisher"))
    if paragraphs and dateline_line is not None:
        # Keep the dateline with the story it introduces, as wire copy prints it.
        paragraphs[0] = f"{dateline_line} {paragraphs[0]}"
    elif paragraphs and (place := dateline_place(paragraphs[0])) is not None:
        findings.offer("dateline", place, from_text("dateline-opening"))
    return paragraphs


def _cut_closing_notices(lines: list[str], findings: Findings) -> list[str]:
    """Drop a syndication id (reading its date), the few notice lines after it, and a disclaimer."""
    found = _syndication_id(lines)
    if found is not None:
        index, day = found
        findings.offer("published_at", day, from_text("syndication-id"), RANK_TEXT_WEAK)
        after = lines[index + 1 :]
        lines = lines[:index] + (after if len(after) > _NOTICE_LINES_AFTER_ID else [])
    return lines[: footer_start(lines)]


def _syndication_id(lines: list[str]) -> tuple[int, datetime | None] | None:
    """Where the first syndication-id line is, and the day it carries."""
    for index, line in enumerate(lines):
        for pattern, date_format in _SYNDICATION_IDS:
            if match := pattern.match(line):
                return index, parse_date(match["date"], date_formats=[date_format])
    return None


def _strip_publisher_credit(line: str, findings: Findings) -> str:
    """Remove a syndicator credit like "(MENAFN- Asia Times)", offering the publisher it names."""
    for pattern, rule in _PUBLISHER_CREDITS:
        if match := pattern.match(line):
            findings.offer("publisher", match["publisher"], from_text(rule))
            return line[match.end() :].strip()
    return line


def _drop_trailing_publisher_lines(paragraphs: list[str], publisher: str | None) -> None:
    """Drop closing lines that only repeat the publisher's name (a site's sign-off)."""
    if not publisher:
        return
    while (
        paragraphs
        and word_count(paragraphs[-1]) <= _PUBLISHER_LINE_MAX_WORDS
        and paragraphs[-1].casefold().strip(" .") == publisher.casefold()
    ):
        paragraphs.pop()
