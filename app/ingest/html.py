"""Saved web pages: main text by trafilatura, metadata from the page's own tags and htmldate."""

from __future__ import annotations

import trafilatura
from trafilatura.settings import Document

from app.ingest.document import HTML_META, ArticleDraft
from app.ingest.extract import build_draft, extract_from_lines
from app.ingest.findings import RANK_METADATA, Findings
from app.ingest.pageauthor import choose_authors
from app.ingest.pagedate import DateChoice, choose_published
from app.ingest.pagemeta import PageMeta, read_page_meta
from app.ingest.pagetitle import choose_title
from app.ingest.textclean import text_lines

# trafilatura metadata attribute -> draft field (title and author are cross-checked below).
_META_FIELDS = {
    "sitename": "publisher",
    "url": "url",
    "description": "subtitle",
}
# A precise reading shorter than this ("Advertisements", "SITE PROFILE") missed the article.
_MIN_BODY_CHARS = 200


def extract_html_article(html: str, origin: str, url: str | None = None) -> ArticleDraft:
    """Read a saved article page: metadata from its tags, then the text rules on its main text.

    `url` is the page's address when the user gave it (a sidecar): the date in it and the
    site's name help. trafilatura reads the page precisely first (keeping related-story lists
    out); when that leaves next to no article text, its default reading is tried too.
    """
    page = read_page_meta(html)
    published = choose_published(page, html, url)
    best = build_draft(origin, [], Findings())
    for precise in (True, False):
        document = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, favor_precision=precise, include_comments=False
        )
        if isinstance(document, Document) and (document.text or "").strip():
            draft = _read_document(document, page, published, url, origin)
            if len(draft.body) > len(best.body):
                best = draft
            if len(best.body) >= _MIN_BODY_CHARS:
                break
    return best


def _read_document(
    document: Document, page: PageMeta, published: DateChoice | None, url: str | None, origin: str
) -> ArticleDraft:
    """The draft from one trafilatura reading: cross-checked metadata, then the text rules."""
    findings = Findings()
    if title := choose_title(page, url, _stripped(document.title)):
        findings.offer("title", title.text, title.label, RANK_METADATA)
    if authors := choose_authors(page, _stripped(document.author)):
        findings.offer("author", authors.text, authors.label, RANK_METADATA)
    for attribute, name in _META_FIELDS.items():
        value = _stripped(getattr(document, attribute, None))
        findings.offer(name, value, HTML_META, RANK_METADATA)
    if published is not None:
        findings.offer("published_at", published.when, published.label, RANK_METADATA)
    return extract_from_lines(text_lines(document.text or ""), origin, findings, page=True)


def _stripped(value: object) -> str | None:
    """A metadata value as a stripped string, None when it is not a string or is blank."""
    return (value.strip() or None) if isinstance(value, str) else None
