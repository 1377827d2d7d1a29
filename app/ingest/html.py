"""Saved web pages: main text by trafilatura, metadata from the page's own tags and htmldate."""

from __future__ import annotations

from datetime import datetime

import htmldate
import trafilatura
from trafilatura.settings import Document

from app.ingest.dates import parse_iso_date
from app.ingest.document import HTML_META, ArticleDraft
from app.ingest.extract import build_draft, extract_from_lines
from app.ingest.findings import RANK_METADATA, Findings
from app.ingest.textclean import text_lines

# trafilatura metadata attribute -> draft field.
_META_FIELDS = {
    "title": "title",
    "author": "author",
    "sitename": "publisher",
    "url": "url",
    "description": "subtitle",
}


def extract_html_article(html: str, origin: str) -> ArticleDraft:
    """Read a saved article page: metadata from its tags, then the text rules on its main text."""
    document = trafilatura.bare_extraction(
        html, with_metadata=True, favor_precision=True, include_comments=False
    )
    findings = Findings()
    if not isinstance(document, Document):
        return build_draft(origin, [], findings)
    for attribute, name in _META_FIELDS.items():
        value = getattr(document, attribute, None)
        findings.offer(
            name, value.strip() if isinstance(value, str) else None, HTML_META, RANK_METADATA
        )
    findings.offer("published_at", _published_from_markup(html), HTML_META, RANK_METADATA)
    return extract_from_lines(text_lines(document.text or ""), origin, findings)


def _published_from_markup(html: str) -> datetime | None:
    """The original publication time stated in the page's markup (not guessed from its text)."""
    found = htmldate.find_date(
        html, extensive_search=False, original_date=True, outputformat="%Y-%m-%dT%H:%M:%S%z"
    )
    return parse_iso_date(found) if found else None
