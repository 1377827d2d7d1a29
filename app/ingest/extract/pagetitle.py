"""A page's headline, chosen by the agreement of the titles it offers.

A page names its article in several places: og:title, twitter:title, the JSON-LD headline,
its h1 headings and <title>. Each alone can be wrong: the first h1 may be the site's logo
("POLITICO Politico Logo"), a widget heading ("Follow us on Twitter"), and <title> usually
carries the site's name ("… - HelloGiggles", "…：朝日新聞デジタル"). The headline is the text
the most of them state, whole or once the site's name is cut from a title.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.ingest.document import HTML_META
from app.ingest.extract.pagemeta import PageMeta

# Separators between a headline and a site's name, strongest first: a title is split on the
# strongest kind it holds. A colon counts only when unspaced ("Treeviz」:phpspot開発日誌"),
# since "Brexit: what happens next" is one headline.
_SEPARATORS = (
    re.compile(r"\s*[|｜]\s*"),
    re.compile(r"\s+[-–—~»·•]\s+|\s*::\s*"),
    re.compile(r"\s*[：_]\s*|(?<=[^\s\d]):(?=[^\s\d])"),
)
_MIN_SEGMENT_CHARS = 2
# "POLITICO Politico Logo": a short text opening with the site's name is its logo.
_LOGO_MAX_WORDS = 3
# Where a candidate comes from, in the order that breaks a tie between equally backed texts:
# the headline cut from a title, then the page's own headline fields, then an h1, then a
# title as written.
_PREFERENCE = ("title-cut", "meta", "h1", "title")
# Whose wording is shown when several state the same headline: the one readers see first.
_DISPLAY = ("h1", "meta", "title-cut", "title")


@dataclass(frozen=True)
class TitleChoice:
    """The chosen headline and the provenance label of the sources that state it."""

    text: str
    label: str


def choose_title(page: PageMeta, url: str | None, picked: str | None) -> TitleChoice | None:
    """The headline the most independent sources state; `picked` (trafilatura's) on a tie.

    og:title, twitter:title, the JSON-LD headline and <title> usually come from one field of
    the publisher's system, so together they count as one voice ("meta"); the page's h1
    headings are a second and trafilatura's own pick a third.
    """
    site_names = _site_names(page, url)
    voices: dict[str, set[str]] = {}
    sources: dict[str, set[str]] = {}
    ranks: dict[str, int] = {}  # key -> best preference rank among its sources
    forms: dict[str, dict[str, str]] = {}  # key -> kind -> text as written

    def offer(text: str, source: str, kind: str) -> None:
        key = _key(text)
        if not key or _is_site_name(key, site_names):
            return
        voices.setdefault(key, set()).add("h1" if source == "h1" else "meta")
        sources.setdefault(key, set()).add(source)
        ranks[key] = min(ranks.get(key, len(_PREFERENCE)), _PREFERENCE.index(kind))
        forms.setdefault(key, {}).setdefault(kind, text)

    titles = [*_meta_titles(page), *([("title", page.title_tag)] if page.title_tag else [])]
    for source, text in titles:
        cut, names_site = _headline_part(text, site_names)
        if cut is not None:
            offer(cut, source, "title-cut")
        if not names_site:
            offer(text, source, "meta" if source != "title" else "title")
    for h1 in page.h1s:
        offer(h1, "h1", "h1")
    if picked and (key := _key(picked)) in voices:
        voices[key].add("picked")
    if not voices:
        return TitleChoice(picked, f"{HTML_META}:trafilatura") if picked else None
    best = max(voices, key=lambda key: (len(voices[key]), -ranks[key], len(key)))
    shown = next(forms[best][kind] for kind in _DISPLAY if kind in forms[best])
    return TitleChoice(shown, f"{HTML_META}:" + "+".join(sorted(sources[best])))


def _meta_titles(page: PageMeta) -> list[tuple[str, str]]:
    """(source, text) for the page's headline fields."""
    found = [
        ("og", page.first("og:title")),
        ("twitter", page.first("twitter:title")),
        ("jsonld", page.headline),
    ]
    return [(source, text) for source, text in found if text]


def _headline_part(title: str, site_names: set[str]) -> tuple[str | None, bool]:
    """A title with the site's name cut (its longest part between separators of the strongest
    kind it holds; None without separators), and whether a part was the site's known name."""
    parts = _title_parts(title)
    if not parts:
        return None, False
    kept = [part for part in parts if not _is_site_name(_key(part), site_names)]
    return max(kept or parts, key=len), len(kept) < len(parts)


def _title_parts(title: str) -> list[str]:
    """A title split on the strongest kind of separator it holds; [] when it holds none."""
    for separator in _SEPARATORS:
        parts = [part.strip() for part in separator.split(title)]
        parts = [part for part in parts if len(part) >= _MIN_SEGMENT_CHARS]
        if len(parts) >= 2:
            return parts
    return []


def _is_site_name(key: str, site_names: set[str]) -> bool:
    """True for the site's name or its logo's text ("politico politico logo", "phpspot開発日誌")."""
    words = key.split()
    return any(
        key == name or (key.startswith(name) and len(words) <= _LOGO_MAX_WORDS)
        for name in site_names
    )


def _site_names(page: PageMeta, url: str | None) -> set[str]:
    """Keys of the names the site goes by: og:site_name, application-name, its host's name."""
    names = {
        _key(name) for name in (page.first("og:site_name"), page.first("application-name")) if name
    }
    # "这个约会软件…_智能_好奇心日报" under an h1 "好奇心日报": the last part of <title>, when an
    # h1 repeats it and it is not the longest, is the site's name (its logo), not the headline.
    h1_keys = {_key(h1) for h1 in page.h1s}
    parts = _title_parts(page.title_tag) if page.title_tag else []
    if parts and parts[-1] != max(parts, key=len) and _key(parts[-1]) in h1_keys:
        names.add(_key(parts[-1]))
    if url and (host := urlsplit(url).hostname):
        labels = [label for label in host.split(".") if label not in {"www", "m", "amp"}]
        if labels:
            names |= {_key(labels[0]), _key(".".join(labels))}
    return {name for name in names if name}


def _key(text: str) -> str:
    """A title folded for comparison: width, case, quotes, and end punctuation ignored."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = re.sub(r"[\"'‘’“”«»「」]", "", folded)
    return " ".join(folded.split()).strip(" .。!！?？:：-–—|｜")
