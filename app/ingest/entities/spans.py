"""Where NER's spans go wrong in news text, set right from the words around them.

The small model cuts organisation names at "and"/"of"/"for" ("Department for Education" of
"Department for Education and Skills") and before initials ("Reynolds Tobacco" of "RJ Reynolds
Tobacco"), takes clubs named after places for the places ("Sheffield" of "Sheffield
Wednesday"), and stops a first name before a surname that is also a title ("Mike" of "Mike
Judge"). Each correction here only widens a span over words NER gave no other entity.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.ingest.entities.names import SURNAME_TITLES, is_acronym, is_first_name

# A capitalised word of a name ("Skills", "McDonald's", "AT&T").
_WORD = r"[A-Z][\w'’&.-]*"
_CONNECTOR_WORDS = frozenset({"and", "of", "for", "the", "&"})
_CONTINUATION = re.compile(rf"\s+(and|of|for|the|&)\s+((?:the\s+)?{_WORD}(?:\s+{_WORD})*)")
_INITIALS_BEFORE = re.compile(r"(?<![\w.])([A-Z]\.?[A-Z]\.?(?:[A-Z]\.?)?)\s+$")
_FOLLOWING_WORD = re.compile(r"\s+([A-Z][a-z]+)\b")
_PRECEDING_WORD = re.compile(r"(?<![\w.])([A-Z][A-Za-z]+)\s+$")
# Words that make a place's name a club's when they follow it ("Sheffield Wednesday",
# "Bolton Wanderers") or precede it ("Real Madrid", "Bayern Munich"). "City" and "Town" are
# left out: "Mexico City" and "Kansas City" are places.
CLUB_SUFFIXES = frozenset(
    [
        "United",
        "Wednesday",
        "Rovers",
        "Athletic",
        "Albion",
        "Wanderers",
        "Hotspur",
        "Rangers",
        "Villa",
        "Argyle",
        "Orient",
        "Alexandra",
        "Thistle",
        "Academical",
        "FC",
        "AFC",
    ]
)
CLUB_PREFIXES = frozenset(
    ["Real", "Atletico", "Bayern", "Borussia", "Inter", "Sporting", "Dynamo", "Olympique"]
)
_PLACE_LABELS = frozenset({"GPE", "LOC"})


@dataclass(frozen=True)
class SpanGuess:
    """A span of a line with the label NER (or a correction) gave it."""

    start: int
    end: int
    label: str


def corrected(text: str, span: SpanGuess, others: Sequence[SpanGuess]) -> SpanGuess:
    """The span widened over what belongs to the name, with the label that then fits."""
    if span.label == "ORG":
        return _organization(text, span, others)
    if span.label in _PLACE_LABELS:
        return _club(text, span)
    if span.label == "PERSON":
        return _person(text, span)
    return span


def _free(start: int, end: int, others: Sequence[SpanGuess], allowed: frozenset[str]) -> bool:
    """True when no other span of a label outside `allowed` overlaps start..end."""
    return all(o.end <= start or o.start >= end or o.label in allowed for o in others)


def _organization(text: str, span: SpanGuess, others: Sequence[SpanGuess]) -> SpanGuess:
    """Extend over "and Skills", "of England"; take initials before ("RJ Reynolds")."""
    start, end = span.start, span.end
    initials = _INITIALS_BEFORE.search(text, 0, start)
    if initials and _free(initials.start(1), start, others, frozenset()):
        start = initials.start(1)
    # NER sometimes ends a name on its connector ("National Transition Government of").
    if text[start:end].rsplit(maxsplit=1)[-1] in _CONNECTOR_WORDS:
        end = start + len(text[start:end].rsplit(maxsplit=1)[0])
    while (widened := _continued(text, start, end, others)) != end:
        end = widened
    return SpanGuess(start, end, span.label)


def _continued(text: str, start: int, end: int, others: Sequence[SpanGuess]) -> int:
    """Where the name ends when its next connector and capitalised words belong to it."""
    match = _CONTINUATION.match(text, end)
    if match is not None:
        connector = match.group(1)
        inside = text[start:end].split()
        # "Microsoft and Google" are two names; "Education and Skills" after "for" is one.
        joins = connector not in ("and", "&") or any(w in ("of", "for") for w in inside)
        # A place may close a name ("Bank of England"); another organisation or a person not,
        # except one word NER split off a name with "of" or "for" in it ("... and Skills").
        allowed = _PLACE_LABELS if connector in ("of", "for") else frozenset()
        if joins and connector in ("and", "&") and " " not in match.group(2):
            allowed = frozenset({"ORG"})
        if joins and _free(match.start(2), match.end(2), others, allowed):
            return match.end(2)
    return end


def _club(text: str, span: SpanGuess) -> SpanGuess:
    """A place named with a club word is the club: "Sheffield Wednesday", "Real Madrid"."""
    after = _FOLLOWING_WORD.match(text, span.end)
    if after is not None and after.group(1) in CLUB_SUFFIXES:
        return SpanGuess(span.start, after.end(1), "ORG")
    upper_after = re.compile(r"\s+(A?FC)\b").match(text, span.end)
    if upper_after is not None:
        return SpanGuess(span.start, upper_after.end(1), "ORG")
    before = _PRECEDING_WORD.search(text, 0, span.start)
    if before is not None and before.group(1) in CLUB_PREFIXES:
        return SpanGuess(before.start(1), span.end, "ORG")
    return span


def _person(text: str, span: SpanGuess) -> SpanGuess:
    """An organisation NER took for a person, or a lone first name before a surname that is
    also a title: "Mike" + "Judge"."""
    name = text[span.start : span.end]
    # "Bolton Wanderers" is a club, "MI6" an agency, "the Lib Dems" a party: no one's name.
    if name.split()[-1] in CLUB_SUFFIXES or is_acronym(name) or name[:4] in ("the ", "The "):
        return SpanGuess(span.start, span.end, "ORG")
    after = _FOLLOWING_WORD.match(text, span.end)
    if after is None or " " in name or after.group(1).casefold() not in SURNAME_TITLES:
        return span
    return SpanGuess(span.start, after.end(1), span.label) if is_first_name(name) else span
