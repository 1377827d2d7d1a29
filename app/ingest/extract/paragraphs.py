"""Which lines of a page's reading the page prints as one paragraph, broken by `<br>`.

trafilatura gives each piece of a `<p>` broken by `<br>` as a line of its own, so a line
that only names what the article is about (a product, a tool) or repeats the headline, followed
by the article's first sentence in the same `<p>`, looks like the header's furniture. It
is not: a page's header (its headline, date, labels) stands in elements of its own, and
text inside one paragraph with the article's sentences is the article.
"""

from __future__ import annotations

from itertools import pairwise

import lxml.html
from lxml.etree import ParserError

from app.ingest.extract.textclean import text_lines

_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template"})


def joined_lines(html: str, lines: list[str]) -> frozenset[int]:
    """Indices `i` of `lines` where one `<p>` of the page prints lines `i` and `i + 1`."""
    pairs = _adjacent_pairs(html)
    return frozenset(
        index for index in range(len(lines) - 1) if (lines[index], lines[index + 1]) in pairs
    )


def _adjacent_pairs(html: str) -> set[tuple[str, str]]:
    """Every pair of consecutive lines inside one `<p>` of the page, as text_lines reads them."""
    try:
        tree = lxml.html.document_fromstring(html)
    except (ParserError, ValueError):
        return set()
    pairs: set[tuple[str, str]] = set()
    for paragraph in tree.iter("p"):
        if paragraph.find(".//br") is None:
            continue
        pieces = text_lines("".join(_text_with_breaks(paragraph)))
        pairs.update(pairwise(pieces))
    return pairs


def _text_with_breaks(element: lxml.html.HtmlElement) -> list[str]:
    """The element's text in reading order, a newline for each `<br>` (all other breaks gone)."""
    pieces: list[str] = [" ".join((element.text or "").split("\n"))]
    for child in element:
        if isinstance(child.tag, str) and child.tag not in _SKIPPED_TAGS:
            pieces.append("\n" if child.tag == "br" else "".join(_text_with_breaks(child)))
        pieces.append(" ".join((child.tail or "").split("\n")))
    return pieces
