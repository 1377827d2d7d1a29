"""A fetched article page: is it HTML, how is it encoded, and the draft the ingest path reads
from it, with what the listing said of it as evidence."""

from __future__ import annotations

import codecs
import re

import lxml.html
from lxml import etree

from app.collect.fetch import Fetched
from app.collect.listings import Item
from app.collect.urls import normalise_url
from app.ingest.document import HTML_META, NONE, ArticleDraft, ReadFailure
from app.ingest.extract.textclean import UndecodableText, decode_article_bytes
from app.ingest.read.readers import read_page
from app.ingest.read.sidecar import add_tags

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_MAGIC = {
    b"%PDF": "a PDF",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
# A page date htmldate guessed (from any date in the text): the feed's stated date wins.
_GUESSED_DATES = frozenset({NONE, f"{HTML_META}:htmldate"})
# Where a value came from when a collected page gets it from its source (provenance).
SOURCE = "source"


def not_html_reason(fetched: Fetched) -> str | None:
    """Why the answer is not an article page (a PDF, an image, ...), None when it is HTML."""
    for magic, what in _MAGIC.items():
        if fetched.body.startswith(magic):
            return f"{what}, not an HTML page"
    kind = fetched.content_type
    if kind and not kind.startswith(_HTML_TYPES):
        return f"not an HTML page ({kind})"
    return None


def decode_page(body: bytes, header_charset: str | None) -> str:
    """The page's text: valid UTF-8 is UTF-8 whatever is declared; else the header's charset,
    then the page's meta charset, then the ingest's own guess (Western 8-bit, then
    charset-normalizer). A header and a meta tag that contradict each other are common."""
    if not body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8)):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        meta = _META_CHARSET.search(body[:4096])
        declared = [header_charset, meta.group(1).decode("ascii") if meta else None]
        for charset in declared:
            if charset:
                try:
                    return body.decode(charset)
                except (LookupError, UnicodeDecodeError):
                    continue
    return decode_article_bytes(body)


def canonical_link(html: str, base: str) -> str | None:
    """The page's `<link rel="canonical">`, absolute and normalised."""
    try:
        tree = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return None
    for link in tree.iterfind(".//link[@href]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            return normalise_url(link.get("href") or "", base=base)
    return None


def page_draft(
    fetched: Fetched, item: Item, evidence: str, publisher: str, tags: list[str]
) -> ArticleDraft | ReadFailure:
    """The draft of a fetched article page, through the ingest's page reading; the listing's
    title, author, date and summary fill what the page does not state (provenance
    `evidence`: feed or sitemap), and a date they disagree on shows both."""
    if (why := not_html_reason(fetched)) is not None:
        return ReadFailure(item.url, why)
    try:
        html = decode_page(fetched.body, fetched.charset)
    except UndecodableText as exc:
        return ReadFailure(item.url, str(exc))
    result = read_page(html, item.url)
    if isinstance(result, ReadFailure):
        return result
    draft = result
    if canonical := canonical_link(html, fetched.url):
        draft.extra["canonical_url"] = canonical
    if fetched.url != item.url:
        draft.extra["fetched_url"] = fetched.url
    add_evidence(draft, item, evidence)
    draft.publisher = publisher
    draft.provenance["publisher"] = SOURCE
    draft.tags = add_tags(draft.tags, tags)
    return draft


def add_evidence(draft: ArticleDraft, item: Item, label: str) -> None:
    """Fill the draft's missing title, author and subtitle from the listing's item, and its
    date when the page states none (htmldate's guess from the text is no statement)."""
    for name, value in (("title", item.title), ("author", item.author), ("subtitle", item.summary)):
        if value and getattr(draft, name) is None:
            setattr(draft, name, value)
            draft.provenance[name] = label
    if item.published is None:
        return
    page_label = draft.provenance.get("published_at", NONE)
    if draft.published_at is None or page_label in _GUESSED_DATES:
        draft.published_at = item.published
        draft.provenance["published_at"] = label
    elif draft.published_at.date() != item.published.date():
        said = item.published.isoformat()
        draft.provenance["published_at"] = f"{page_label}; {label} says {said}"
