"""The archive as knowledge: the forms of entities that recur across stored articles, and
the forms a person curated, found again in new text where the model misses them.

Built once per ingest from the store (app/ingest/store/known_forms.py) and grown as batches
link new articles, never per article. Guards keep it from forcing what it cannot know: a form
two entities share (a person and a place called Jordan) is not forced, nor a single word that
is also a common word ("Bush", "Reading"), a first name, a title or a calendar word; and the
model's own spans win wherever a known form overlaps them (recognition settles that).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from app.ingest.entities.names import PERSON_TITLES, is_first_name

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.matcher import PhraseMatcher
    from spacy.tokens import Doc

# Only these are forced: "other" (nationalities, events, laws) is mostly adjectives.
GAZETTEER_TYPES = ("person", "organization", "location")
_MIN_LETTERS = 3
_CALENDAR_WORDS = frozenset(
    word.casefold() for word in (*calendar.month_name, *calendar.day_name) if word
)


@dataclass(frozen=True)
class KnownForm:
    """A form as the archive stores it, the entity it names and why it is known: "gazetteer"
    (its entity recurs across the archive) or "curation" (a person tied it to the entity)."""

    form: str
    key: str
    type: str
    entity_id: int
    found_by: str


@cache
def _common_words() -> frozenset[str]:
    """English words written in lower case in Webster's dictionary (about 200,000)."""
    from english_words import get_english_words_set

    words = get_english_words_set(["web2"], lower=False, alpha=True)
    return frozenset(word for word in words if word.islower())


def is_common_word(word: str) -> bool:
    """True when the word, in lower case, is an English dictionary word ("bush", "reading")."""
    return word.casefold() in _common_words()


def forceable(form: str) -> bool:
    """True when a known form may be found in text the model did not mark: a capitalised
    name, and a single word only when it is no common word, first name, title or date word."""
    if not form[:1].isupper() or sum(char.isalpha() for char in form) < _MIN_LETTERS:
        return False
    if " " in form:
        return True
    word = form.casefold()
    if word in _CALENDAR_WORDS or word.rstrip(".") in PERSON_TITLES:
        return False
    if form.isupper():
        return True  # an acronym ("CSTO") is no common word, whatever it spells
    return not is_common_word(word) and not is_first_name(form)


class Gazetteer:
    """Known forms matched as whole tokens, case as written (spaCy's PhraseMatcher)."""

    def __init__(self) -> None:
        self._forms: dict[str, KnownForm] = {}
        self._owners: dict[str, set[int]] = {}
        self._blocked: set[str] = set()
        self._matcher: PhraseMatcher | None = None
        self._vocab: object = None
        self._added: set[str] = set()

    def __len__(self) -> int:
        return len(self._forms)

    def __getstate__(self) -> dict[str, object]:
        """The forms only, for an ingest worker (which prepares its own matcher)."""
        return {**self.__dict__, "_matcher": None, "_vocab": None, "_added": set()}

    def add(self, forms: Iterable[KnownForm], shared_keys: Iterable[str] = ()) -> None:
        """Learn forms; a key that several entities name (here or anywhere in the store,
        `shared_keys`) is never forced, and forms already learnt under it are forgotten."""
        self._blocked.update(shared_keys)
        for known in forms:
            owners = self._owners.setdefault(known.key, set())
            owners.add(known.entity_id)
            if len(owners) > 1:
                self._blocked.add(known.key)
            if known.type in GAZETTEER_TYPES and forceable(known.form):
                # A person's word outranks recurrence for the same form.
                current = self._forms.get(known.form)
                if current is None or known.found_by == "curation":
                    self._forms[known.form] = known
        for form in [f for f, k in self._forms.items() if k.key in self._blocked]:
            del self._forms[form]

    def prepare(self, nlp: Language) -> None:
        """Bring the matcher up to date with the forms (outside the memory zone: the
        patterns' strings must outlive it)."""
        from spacy.matcher import PhraseMatcher

        if self._matcher is None or self._vocab is not nlp.vocab:
            self._matcher, self._added = PhraseMatcher(nlp.vocab, attr="ORTH"), set()
            self._vocab = nlp.vocab
        for form in self._added - self._forms.keys():
            self._matcher.remove(form)
            self._added.discard(form)
        for form in sorted(self._forms.keys() - self._added):
            self._matcher.add(form, [nlp.make_doc(form)])
            self._added.add(form)

    def finds(self, doc: Doc) -> Iterator[tuple[int, int, KnownForm]]:
        """(start, end, known form) of each known form written in the doc."""
        if self._matcher is None or not self._added:
            return
        vocab = doc.vocab
        for match_id, start, end in self._matcher(doc):
            known = self._forms.get(vocab.strings[match_id])
            if known is not None:
                span = doc[start:end]
                yield span.start_char, span.end_char, known
