"""Which mentions name the same entity: within one article, and across articles in the store."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from app.ingest.entities.names import (
    AliasTable,
    canonical_name,
    has_honorific,
    is_acronym,
    is_first_name,
    name_key,
)


@dataclass(frozen=True)
class Mention:
    """One span of an article that names an entity, as found, before linking.

    `name` is set when the finder already knows the canonical name (an acronym defined in the
    text); otherwise it is derived from `text`. `acronym` marks a use of such a defined acronym.
    `found_by` says how the span was found: "model" (NER and the text's own patterns),
    "gazetteer" (a form the archive knows), "alias file" or "curation". `cued` marks a type
    the words around the span gave ("the charity Mencap"), which outranks the model's.
    """

    text: str
    type: str
    in_title: bool = False
    name: str | None = None
    acronym: bool = False
    label: str = ""
    found_by: str = "model"
    cued: bool = False


@dataclass
class FoundEntity:
    """One entity of one article: its canonical name, type, and how often and how it was written."""

    name: str
    type: str
    forms: dict[str, int] = field(default_factory=dict)
    mentions: int = 0
    aliases: set[str] = field(default_factory=set)
    found_by: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Resolved:
    mention: Mention
    name: str
    type: str


# A word ending like a demonym ("Afghan", "Iranian", "Chinese", "Turkish", "Pakistani").
_DEMONYM_ENDING = re.compile(r"(an|ese|ish|i)$")
_EDGE_QUOTES = " \"'“”‘’«»()[]"


def link_mentions(mentions: Sequence[Mention], curated: AliasTable) -> list[FoundEntity]:
    """Group one article's mentions into entities; entities seen only in the title are dropped."""
    resolved = [r for m in mentions if (r := _resolve(m, curated)) is not None]
    groups: dict[str, list[_Resolved]] = {}
    for item in resolved:
        groups.setdefault(name_key(item.name), []).append(item)
    _merge_partial_person_names(groups)
    _merge_organization_short_forms(groups)
    adjectives = {name_key(m.text) for m in mentions if m.label == "NORP"}
    _merge_nationality_prefixed(groups, adjectives)
    return [
        _to_entity(key, members)
        for key, members in groups.items()
        if any(not r.mention.in_title for r in members)
    ]


def _resolve(mention: Mention, curated: AliasTable) -> _Resolved | None:
    """Canonical name and type of one mention, with curated names taking precedence."""
    entity_type = "person" if has_honorific(mention.text) else mention.type
    name = mention.name or canonical_name(mention.text, entity_type)
    if name is None:
        return None
    hit = curated.lookup(name)
    # Surnames collide with place names (Jordan, Georgia): a person stays a person.
    if hit is not None and (entity_type != "person" or hit[1] == "person"):
        name, entity_type = hit
    return _Resolved(mention, name, entity_type)


def _group_type(members: Sequence[_Resolved]) -> str:
    """Majority type of the body mentions; a full name ever typed as a person stays a person.
    Where the words around a mention gave its type, those mentions decide."""
    body = [r for r in members if not r.mention.in_title] or list(members)
    cued = [r for r in body if r.mention.cued]
    if cued:
        return Counter(r.type for r in cued).most_common(1)[0][0]
    if any(r.type == "person" and len(r.name.split()) > 1 for r in body):
        return "person"
    return Counter(r.type for r in body).most_common(1)[0][0]


def _body_count(members: Sequence[_Resolved]) -> int:
    return sum(not r.mention.in_title for r in members)


def _merge_partial_person_names(groups: dict[str, list[_Resolved]]) -> None:
    """Link "Putin" or "Mr. Putin" to the one full name ending that way ("Vladimir Putin")."""
    full_names = [
        key
        for key, members in groups.items()
        if len(key.split()) > 1 and _group_type(members) == "person" and _body_count(members)
    ]
    # Longest first, so "Ghani Baradar" joins "Abdul Ghani Baradar" before "Baradar" looks.
    for key in sorted(groups, key=lambda k: -len(k.split())):
        words = key.split()
        group_type = _group_type(groups[key])
        # A lone word NER mistyped as an organisation is still a surname; a place is not.
        if group_type == "location" or (len(words) > 1 and group_type != "person"):
            continue
        owners = [
            f for f in full_names if f != key and f in groups and f.split()[-len(words) :] == words
        ]
        if len(owners) == 1:
            groups[owners[0]].extend(groups.pop(key))
    _merge_first_names(groups, full_names)


def _merge_first_names(groups: dict[str, list[_Resolved]], full_names: list[str]) -> None:
    """Link a lone first name ("David") to the one full name of the article it begins."""
    for key in [k for k in groups if " " not in k]:
        members = groups[key]
        if _group_type(members) != "person" or not is_first_name(members[0].name):
            continue
        owners = [f for f in full_names if f in groups and f.split()[0] == key]
        if len(owners) == 1:
            groups[owners[0]].extend(groups.pop(key))


def _merge_organization_short_forms(groups: dict[str, list[_Resolved]]) -> None:
    """Link "Altria" to "Altria Group" and "Reynolds" to "RJ Reynolds Tobacco" named in the
    same article: a short form takes the organisation's type, whatever NER typed it."""
    owners: dict[str, list[str]] = {}
    for key, members in groups.items():
        if _group_type(members) == "organization" and _body_count(members):
            for short in _short_forms(_longest_name(members)):
                owners.setdefault(short, []).append(key)
    for key in sorted(groups, key=lambda k: len(k.split())):
        candidates = [owner for owner in owners.get(key, ()) if owner != key and owner in groups]
        if len(candidates) != 1 or key not in groups:
            continue
        group_type = _group_type(groups[key])
        # A place stays a place ("Manchester" of "Manchester United"), an adjective stays one
        # ("European" of "European Union"), and a person's full name stays a person ("Tony
        # Blair" of "Tony Blair Institute").
        if group_type in ("location", "other"):
            continue
        if group_type == "person" and len(key.split()) > 1:
            continue
        moved = [replace(r, type="organization") for r in groups.pop(key)]
        groups[candidates[0]].extend(moved)


def _longest_name(members: Sequence[_Resolved]) -> str:
    return max((r.name for r in members), key=lambda name: len(name.split()))


# Words that make no short form alone ("Bank" is not "Bank of America") and end none ("Bank
# of"), except a noun after a word that names ("Reserve Bank" of "Reserve Bank of Australia").
_GENERIC_NOUNS = frozenset(["group", "company", "bank", "corp"])
_GENERIC_WORDS = frozenset(
    [
        "of",
        "the",
        "and",
        "for",
        "in",
        "on",
        "at",
        "de",
        "&",
        "group",
        "company",
        "bank",
        "inc",
        "corp",
    ]
)


def _short_forms(name: str) -> set[str]:
    """Keys of the ways an organisation's name is shortened: its word prefixes ("Altria" of
    "Altria Group", "Reserve Bank" of "Reserve Bank of Australia") and its first word after
    initials ("Reynolds" of "RJ Reynolds Tobacco")."""
    words = name.split()
    prefixes = {name_key(" ".join(words[:size])) for size in range(1, len(words))}
    keys = {key for key in prefixes if key and not _generic_short_form(key)}
    head = next((w for w in words if not _is_initials(w)), None)
    if head is not None and head is not words[0] and not _generic_short_form(name_key(head)):
        keys.add(name_key(head))
    return keys


def _generic_short_form(key: str) -> bool:
    """True for a prefix that names nothing: a generic word alone ("Bank" of "Bank of
    America"), or words ending in a connector ("Reserve Bank of")."""
    words = key.split()
    return words[-1] in _GENERIC_WORDS and (len(words) == 1 or words[-1] not in _GENERIC_NOUNS)


def _is_initials(word: str) -> bool:
    letters = word.replace(".", "")
    return len(letters) <= 3 and letters.isupper()


def _merge_nationality_prefixed(groups: dict[str, list[_Resolved]], adjectives: set[str]) -> None:
    """Link "the Afghan Taliban" to "Taliban" when the bare name is the article's usual one."""
    for key in list(groups):
        head, _, rest = key.partition(" ")
        target = groups.get(rest)
        if target is None or _group_type(groups[key]) != "organization":
            continue
        if _group_type(target) != "organization":
            continue
        if head not in adjectives and not _DEMONYM_ENDING.search(head):
            continue
        if _body_count(target) > _body_count(groups[key]):
            target.extend(groups.pop(key))


def _to_entity(key: str, members: Sequence[_Resolved]) -> FoundEntity:
    """Build the entity; its name is the most used spelling of the group's own key."""
    own = Counter(r.name for r in members if name_key(r.name) == key)
    forms = Counter(_as_written(r.mention.text) for r in members)
    found_by: dict[str, set[str]] = {}
    for r in members:
        found_by.setdefault(_as_written(r.mention.text), set()).add(r.mention.found_by)
    return FoundEntity(
        name=own.most_common(1)[0][0],
        type=_group_type(members),
        forms=dict(forms),
        mentions=len(members),
        aliases={r.mention.text for r in members if r.mention.acronym},
        found_by={form: sorted(ways) for form, ways in found_by.items()},
    )


def _as_written(text: str) -> str:
    """The surface form with whitespace collapsed and stray edge quotes from NER trimmed."""
    return " ".join(text.split()).strip(_EDGE_QUOTES)


# Spelling variants folded before comparing names across articles: British and American
# endings, and the usual ways Cyrillic and Arabic names are written in Latin letters.
_SPELLING_FOLDS = (
    (re.compile(r"isation(s?)$"), r"ization\1"),
    (re.compile(r"(?<=\w{3})our$"), "or"),
    (re.compile(r"(?<=\w{2})tre$"), "ter"),
    (re.compile(r"(?<=\w{3})ence$"), "ense"),
    (re.compile(r"ks"), "x"),
    (re.compile(r"y"), "i"),
    (re.compile(r"ii"), "i"),
)
_FUZZY_PREFILTER = 75.0
_MIN_FUZZY_WORD = 7


def find_match(
    name: str, entity_type: str, candidates: Iterable[tuple[int, str, str]]
) -> int | None:
    """The id of the existing entity `name` should merge into, or None to create a new one.

    Pass one candidate row per known name or alias of each entity. Matching is conservative:
    exact after folding case and accents, else spelling and transliteration variants of the
    same words ("Sergei"/"Sergey Shoigu"); never across types, never fuzzily for acronyms.
    """
    key = _cached_key(name)
    same_type = [(entity_id, other) for entity_id, other, t in candidates if t == entity_type]
    for entity_id, other in same_type:
        if _cached_key(other) == key:
            return entity_id
    if is_acronym(name) or not key:
        return None
    # The pre-check compares folded keys, the form `same_name_variant` compares: on the raw
    # forms "Aleksey"/"Alexei" score 61.5 and would never reach it.
    choices = {index: _cached_folded_key(other) for index, (_, other) in enumerate(same_type)}
    close = process.extract(
        _cached_folded_key(name),
        choices,
        scorer=fuzz.ratio,
        score_cutoff=_FUZZY_PREFILTER,
        limit=None,
    )
    for _, _, index in close:
        entity_id, other = same_type[index]
        if not is_acronym(other) and same_name_variant(name, other, entity_type):
            return entity_id
    return None


def folded_key(name: str) -> str:
    """The name's key with each word's spelling folded: what two spellings of one name share.

    Both the fuzzy pre-check of `find_match` and `same_name_variant` compare this form, so the
    pre-check never drops a pair the variant check would accept.
    """
    return " ".join(_fold_spelling(word) for word in name_key(name).split())


# The store passes every entity of a type on each call: cache the keys of names seen before.
_cached_key = lru_cache(maxsize=200_000)(name_key)
_cached_folded_key = lru_cache(maxsize=200_000)(folded_key)


def same_name_variant(first: str, second: str, entity_type: str) -> bool:
    """True when two names differ only by spelling or transliteration of the same words."""
    first_words = folded_key(first).split()
    second_words = folded_key(second).split()
    if len(first_words) != len(second_words):
        return False
    differing = [(a, b) for a, b in zip(first_words, second_words, strict=True) if a != b]
    if not differing:
        return True
    # People: "Joe"/"Hunter", "Daniel"/"Danielle", "Francis"/"Frances" are different people,
    # so a first name must be the same word, not merely a close one.
    if entity_type == "person" or len(first_words) < 2 or len(differing) > 1:
        return False
    return _one_typo_apart(*differing[0])


def _fold_spelling(word: str) -> str:
    for pattern, replacement in _SPELLING_FOLDS:
        word = pattern.sub(replacement, word)
    return word


def _one_typo_apart(first: str, second: str) -> bool:
    """One edit in a long word of a multi-word name, same start and same numbers ("Apollo 11")."""
    if min(len(first), len(second)) < _MIN_FUZZY_WORD or first[:2] != second[:2]:
        return False
    if re.sub(r"\D", "", first) != re.sub(r"\D", "", second):
        return False
    return Levenshtein.distance(first, second) <= 1
