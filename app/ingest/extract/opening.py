"""The article's opening the reading left out above its first paragraph: caption, standfirst.

trafilatura leaves out figure captions and often the standfirst in the article's header,
yet a page shows them first, and hand-checked answers (postlight's) start there. This looks
in the page itself, walking back from the element holding the reading's first paragraph:

- the caption of a figure (its `<figcaption>`, or an element in it whose class names a
  caption) met before any longer text opens the body;
- the first longer text met then ends the walk; when it is the article's own header
  (inside `<article>`: its `<header>`, else the block holding its `<h1>`, after the
  headline), its last block of running text (a full sentence, not a byline; a list of tag
  links below it is passed over) is the standfirst and goes first.

A short paragraph that is all link directly above the first one, in the same container,
opens the body too (the text rules then judge it as a line above the story).

The walk never leaves the article (`<article>`, `<main>`, `<body>`), passes over short text
(a byline, a date, "Share") and stops at any other longer text, so a figure further up the
page or one separated from the paragraph by a related-story list is left out. A standfirst
anywhere else above the paragraph was measured and is not taken: the bodies answered on
scrapinghub's pages leave those out (often the page's meta description), and they cost
more body precision than they won.
"""

from __future__ import annotations

import re

import lxml.html
from lxml.etree import ParserError

from app.ingest.extract.header import starts_with_byline
from app.ingest.extract.textclean import ends_sentence, normalise_line

# The reading's first paragraph: its first line at least this long (not a heading or label).
_PARAGRAPH_MIN_CHARS = 60
# Found in the page by the text node it starts with: up to this many characters, and at
# least the second number (a shorter start, "The", is found everywhere).
_ANCHOR_CHARS = 24
_ANCHOR_MIN_CHARS = 12
# Text shorter than this between a caption and the paragraph (a byline, a date, a credit,
# "Share") is passed over.
_SHORT_TEXT_CHARS = 40
# A standfirst in the article's header: a full sentence at least this long.
_STANDFIRST_MIN_CHARS = 60
# A caption at most this long (longer is an embedded text box, not a caption).
_CAPTION_MAX_CHARS = 400
# Levels the walk climbs from the paragraph towards the article's own element.
_MAX_LEVELS = 6
_BOUNDARY_TAGS = frozenset({"article", "main", "body", "html"})
_SKIPPED_TAGS = frozenset(
    {"nav", "aside", "footer", "script", "style", "noscript", "form", "button", "template"}
)
_CAPTION_CLASS = re.compile(r"caption", re.IGNORECASE)
_WORDS = re.compile(r"\w+")


def with_opening(html: str, lines: list[str], title: str | None) -> list[str]:
    """`lines` (the reading's body) with the opening found above its first paragraph, if any.

    The opening goes directly before that paragraph: short lines above it (labels, a
    byline) stay where they were, for the header rules to judge as before.
    """
    first = next((i for i, line in enumerate(lines) if len(line) >= _PARAGRAPH_MIN_CHARS), None)
    if first is None:
        return lines
    opening = _opening(html, lines[first], lines, title)
    return [*lines[:first], *opening, *lines[first:]]


def _opening(html: str, first: str, lines: list[str], title: str | None) -> list[str]:
    """The standfirst and caption above the paragraph starting with `first`, else []."""
    try:
        tree = lxml.html.document_fromstring(html)
    except (ParserError, ValueError):
        return []
    paragraph = _element_holding(tree, first)
    if paragraph is None:
        return []
    found = [*_opening_above(paragraph), *_short_paragraph_before(paragraph)]
    texts = [normalise_line(text) for text in found]
    return [
        text
        for text in texts
        if text not in lines
        and not _repeats(text, title)
        and not any(_repeats(text, line) for line in lines[:3])
    ]


def _element_holding(tree: lxml.html.HtmlElement, first: str) -> lxml.html.HtmlElement | None:
    """The first element in the page's body whose own text (or a tail in it) starts `first`.

    The text node may stop early at a link ("A few weeks ago, <a>…"), so it must only be a
    start of the line, of at least `_ANCHOR_MIN_CHARS`.
    """
    body = tree.find("body")
    for element in (body if body is not None else tree).iter():
        if not isinstance(element.tag, str) or element.tag in _SKIPPED_TAGS:
            continue
        if _starts(first, element.text):
            return element
        parent = element.getparent()
        if _starts(first, element.tail) and parent is not None:
            return parent
    return None


def _starts(first: str, text: str | None) -> bool:
    piece = normalise_line(text or "")[:_ANCHOR_CHARS]
    return len(piece) >= _ANCHOR_MIN_CHARS and first.startswith(piece)


def _opening_above(paragraph: lxml.html.HtmlElement) -> list[str]:
    """The standfirst and caption above `paragraph` inside its article, in page order."""
    node = paragraph
    caption: str | None = None
    for _ in range(_MAX_LEVELS):
        for sibling in node.itersiblings(preceding=True):
            if not isinstance(sibling.tag, str) or sibling.tag in _SKIPPED_TAGS:
                continue
            found = None if caption is not None else _caption_in(sibling)
            if found is not None:
                if len(found) > _CAPTION_MAX_CHARS:
                    return []
                caption = found
                continue
            if len(_own_text(sibling)) >= _SHORT_TEXT_CHARS:
                standfirst = _standfirst_in(sibling)
                return [text for text in (standfirst, caption) if text]
        parent = node.getparent()
        if parent is None or node.tag in _BOUNDARY_TAGS or parent.tag in _BOUNDARY_TAGS:
            break
        node = parent
    return [caption] if caption else []


def _short_paragraph_before(paragraph: lxml.html.HtmlElement) -> list[str]:
    """The short linked `<p>` directly above the first paragraph, in its container, else [].

    Precision drops a short paragraph that is all link (a link to the original story)
    opening the text; the text rules then judge it as any line above the body. Other short
    text there (a byline, a date line in any language) is left out.
    """
    before = paragraph.getprevious()
    while before is not None and not isinstance(before.tag, str):
        before = before.getprevious()  # a comment between the two
    if before is None or before.tag != "p":
        return []
    text = _own_text(before)
    linked = 0 < len(text) < _SHORT_TEXT_CHARS and _is_link_list(before, text)
    return [text] if linked else []


def _standfirst_in(element: lxml.html.HtmlElement) -> str | None:
    """The standfirst closing the article's header (at or wrapped in `element`).

    The header is the article's `<header>`, else the block holding the article's `<h1>`
    (then only what follows the headline counts). A list of links closing it (tags,
    sharing) is passed over; any other last block that is not a full sentence means none.
    """
    found = _article_header(element)
    if found is None:
        return None
    header, blocks = found
    if len(_own_text(element)) > len(_own_text(header)) + _SHORT_TEXT_CHARS:
        return None
    for block in reversed(blocks):
        text = _own_text(block)
        if len(text) < _SHORT_TEXT_CHARS or _is_link_list(block, text):
            continue  # the byline or date under the standfirst, a list of tags
        running = len(text) >= _STANDFIRST_MIN_CHARS and ends_sentence(text)
        return text if running and not starts_with_byline(text) else None
    return None


def _article_header(
    element: lxml.html.HtmlElement,
) -> tuple[lxml.html.HtmlElement, list[lxml.html.HtmlElement]] | None:
    """The article's header at or inside `element`, with its innermost text blocks."""
    header = element if element.tag == "header" else next(element.iter("header"), None)
    after: lxml.html.HtmlElement | None = None
    if header is None:
        # No <header>: the headline's own block, when it lies inside `element` (a block
        # holding the headline beside the body's paragraphs is not a header).
        after = next(element.iter("h1"), None)
        header = after.getparent() if after is not None else None
        if header is None or (header is not element and element not in header.iterancestors()):
            return None
    if next(header.iterancestors("article"), None) is None:
        return None
    blocks = [
        block
        for block in header.iter("p", "div")
        if not any(isinstance(child.tag, str) and child.tag in ("p", "div") for child in block)
    ]
    if after is not None:
        following = set(after.itersiblings())
        blocks = [
            block
            for block in blocks
            if block in following or any(up in following for up in block.iterancestors())
        ]
    return header, blocks


def _is_link_list(block: lxml.html.HtmlElement, text: str) -> bool:
    """True for a block whose text is mostly links (tags, sharing buttons, related stories)."""
    linked = sum(len(_own_text(link)) for link in block.iter("a"))
    return linked * 2 > len(text)


def _caption_in(element: lxml.html.HtmlElement) -> str | None:
    """The caption of the figure that is (or is the only text inside) `element`, else None.

    A figure's caption is its `<figcaption>`, else an element in it whose class names a
    caption; text around the figure (more than a short credit) means `element` is more than
    a figure, and None.
    """
    figure = element if element.tag == "figure" else next(iter(element.iter("figure")), None)
    if figure is None:
        return None
    captions = figure.xpath(
        ".//figcaption | .//*[contains(translate(@class, 'CAPTION', 'caption'), 'caption')]"
    )
    if not captions:
        return None
    caption = _own_text(captions[0])
    if not caption or len(_own_text(element)) > len(caption) + _SHORT_TEXT_CHARS:
        return None
    return caption


def _own_text(element: lxml.html.HtmlElement) -> str:
    """The element's visible text (scripts and styles left out), spaces collapsed."""
    return " ".join(" ".join(_in_order(element)).split())


def _in_order(element: lxml.html.HtmlElement) -> list[str]:
    """The element's text pieces in reading order, skipping scripts, styles and the like."""
    pieces: list[str] = []

    def walk(node: lxml.html.HtmlElement) -> None:
        if isinstance(node.tag, str) and node.tag not in _SKIPPED_TAGS:
            if node.text:
                pieces.append(node.text)
            for child in node:
                walk(child)
                if child.tail:
                    pieces.append(child.tail)

    walk(element)
    return pieces


def _repeats(text: str, other: str | None) -> bool:
    """True when `text` says what `other` says (the headline, a line already in the body)."""
    if not other:
        return False
    words, others = _WORDS.findall(text.casefold()), _WORDS.findall(other.casefold())
    if not words or not others:
        return False
    joined, other_joined = " ".join(words), " ".join(others)
    return joined in other_joined or other_joined in joined
