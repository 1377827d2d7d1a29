"""What a web page says about its article in its own markup: meta tags, JSON-LD, headings.

trafilatura picks one value per field; these are the candidates a page offers, so that
`html_fields` can cross-check them (a headline that the h1, og:title and <title> agree on)
instead of trusting whichever came first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import lxml.html
from lxml.etree import ParserError

_MAX_H1 = 5
_MAX_AUTHOR_LINKS = 5
_MAX_DATE_TEXTS = 5
_MAX_DATE_TEXT_CHARS = 60
# A class or id that names a date ("date", "pubdate", "post-date", "published"), as a word.
_DATE_NAME = re.compile(
    r"(?:^|[\s_-])(?:date|pubdate|dateline|published|posted-on)(?:$|[\s_-])", re.I
)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_MAX_JSON_LD_CHARS = 200_000
# JSON-LD types that describe the article itself (not the site, a breadcrumb or a person).
_ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "blogposting",
        "liveblogposting",
        "techarticle",
        "scholarlyarticle",
        "report",
        "webpage",
        "socialmediaposting",
        "creativework",
    }
)


@dataclass
class PageMeta:
    """The page's own statements about its article, each as found (stripped, never empty)."""

    # lower-cased name/property -> its values in page order (citation_author repeats)
    meta: dict[str, list[str]] = field(default_factory=dict)
    title_tag: str | None = None
    h1s: list[str] = field(default_factory=list)
    headline: str | None = None  # JSON-LD headline of the article object
    authors: list[str] = field(default_factory=list)  # JSON-LD authors, in order
    published: str | None = None  # JSON-LD datePublished
    modified: str | None = None  # JSON-LD dateModified
    language: str | None = None  # <html lang>
    # Texts of links to an author's page (rel="author", /author/…), and itemprop="author".
    author_links: list[str] = field(default_factory=list)
    # Short texts holding a year in elements whose class or id names a date, in page order.
    date_texts: list[str] = field(default_factory=list)

    def first(self, *names: str) -> str | None:
        """The first of these meta tags the page has."""
        for name in names:
            if values := self.meta.get(name):
                return values[0]
        return None


def read_page_meta(html: str) -> PageMeta:
    """Collect the page's meta tags, <title>, h1 headings and article JSON-LD."""
    page = PageMeta()
    try:
        tree = lxml.html.document_fromstring(html)
    except (ParserError, ValueError):
        return page
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop") or ""
        # Some saved pages keep the value in a `value` attribute instead of `content`.
        value = _clean(element.get("content") or element.get("value"))
        if key and value:
            page.meta.setdefault(key.strip().lower(), []).append(value)
    for element in tree.xpath("//*[@itemprop='datePublished' and not(self::meta)]"):
        # Microdata on a visible element: `<time itemprop="datePublished" datetime=…>`.
        value = _clean(element.get("content") or element.get("datetime") or element.text_content())
        if value:
            page.meta.setdefault("datepublished", []).append(value)
    page.date_texts = _date_texts(tree)
    if (title := tree.find(".//title")) is not None:
        page.title_tag = _clean(title.text_content())
    page.h1s = [text for h1 in tree.iter("h1") if (text := _clean(h1.text_content()))][:_MAX_H1]
    page.language = _clean(tree.get("lang") or tree.get("xml:lang"))
    page.author_links = _author_links(tree)
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() == "application/ld+json":
            _read_json_ld(script.text_content(), page)
    return page


def _author_links(tree: lxml.html.HtmlElement) -> list[str]:
    """The texts of the page's author links, in page order, each once."""
    found = tree.xpath(
        "//a[contains(concat(' ', normalize-space(@rel), ' '), ' author ')"
        " or contains(@href, '/author/') or contains(@href, '/authors/')]"
        " | //*[@itemprop='author' and not(*)] | //*[@itemprop='author']//*[@itemprop='name']"
    )
    texts = [
        _clean(element.text_content()) for element in found if hasattr(element, "text_content")
    ]
    return list(dict.fromkeys(text for text in texts if text))[:_MAX_AUTHOR_LINKS]


def _date_texts(tree: lxml.html.HtmlElement) -> list[str]:
    """Short texts with a year in elements named as dates (`<p class="date">`), page order."""
    texts: list[str] = []
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in ("script", "style", "meta"):
            continue
        names = f"{element.get('class') or ''} {element.get('id') or ''}"
        if not _DATE_NAME.search(names):
            continue
        text = _clean(element.text_content())
        if text and len(text) <= _MAX_DATE_TEXT_CHARS and _YEAR.search(text):
            texts.append(text)
            if len(texts) == _MAX_DATE_TEXTS:
                break
    return texts


def _clean(text: str | None) -> str | None:
    """Whitespace collapsed; None for nothing."""
    if text is None:
        return None
    return " ".join(text.split()) or None


def _read_json_ld(text: str, page: PageMeta) -> None:
    """Take the headline, authors and dates of the first article object in a JSON-LD block."""
    if len(text) > _MAX_JSON_LD_CHARS:
        return
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return
    for item in _json_ld_objects(data):
        if not _is_article(item):
            continue
        if page.headline is None and isinstance(item.get("headline"), str):
            page.headline = _clean(item["headline"])
        if not page.authors:
            page.authors = _author_names(item.get("author"))
        if page.published is None and isinstance(item.get("datePublished"), str):
            page.published = _clean(item["datePublished"])
        if page.modified is None and isinstance(item.get("dateModified"), str):
            page.modified = _clean(item["dateModified"])


def _json_ld_objects(data: Any) -> list[dict[str, Any]]:
    """The objects of a JSON-LD document: itself, a list's items, an @graph's members."""
    if isinstance(data, list):
        return [obj for item in data for obj in _json_ld_objects(item)]
    if not isinstance(data, dict):
        return []
    graph = data.get("@graph")
    return [data, *(_json_ld_objects(graph) if isinstance(graph, list) else [])]


def _is_article(item: dict[str, Any]) -> bool:
    kinds = item.get("@type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return any(isinstance(kind, str) and kind.lower() in _ARTICLE_TYPES for kind in kinds)


def _author_names(value: Any) -> list[str]:
    """Names from a JSON-LD author: a string, a Person/Organization object, or a list of them."""
    values = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in values:
        if isinstance(item, dict) and item.get("@type") == "Organization":
            continue  # the publisher credited as author: not a byline
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and (cleaned := _clean(name)):
            names.append(cleaned)
    return list(dict.fromkeys(names))
