"""What the words around a name say about its kind, where the model only guesses.

News text types a name by the common noun it puts right before it ("the charity Mencap",
"car maker Aston Martin", "spokesman Glyn Davies", "the film Thumbsucker") or after it ("the
Titan corporation"), and writes a place after "in" or "at". Such a cue is surer than the
model's guess from the name alone, so a cued mention decides the type of its entity across
the article (linking.py): a name cued as a work (a film, an album) is "other" wherever the
article writes it ("the sitcom Extras ... played in Extras"). A
name ending in an event's word ("Sundance Film Festival", "the Geneva Motor Show") is the
event, not the organisation or place that holds it.
"""

from __future__ import annotations

import re

from app.ingest.entities.names import is_first_name

# Only lower-case nouns count: a capitalised word before a name is usually part of it or a
# title ("Chancellor Gordon Brown"). Nouns that are also verbs ("hit", "play", "show",
# "captain", "coach") are left out ("polls show Labour ahead", "Giggs will captain Wales"),
# and so are nouns that name firms as often as people ("fund manager", "market leader",
# "new owner", "TV producer", "maker", "broadcaster").
_PERSON_NOUNS = """
    spokesman spokeswoman spokesperson director actor actress singer songwriter rapper star
    photographer artist writer author novelist poet composer presenter comedian musician
    guitarist drummer bassist frontman designer architect minister secretary chairman
    chairwoman boss striker midfielder defender goalkeeper keeper winger skipper player
    governor senator mayor lawyer economist analyst professor founder executive candidate
    jockey trainer referee umpire prosecutor commissioner ambassador envoy aide adviser
    advisor pianist blogger businessman businesswoman entrepreneur tycoon chef dancer model
"""
_ORGANIZATION_NOUNS = """
    company firm group charity club band carmaker retailer airline carrier agency
    newspaper magazine tabloid label chain giant giants insurer publisher
    manufacturer supermarket bank lender party union network website operator brewer
    studio outfit side conglomerate subsidiary organisation organization association
    foundation watchdog regulator
"""
_WORK_NOUNS = """
    film movie album song novel book documentary sitcom thriller comedy musical opera biopic
    memoir autobiography painting videogame
"""
_LOCATION_NOUNS = "town city village county region province capital island constituency suburb"
CUE_BEFORE: dict[str, str] = {
    **{noun: "person" for noun in _PERSON_NOUNS.split()},
    **{noun: "organization" for noun in _ORGANIZATION_NOUNS.split()},
    **{noun: "other" for noun in _WORK_NOUNS.split()},
    **{noun: "location" for noun in _LOCATION_NOUNS.split()},
}
# After a name, only words no place is put before as an adjective ("a Glasgow band" is a
# band from Glasgow; "the Titan corporation" is Titan).
CUE_AFTER: dict[str, str] = {"corporation": "organization", "plc": "organization"}
# A lone word the model took for a person, written after these, is a place ("in Powys"),
# unless it is a first name ("brought in David", "Ray Charles in Ray").
_PLACE_PREPOSITIONS = frozenset({"in", "at", "near"})
# The last word of an event's name; a one-word name is never read so ("Derby" is a town).
_EVENT_WORDS = """
    Festival Festivals Awards Show Cup Championship Championships Olympics Tournament Prix
    Marathon Open Expo Olympiad Trophy
"""
EVENT_WORDS = frozenset(_EVENT_WORDS.split())

_WORD_BEFORE = re.compile(r"(?<![\w'’-])([a-z]+)\s+$")
_POSSESSIVE_AFTER = re.compile(r"['’]s?\b")
_WORD_AFTER = re.compile(r"\s+([a-z]+)\b")


def cued_type(text: str, start: int, end: int, entity_type: str) -> str | None:
    """The type the words around text[start:end] give the name ("other" for a title of a
    film, a book ..., as spaCy's WORK_OF_ART), or None when they say nothing."""
    before = _WORD_BEFORE.search(text, max(0, start - 40), start)
    if before is not None:
        word = before.group(1)
        if word in CUE_BEFORE:
            return CUE_BEFORE[word]
        # "in Billboard's chart": the preposition governs the noun after the possessive.
        name = text[start:end]
        possessive = _POSSESSIVE_AFTER.match(text, end) is not None
        if word in _PLACE_PREPOSITIONS and entity_type == "person" and " " not in name:
            return None if possessive or is_first_name(name) else "location"
    after = _WORD_AFTER.match(text, end)
    if after is not None:
        return CUE_AFTER.get(after.group(1))
    return None


def is_event_name(text: str) -> bool:
    """True for a name of several words ending in an event's word: "Berlin Film Festival"."""
    words = text.split()
    return len(words) > 1 and words[-1] in EVENT_WORDS
