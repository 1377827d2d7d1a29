"""Page furniture: the menus, labels, captions and notices a copied web page drags along.

Every pattern here applies only to a short line standing on its own, never to a
sentence inside a paragraph, so an article that quotes "Load next story" keeps it.
"""

from __future__ import annotations

import re

_SHORT_LINE_WORDS = 8
_TICKER_LINE_WORDS = 60
_CAPTION_EXTRA_WORDS = 4

# Whole-line matches (case-insensitive) for standalone short lines.
_FURNITURE = re.compile(
    r"""^(?:
        logo|advertisement|advert|sponsored(?:\ content)?|ad|
        skip\ to(?:\ main)?\ content|menu|search|home|subscribe(?:\ now)?|sign\ (?:in|up)|log\ ?in|
        share(?:\ this(?:\ article|\ story)?)?|print|e-?mail|copy\ link|
        (?:load|read|view)\ (?:next|more)(?:\ stories|\ story|\ articles?)?|
        next\ story|previous\ story|
        (?:related|recommended|more)(?:\ articles|\ stories|\ news|\ from\ \S+(?:\ \S+)?)?|
        (?:show\ |view\ )?comments?(?:\ \(\d+\))?|back\ to\ top|follow\ us(?:\ on\ \S+)?|
        listen(?:\ to\ this\ article)?(?:\ \(?\d+\ min\)?)?|\d+\ min(?:ute)?s?\ read|
        (?:image|photo|picture|video)(?:\ (?:source|caption|credit|copyright))?(?::.*)?|
        getty\ images|(?:photo|file\ photo)\ by\ .*|click\ here.*|
        (?:home|news)\ ?[>»/|].*|updated?\ ?[:|].*|last\ updated.*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)

# Tickers and banners ("News Flash : ...", "Breaking: ...") sit above the headline.
_TICKER = re.compile(
    r"^(?:news\s?flash|breaking(?:\s+news)?|trending(?:\s+now)?|latest(?:\s+news)?|just\s+in|"
    r"top\s+stories|live\s+updates?|headlines)\s*[:|>»-]",
    re.IGNORECASE,
)

# A heading that starts the closing notices: everything from it to the end goes.
_FOOTER_HEADING = re.compile(
    r"^(?:legal\s+)?disclaimer\s*:?(?:\s.*)?$|^(?:about\s+the\s+author|related\s+(?:articles|stories|"
    r"posts|news)|more\s+from\s+.+|you\s+may\s+also\s+like|recommended(?:\s+for\s+you)?|"
    r"tags)\s*:?$",
    re.IGNORECASE,
)
_FOOTER_MAX_LINES_AFTER = 3

_COPYRIGHT = re.compile(
    r"^(?:copyright\s*)?(?:©|\(c\)|copyright)\s*(?:\d{4}(?:\s*[-–]\s*\d{4})?)?\s*,?\s*"
    r"(?P<owner>[^.|]*?)\s*(?:[.|,]\s*)?(?:all\s+rights\s+reserved\.?)?$",
    re.IGNORECASE,
)
_COPYRIGHT_MAX_WORDS = 15

_CAPTION_WORDS = re.compile(
    r"^(?:image|photo|picture|video|graphic|file\s+photo|photograph)s?\b", re.IGNORECASE
)


def word_count(line: str) -> int:
    """Number of whitespace-separated words in a line."""
    return len(line.split())


def is_furniture(line: str) -> bool:
    """True for a short standalone line that is page furniture (a menu item, label or button)."""
    return word_count(line) <= _SHORT_LINE_WORDS and bool(_FURNITURE.match(line))


def is_ticker(line: str) -> bool:
    """True for a news-ticker or banner line ("News Flash : ...") found above a headline."""
    return word_count(line) <= _TICKER_LINE_WORDS and bool(_TICKER.match(line))


def is_caption_of(line: str, title: str | None) -> bool:
    """True for a line repeating the headline, bare or with "image"/"photo" glued on (a caption)."""
    if not title:
        return False
    folded, folded_title = line.casefold(), title.casefold()
    if folded == folded_title:
        return True
    if not folded.startswith(folded_title):
        return False
    rest = line[len(title) :].strip(" -–—|:")
    return word_count(rest) <= _CAPTION_EXTRA_WORDS and bool(_CAPTION_WORDS.match(rest))


def copyright_owner(line: str) -> str | None:
    """The owner named by a copyright line ("© 2024 Asia Times. All rights reserved."), if any."""
    if word_count(line) > _COPYRIGHT_MAX_WORDS:
        return None
    match = _COPYRIGHT.match(line)
    if match is None or not re.search(r"©|\(c\)|copyright", line, re.IGNORECASE):
        return None
    owner = match["owner"].strip(" .,")
    return owner or None


def footer_start(lines: list[str]) -> int:
    """Index of the closing-notice heading ("Legal Disclaimer:") near the end, or len(lines)."""
    first_allowed = max(len(lines) - 1 - _FOOTER_MAX_LINES_AFTER, 1)
    for index in range(first_allowed, len(lines)):
        line = lines[index]
        if word_count(line) <= _SHORT_LINE_WORDS and _FOOTER_HEADING.match(line):
            return index
    return len(lines)
