"""Entity names: turn a surface form as written into a canonical name, and fold names into keys."""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gender_guesser.detector import Detector

from app.keys import name_key

__all__ = [
    "AliasRow",
    "AliasTable",
    "canonical_name",
    "has_honorific",
    "is_acronym",
    "is_first_name",
    "load_alias_file",
    "name_key",
]

# Titles and honorifics that precede a person's name but are not part of it. Multi-word titles
# need no entry of their own: each word is stripped in turn ("Deputy Prime Minister").
# Royal titles are left out on purpose: "Prince Harry" without "Prince" is not the usual name.
_TITLE_WORDS = """
    mr mrs ms miss mx dr prof professor sir dame madam madame monsieur herr
    president vice deputy acting former interim prime minister secretary general
    chancellor premier senator sen rep representative congressman congresswoman governor gov
    mayor judge justice treasurer chairman chairwoman chair chief executive ceo spokesman
    spokeswoman
    spokesperson ambassador envoy commander gen lt col colonel maj major capt captain sgt
    admiral marshal foreign defence defense interior finance security council state
    mullah maulvi maulana sheikh sheik shaikh imam ayatollah hojatoleslam emir amir sultan
    rev reverend pastor cardinal bishop archbishop rabbi sergeant
"""
PERSON_TITLES = frozenset(_TITLE_WORDS.split())
# Title words that are also common surnames: "John Major", "Mike Judge", "Mr Bishop".
SURNAME_TITLES = frozenset({"major", "judge", "bishop", "marshal", "cardinal"})
# Words ending like an adjective of nationality or office ("Russian", "Catholic", "Federal"),
# which before a title qualify it rather than being a first name.
_ADJECTIVE_ENDING = re.compile(r"(?:an|ese|ish|i|ic|al)$")
# Honorifics only ever put before a person's name: "Mr Balls" is a person whatever NER says.
HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "sir", "dame"})

# Acronyms that look like ALL-CAPS words but must stay upper case when normalising datelines.
KNOWN_ACRONYMS = frozenset({"USA", "USSR", "UAE", "DPRK", "PRC", "ROC", "DRC", "NATO", "OPEC"})

# Curly and look-alike quotes folded to their plain forms.
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‛": "'", "`": "'", "“": '"', "”": '"', "„": '"'})
_EDGE_JUNK = " \t\"'()[]{}<>.,;:!?*-–—|/\\"
_LEADING_ARTICLE = re.compile(r"^(?:[Tt]he|an?)\s+")
_POSSESSIVE = re.compile(r"(?<=\w)'s?$")
_NEWS_AGENCY = re.compile(r"\s+news\s+agency$", re.IGNORECASE)
_MIDDLE_INITIAL = re.compile(r"^[A-Z]\.?$")
_ISATION = re.compile(r"(?<=[a-z])isation(s?)\b")
# Ids and codes: a run of five digits is never part of a name ("MENAFN1804202400...").
_ID_LIKE = re.compile(r"\d{5,}")
_KEEP_THE = frozenset({"the hague", "the gambia", "the bahamas"})
_MAX_WORDS = 10
_SPACED_DASH = re.compile(r"\s[-–—]|[-–—]\s")
_MAX_PASSES = 4


def canonical_name(surface: str, entity_type: str) -> str | None:
    """The canonical form of an entity name as written, or None when it cannot be a name.

    >>> canonical_name("Russian President Vladimir V. Putin's", "person")
    'Vladimir Putin'
    """
    name = surface
    # Stripping can expose more to strip ("the the", "Mr. Dr. X's"): repeat until stable.
    for _ in range(_MAX_PASSES):
        cleaned = _clean_once(name, entity_type)
        if cleaned == name:
            break
        name = cleaned
    if entity_type == "person" and _is_title(name) and not _honorific_before(surface, name):
        return None
    return name if _looks_like_name(name) else None


def _honorific_before(surface: str, name: str) -> bool:
    """True when the surface writes an honorific right before `name` ("Mr. Major")."""
    words = surface.split()
    return any(
        _is_honorific(word) and following.strip(_EDGE_JUNK).startswith(name)
        for word, following in itertools.pairwise(words)
    )


def _clean_once(surface: str, entity_type: str) -> str:
    """One pass of canonical_name's clean-up, without the final check."""
    name = " ".join(surface.translate(_QUOTES).split()).strip(_EDGE_JUNK)
    if name.casefold() not in _KEEP_THE:
        name = _LEADING_ARTICLE.sub("", name)
    name = _POSSESSIVE.sub("", name).strip(_EDGE_JUNK)
    if entity_type == "person":
        name = _strip_person_decoration(name)
    elif entity_type == "organization":
        name = _ISATION.sub(r"ization\1", _NEWS_AGENCY.sub("", name)) or name
    return _unshout(name, entity_type)


def has_honorific(surface: str) -> bool:
    """True when the text starts with an honorific such as "Mr." or "Ms", marking a person."""
    first = surface.split(maxsplit=1)[0] if surface.strip() else ""
    return first.rstrip(".").casefold() in HONORIFICS


def is_acronym(name: str) -> bool:
    """True for short upper-case tokens ("CSTO", "IS-K", "U.S.") that must never match fuzzily."""
    letters = name.replace(".", "").replace("-", "").replace("&", "")
    return " " not in name and 1 < len(letters) <= 6 and letters.isupper()


def _strip_person_decoration(name: str) -> str:
    """Drop leading titles ("Deputy Prime Minister Mullah ...") and middle initials ("V.")."""
    words = name.split()
    while len(words) > 1 and not _is_surname_pair(words):
        if not (_is_title(words[0]) or _is_title_adjective(words[:2])):
            break
        # "Mr Major" is Major the person; "Mr President" names no one.
        if _is_honorific(words[0]) and len(words) == 2 and _is_surname_title(words[1]):
            return words[1]
        words = words[1:]
    if len(words) == 1 and _is_title(words[0]) and not _is_surname_title(words[0]):
        return ""
    if len(words) > 2:
        words = [words[0], *(w for w in words[1:-1] if not _MIDDLE_INITIAL.match(w)), words[-1]]
    return " ".join(words)


def _is_title(word: str) -> bool:
    return word.rstrip(".").casefold() in PERSON_TITLES


def _is_surname_title(word: str) -> bool:
    return word.rstrip(".").casefold() in SURNAME_TITLES


def _is_honorific(word: str) -> bool:
    return word.rstrip(".").casefold() in HONORIFICS


def _is_surname_pair(words: list[str]) -> bool:
    """True for a first name and a surname that is also a title: "John Major", "Mike Judge".

    The first word must be a known first name, or, before a title that is a common surname,
    a capitalised word that is neither a title nor shaped like an adjective ("Catholic").
    """
    if len(words) != 2 or not _is_title(words[1]):
        return False
    first = words[0]
    if not first[:1].isupper() or not first.isalpha() or _is_title(first):
        return False
    if is_first_name(first):
        return True
    return _is_surname_title(words[1]) and not _ADJECTIVE_ENDING.search(first.casefold())


@cache
def _first_names() -> Detector:
    """The first-name dictionary (about 40,000 names of many countries), loaded on first use."""
    return Detector(case_sensitive=False)


def is_first_name(word: str) -> bool:
    """True for a first name known in any of the countries the dictionary covers."""
    gender: str = _first_names().get_gender(word)
    return gender != "unknown"


def _is_title_adjective(words: list[str]) -> bool:
    """A nationality or office adjective right before a title, as in "Russian President"."""
    return len(words) == 2 and words[0][:1].isupper() and _is_title(words[1])


def _unshout(name: str, entity_type: str) -> str:
    """Bring ALL-CAPS words (datelines, bylines) to normal case, keeping real acronyms."""
    words = name.split()
    shouting = [w.isupper() and sum(c.isalpha() for c in w) >= 4 for w in words]
    all_caps = len(words) > 1 and all(w.isupper() for w in words if any(c.isalpha() for c in w))
    if entity_type in ("person", "location"):
        # "NEW YORK" shouts as a whole; a lone short word ("UK", "US") is an acronym.
        convert = [all_caps or s for s in shouting]
    else:
        # An organisation written in capitals is usually an acronym; only a long phrase shouts.
        convert = [all_caps and len(words) >= 3 for _ in words]
    return " ".join(
        w.title() if c and w.replace(".", "") not in KNOWN_ACRONYMS else w
        for w, c in zip(words, convert, strict=True)
    )


def _looks_like_name(name: str) -> bool:
    """Reject single characters, strings without letters, ids and numbers, and run-on spans."""
    letters = sum(char.isalpha() for char in name)
    digits = sum(char.isdigit() for char in name)
    if letters < 2 or digits >= letters or _ID_LIKE.search(name):
        return False
    # A spaced dash joins two things ("MENAFN- Asia Times"), never two halves of one name.
    if _SPACED_DASH.search(name):
        return False
    # A name written all in lower case ("jihadist") is a common word, not a proper name.
    if any(char.islower() for char in name) and not any(char.isupper() for char in name):
        return False
    return len(name.split()) <= _MAX_WORDS


ENTITY_TYPE_NAMES = ("person", "organization", "location", "other")


@dataclass(frozen=True)
class AliasRow:
    """One curated line of the alias file: `alias` is another name for `canonical_name`."""

    alias: str
    canonical_name: str
    type: str


def load_alias_file(path: Path) -> list[AliasRow]:
    """Read a curated alias CSV (header `alias,canonical_name,type`; `#` starts a comment line)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    numbered = [(n, line) for n, line in enumerate(lines, 1) if not line.lstrip().startswith("#")]
    numbered = [(n, line) for n, line in numbered if line.strip()]
    if not numbered:
        raise ValueError(f"{path}: empty alias file, expected a header alias,canonical_name,type")
    header_number, header = numbered[0]
    if [cell.strip() for cell in header.split(",")] != ["alias", "canonical_name", "type"]:
        raise ValueError(
            f"{path}:{header_number}: header must be alias,canonical_name,type, got {header!r}"
        )
    rows = []
    for number, cells in zip(
        (n for n, _ in numbered[1:]), csv.reader(line for _, line in numbered[1:]), strict=True
    ):
        rows.append(_alias_row(cells, f"{path}:{number}"))
    return rows


def _alias_row(cells: list[str], where: str) -> AliasRow:
    """Validate one CSV row of the alias file."""
    if len(cells) != 3:
        raise ValueError(
            f"{where}: expected 3 columns (alias,canonical_name,type), got {len(cells)}"
        )
    alias, canonical, entity_type = (cell.strip() for cell in cells)
    if not alias or not canonical:
        raise ValueError(f"{where}: alias and canonical_name must not be empty")
    if entity_type not in ENTITY_TYPE_NAMES:
        allowed = ", ".join(ENTITY_TYPE_NAMES)
        raise ValueError(f"{where}: type {entity_type!r} is not one of {allowed}")
    return AliasRow(alias, canonical, entity_type)


class AliasTable:
    """Curated names looked up by `name_key`: each alias and canonical name maps to its row."""

    def __init__(self, rows: Iterable[AliasRow] = ()) -> None:
        rows = list(rows)
        self._by_key: dict[str, tuple[str, str]] = {}
        for row in rows:
            self._by_key[name_key(row.canonical_name)] = (row.canonical_name, row.type)
            self._by_key[name_key(row.alias)] = (row.canonical_name, row.type)
        # Multi-word names are safe to find in text case-insensitively; single words are not
        # ("US" would match the pronoun), so those are only used to resolve what NER finds.
        names = {name for row in rows for name in (row.alias, row.canonical_name)}
        self.phrases = sorted((n for n in names if " " in n), key=len, reverse=True)

    def lookup(self, name: str) -> tuple[str, str] | None:
        """The (canonical name, type) curated for this name, if any."""
        return self._by_key.get(name_key(name))
