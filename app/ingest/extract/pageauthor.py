"""A page's authors: its metadata's names first, each checked the way a text byline is.

Pages state authors in JSON-LD (often a list), in citation_author tags (one per author),
in meta author tags, and trafilatura reads bylines from the text. Any of them can hold a
non-name ("January", "See full bio", a profile URL, "@handle") or a name with page text
run on ("Oli Coleman View author archive Get author RSS feed"): each name is cleaned and
checked, and a shared byline is kept whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.ingest.document import HTML_META
from app.ingest.extract.pagemeta import PageMeta

_MAX_NAME_WORDS = 6
# An author's page address: /author/jane-doe, /editors/jon-fingas, /authors/jane-doe/.
_PROFILE_URL = re.compile(
    r"^https?://[^/]+/(?:[\w-]+/)*(?:authors?|editors?|staff|people|profiles?)/"
    r"(?P<slug>[a-z]+(?:-[a-z]+){1,3})/?$",
    re.IGNORECASE,
)
_MAX_AUTHORS = 12
_JOINER = ", "
# Page text that runs on after a name in a byline block: cut it and what follows.
_RUN_ON = re.compile(
    r"\s*(?:[;|•·]|\b(?:view|see|get|more|follow|read)\b\s+(?:full\s+|all\s+|more\s+)?"
    r"(?:bio|profile|author|posts|articles|stories|on)\b|\s[-–—]\s|\bupdated\b|\bpublished\b"
    r"|\bemail\b|\bfollow\b)",
    re.IGNORECASE,
)
# Job titles written after a name with a comma: "Sam Stein, Senior Politics Editor".
_JOB_TEXT = """
    editor reporter correspondent writer columnist contributor producer director chief
    senior deputy associate managing executive photographer analyst
"""
_JOB_WORDS = frozenset(_JOB_TEXT.split())
_MONTH_TEXT = """
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
"""
_MONTHS = frozenset(_MONTH_TEXT.split())
# Words that are page furniture, never part of a person's name.
_NOT_NAME_TEXT = """
    bio profile archive rss feed subscribe share comments comment newsletter login sign
    lesedauer minutes min read xxx admin administrator anonymous unknown
"""
_NOT_NAMES = frozenset(_NOT_NAME_TEXT.split())


@dataclass(frozen=True)
class AuthorChoice:
    """The authors, joined for display, and where they were found."""

    text: str
    label: str


def choose_authors(page: PageMeta, picked: str | None) -> AuthorChoice | None:
    """The page's authors: the first source whose names pass the check, in order of trust."""
    sources = [
        (f"{HTML_META}:jsonld", page.authors),
        (f"{HTML_META}:citation", page.meta.get("citation_author", [])),
        (f"{HTML_META}:trafilatura", [picked] if picked else []),
        (f"{HTML_META}:meta", _meta_authors(page)),
        (f"{HTML_META}:author-link", page.author_links[:1]),
    ]
    site = {name.casefold() for name in _site_names(page)}
    for label, raw_names in sources:
        names = [name for raw in raw_names for name in _names_in(raw)]
        # The publisher's name in an author field ("Condé Nast") credits no one.
        names = [name for name in dict.fromkeys(names) if name.casefold() not in site]
        if names:
            return AuthorChoice(_JOINER.join(names[:_MAX_AUTHORS]), label)
    return None


def _site_names(page: PageMeta) -> list[str]:
    """Names the publisher goes by in the page's tags."""
    tags = ("og:site_name", "application-name", "publisher", "article:publisher", "copyright")
    return [value for tag in tags for value in page.meta.get(tag, [])]


def _meta_authors(page: PageMeta) -> list[str]:
    """Names in the meta tags that name an article's author (never a URL or a handle)."""
    for name in ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator"):
        if values := page.meta.get(name):
            return [_name_from_profile(value) or value for value in values]
    return []


def _name_from_profile(value: str) -> str | None:
    """The name an author-page address spells ("…/editors/jon-fingas" gives "Jon Fingas")."""
    match = _PROFILE_URL.match(value)
    if match is None:
        return None
    return " ".join(word.capitalize() for word in match["slug"].split("-"))


def _names_in(raw: str) -> list[str]:
    """The person names a byline string holds, run-on page text and job titles cut."""
    text = raw.strip()
    if not text or text.startswith(("http://", "https://", "@", "/")):
        return []
    text = re.sub(r"^[\[(【《]|[\])】》]$", "", text).strip()
    text = re.sub(r"^(?:by|von|par|por)\s+", "", text, flags=re.IGNORECASE)
    if match := _RUN_ON.search(text):
        text = text[: match.start()]
    names: list[str] = []
    for part in re.split(r"\s*[,，、]\s*|\s+(?:and|und|et|y|e)\s+|\s*&\s*", text):
        if names and _JOB_WORDS.intersection(part.casefold().split()):
            # "Sam Stein, Senior Politics Editor": a job title ends the list of names.
            break
        if _looks_like_name(part):
            names.append(part.strip())
    return names


def _looks_like_name(text: str) -> bool:
    """A name: a few words with letters, no digits, no month, no furniture word."""
    words = text.split()
    if not 0 < len(words) <= _MAX_NAME_WORDS or any(char.isdigit() for char in text):
        return False
    folded = {word.strip(".:").casefold() for word in words}
    if folded & _NOT_NAMES or folded <= _MONTHS:
        return False
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return False
    # A Latin-script name is capitalised ("de Moraes" keeps a capital somewhere).
    latin = all(ord(char) < 0x250 for char in letters)
    return not latin or any(word[0].isupper() for word in words if word[0].isalpha())
