"""News agencies an article cites as its source ("according to the TASS news agency")."""

from __future__ import annotations

import re

# Short name -> how texts write it, matched case-sensitively as whole words, so that
# "ap" or "afp" inside ordinary words never count.
AGENCIES: dict[str, tuple[str, ...]] = {
    "TASS": ("TASS", "ITAR-TASS", "Itar-Tass", "Tass"),
    "RIA Novosti": ("RIA Novosti", "RIA-Novosti", "RIA"),
    "Interfax": ("Interfax",),
    "Sputnik": ("Sputnik",),
    "Reuters": ("Reuters", "REUTERS"),
    "AFP": ("AFP", "Agence France-Presse", "Agence France Presse"),
    "AP": ("AP", "Associated Press"),
    "UPI": ("UPI", "United Press International"),
    "Xinhua": ("Xinhua", "XINHUA"),
    "Anadolu": ("Anadolu Agency", "Anadolu"),
    "dpa": ("dpa", "DPA", "Deutsche Presse-Agentur"),
    "EFE": ("EFE",),
    "ANSA": ("ANSA",),
    "Kyodo": ("Kyodo",),
    "Yonhap": ("Yonhap",),
    "PTI": ("PTI", "Press Trust of India"),
    "ANI": ("ANI", "Asian News International"),
    "IANS": ("IANS",),
    "IRNA": ("IRNA", "Islamic Republic News Agency"),
    "ISNA": ("ISNA",),
    "Tasnim": ("Tasnim",),
    "Fars": ("Fars",),
    "Mehr": ("Mehr",),
    "KCNA": ("KCNA", "Korean Central News Agency"),
    "Bernama": ("Bernama",),
    "Antara": ("Antara",),
    "WAM": ("WAM",),
    "SPA": ("SPA", "Saudi Press Agency"),
    "QNA": ("QNA",),
    "Ukrinform": ("Ukrinform",),
    "UNIAN": ("UNIAN",),
    "BelTA": ("BelTA",),
    "Kazinform": ("Kazinform",),
    "Bakhtar": ("Bakhtar",),
    "Pajhwok": ("Pajhwok",),
    "APP": ("APP", "Associated Press of Pakistan"),
    "PA Media": ("PA Media", "Press Association"),
    "AAP": ("AAP", "Australian Associated Press"),
    "Canadian Press": ("Canadian Press",),
    "Bloomberg": ("Bloomberg",),
}

# A mention is a citation only in a reporting context, before or after the name.
_CUE_BEFORE = re.compile(
    r"(?:according\s+to|reported\s+by|quoted\s+by|cited\s+by|told|quoting|citing|source[s]?\s*:|"
    r"via|(?:said|says)\s+(?:in\s+an\s+interview\s+)?(?:with|to)|interview\s+with|reports?\s+from)"
    r"(?:\s+the)?(?:\s+[\w-]+){0,3}\s*$",
    re.IGNORECASE,
)
_CUE_AFTER = re.compile(
    r"^\s*(?:\)\s*[-–—]|news\s+agency|news\s+service|wire\s+service|agency|reported|reports|"
    r"said|says|quoted|cited|(?:,\s*)?which\s+reported)",
    re.IGNORECASE,
)
_WINDOW = 60

# A proper name ending in "News Agency" that is not in the table above.
_NAME_BEFORE_AGENCY = re.compile(r"(?:^|[^\w'-])(?P<name>(?:[A-Z][\w'-]*\s+){1,3})$")
_NEWS_AGENCY = "News Agency"
_WORD = re.compile(r"\w+")


def _alias_index() -> dict[str, list[tuple[str, str]]]:
    """First word of each alias -> (alias, short name), longest alias first."""
    index: dict[str, list[tuple[str, str]]] = {}
    for short_name, aliases in AGENCIES.items():
        for alias in aliases:
            first_word = _WORD.match(alias)
            assert first_word is not None, alias
            index.setdefault(first_word.group(), []).append((alias, short_name))
    for entries in index.values():
        entries.sort(key=lambda entry: -len(entry[0]))
    return index


_ALIASES_BY_FIRST_WORD = _alias_index()


def find_cites(text: str) -> list[str]:
    """Short names of the agencies the text cites, in order of first citation, no repeats."""
    found: dict[str, None] = {}
    for start, end, short_name in _agency_mentions(text):
        if _is_cited(text, start, end):
            found[short_name] = None
    for start, end, name in _named_agencies(text):
        if _is_cited(text, start, end):
            found[f"{name} {_NEWS_AGENCY}"] = None
    return list(found)


def _agency_mentions(text: str) -> list[tuple[int, int, str]]:
    """(start, end, short name) of every known agency named in the text, as a whole word."""
    mentions = []
    for word in _WORD.finditer(text):
        if word.start() > 0 and text[word.start() - 1] == "-":
            continue
        for alias, short_name in _ALIASES_BY_FIRST_WORD.get(word.group(), ()):
            end = word.start() + len(alias)
            if text.startswith(alias, word.start()) and not _continues_word(text, end):
                mentions.append((word.start(), end, short_name))
                break
    return mentions


def _continues_word(text: str, position: int) -> bool:
    """True when text[position] carries on a word ("APs", "AP-style"), so no name ends there."""
    return position < len(text) and (text[position].isalnum() or text[position] == "-")


def _named_agencies(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of "<Proper Name> News Agency" phrases for agencies not in the table."""
    named = []
    position = text.find(_NEWS_AGENCY)
    while position != -1:
        end = position + len(_NEWS_AGENCY)
        match = _NAME_BEFORE_AGENCY.search(text[max(0, position - _WINDOW) : position])
        # "TASS News Agency" is a known agency; "Russian News Agency Interfax" names one after.
        if match is not None and not _agency_mentions(
            text[position - len(match["name"]) : end + 20]
        ):
            name = re.sub(r"^The\s+", "", match["name"].strip())
            named.append((position - len(match["name"]), end, name))
        position = text.find(_NEWS_AGENCY, end)
    return named


def _is_cited(text: str, start: int, end: int) -> bool:
    """True when the agency named at text[start:end] is being cited as a source."""
    before = text[max(0, start - _WINDOW) : start]
    sentence_before = re.split(r"[.!?]\s", before)[-1]
    if _CUE_BEFORE.search(sentence_before):
        return True
    if before.rstrip().endswith("("):
        return True
    return bool(_CUE_AFTER.match(text[end : end + _WINDOW]))
