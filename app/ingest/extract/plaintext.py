"""Extract an article's metadata and clean body from its text (the rules for .txt files)."""

from __future__ import annotations

import py3langid

from app.ingest.document import NONE, ArticleDraft, from_text
from app.ingest.extract.body import clean_body
from app.ingest.extract.cites import find_cites
from app.ingest.extract.findings import Findings
from app.ingest.extract.header import scan_header
from app.ingest.extract.textclean import text_lines

# Fields whose origin every draft records (see ArticleDraft.provenance).
PROVENANCE_FIELDS = (
    "title",
    "subtitle",
    "dateline",
    "author",
    "publisher",
    "published_at",
    "language",
    "url",
    "cites",
)
_LANGUAGE_SAMPLE_CHARS = 5000


def extract_text_article(text: str, origin: str) -> ArticleDraft:
    """Read a plain-text article: headline, standfirst, byline, dates, credits, clean body."""
    return extract_from_lines(text_lines(text), origin, Findings())


def extract_from_lines(
    lines: list[str],
    origin: str,
    findings: Findings,
    *,
    page: bool = False,
    joined: frozenset[int] = frozenset(),
) -> ArticleDraft:
    """Apply the text rules to an article's lines, on top of what `findings` already holds.

    `page` marks text extracted from a web page; `joined` holds the indices `i` where the
    page prints lines `i` and `i + 1` in one paragraph (see `scan_header`).
    """
    # Known early so that dates in the text are read in the article's language.
    findings.offer("language", detect_language("\n".join(lines)), from_text("langid"))
    header = scan_header(lines, findings, page=page, joined=joined)
    paragraphs = clean_body(
        lines[header.body_start :], findings, header.dateline_line, header.opening_lines
    )
    return build_draft(origin, paragraphs, findings)


def build_draft(origin: str, paragraphs: list[str], findings: Findings) -> ArticleDraft:
    """Assemble the draft: body, lede, citations and language read from the final paragraphs."""
    body = "\n\n".join(paragraphs)
    findings.offer("cites", find_cites(body), from_text("citation"))
    return ArticleDraft(
        origin=origin,
        body=body,
        title=findings.get("title"),
        subtitle=findings.get("subtitle"),
        dateline=findings.get("dateline"),
        author=findings.get("author"),
        publisher=findings.get("publisher"),
        published_at=findings.get("published_at"),
        language=findings.get("language"),
        url=findings.get("url"),
        lede=paragraphs[0] if paragraphs else None,
        cites=list(findings.get("cites") or []),
        tags=list(findings.get("tags") or []),
        extra=dict(findings.get("extra") or {}),
        provenance={name: findings.provenance.get(name, NONE) for name in PROVENANCE_FIELDS},
    )


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language (py3langid), or None when there is no text."""
    sample = text.strip()[:_LANGUAGE_SAMPLE_CHARS]
    if not any(char.isalpha() for char in sample):
        return None
    language, _score = py3langid.classify(sample)
    return str(language)
