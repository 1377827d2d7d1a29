"""Significant terms: the words and two-word phrases most characteristic of a result.

Each term is scored by Dunning's log-likelihood (G²) on document frequencies: in how many of
the matches it occurs against in how many articles of the archive, both read as samples
(settings.terms_sample_size): every match when there are no more, else the best ones (most
relevant with q, else newest); the archive's sample is that many articles at evenly spaced
ids. Only terms more frequent in the matches than in the archive are kept. Stop words are
removed per article language with spaCy's lists (read from their files: the server does not
load spaCy itself); an unknown language keeps them.
"""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from math import log
from pathlib import Path
from threading import Lock
from typing import Literal

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.models import Article
from app.search.filter import ArticleFilter, Sort
from app.search.service import SearchService

# Words are runs of letters (digits, numbers and codes say little about a topic).
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
# Phrases never span a sentence or a clause.
CLAUSE = re.compile(r"[.,;:!?()\[\]\"“”«»—–]+|\s-\s")
MIN_LENGTH = 3
TOKEN = re.compile(f"({WORD.pattern})|{CLAUSE.pattern}")
LANGUAGE = re.compile(r"[a-z]{2,3}")
# Most articles are written in the Latin script. In text whose every character is below
# U+0250 or a general punctuation or currency sign, `re` finds words a quarter faster when
# their letters are listed than through the Unicode categories of [^\W\d_]; the list is
# made from that very class, so both find the same tokens.
LATIN_RANGES = ((0x0000, 0x024F), (0x2000, 0x206F), (0x20A0, 0x20CF))


def _listed(ranges: Iterable[tuple[int, int]]) -> str:
    return "".join(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in ranges
    )


def _letters_in(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The runs of characters in `ranges` that WORD takes as letters."""
    letter = re.compile(r"[^\W\d_]")
    runs: list[tuple[int, int]] = []
    for low, high in ranges:
        for code in range(low, high + 1):
            if letter.fullmatch(chr(code)):
                if runs and runs[-1][1] == code - 1:
                    runs[-1] = (runs[-1][0], code)
                else:
                    runs.append((code, code))
    return runs


_LATIN_LETTERS = _listed(_letters_in(LATIN_RANGES))
LATIN_TOKEN = re.compile(f"([{_LATIN_LETTERS}]+(?:['’][{_LATIN_LETTERS}]+)?)|{CLAUSE.pattern}")
NOT_LATIN = re.compile(f"[^{_listed(LATIN_RANGES)}]")


def tokens_of(text: str) -> list[str]:
    """TOKEN.findall(text): each word, or "" where a clause ends."""
    latin = text.isascii() or NOT_LATIN.search(text) is None
    return (LATIN_TOKEN if latin else TOKEN).findall(text)


@lru_cache(maxsize=64)
def stop_words(language: str | None) -> frozenset[str]:
    """spaCy's stop words for an ISO 639-1 code, or none. Read from the list's own file
    (a set literal, no imports), so asking for them does not load spaCy."""
    if language is None or not LANGUAGE.fullmatch(language):
        return frozenset()
    spec = importlib.util.find_spec("spacy")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    path = Path(next(iter(spec.submodule_search_locations))) / "lang" / language / "stop_words.py"
    loaded = importlib.util.spec_from_file_location(f"_stop_words_{language}", path)
    if not path.is_file() or loaded is None or loaded.loader is None:
        return frozenset()
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    return frozenset(word.lower() for word in getattr(module, "STOP_WORDS", ()))


def document_terms(text: str, language: str | None) -> set[str]:
    """The words and two-word phrases of one article, stop words and short words left out."""
    stops = stop_words(language)
    # One pass over the text: a word, or "" where a clause ends (as the phrases' break).
    tokens = tokens_of(text.lower().replace("’", "'"))
    kept = {w: "" if len(w) < MIN_LENGTH or w in stops else w for w in set(tokens)}
    words = list(map(kept.__getitem__, tokens))
    terms = set(words)
    terms.discard("")
    terms.update(map(" ".join, filter(all, pairwise(words))))
    return terms


# Articles' terms, kept by their text (so an edit is a new entry): a broad query's best
# matches are read again by the next request, and tokenising them is most of its cost. The
# terms are kept as one line-separated string, a fifth of a set's memory.
TERMS_KEPT = 4_000


@lru_cache(maxsize=TERMS_KEPT)
def _kept_terms(text: str, language: str | None) -> str:
    return "\n".join(document_terms(text, language))


def article_terms(text: str, language: str | None) -> list[str]:
    """document_terms of an article, from the cache of recently read articles."""
    kept = _kept_terms(text, language)
    return kept.split("\n") if kept else []


@dataclass
class DocumentFrequencies:
    """In how many of `documents` each term occurs."""

    documents: int
    counts: Counter[str]

    @classmethod
    def of(cls, texts: Iterable[tuple[str, str | None]]) -> DocumentFrequencies:
        counts: Counter[str] = Counter()
        documents = 0
        for text, language in texts:
            counts.update(article_terms(text, language))
            documents += 1
        return cls(documents, counts)


def log_likelihood(a: int, n: int, b: int, m: int) -> float:
    """Dunning's G² for a term in `a` of `n` documents against `b` of `m`."""
    # Written out (it runs for every candidate term): the four cells in order, empty ones out.
    total, found = n + m, a + b
    rest = total - found
    score: float = 0
    if a:
        score += a * log(a * total / (n * found))
    if n - a:
        score += (n - a) * log((n - a) * total / (n * rest))
    if b:
        score += b * log(b * total / (m * found))
    if m - b:
        score += (m - b) * log((m - b) * total / (m * rest))
    return 2 * score


@dataclass
class Term:
    term: str
    kind: Literal["word", "phrase"]
    score: float
    matches: int
    background_matches: int


def significant_terms(
    found: DocumentFrequencies, background: DocumentFrequencies, size: int
) -> list[Term]:
    """The `size` terms of `found` most over-represented against `background`.

    A term must occur in at least 2 matched articles (3 from 30 on): one article's
    peculiar words are not what characterises a result.
    """
    least = 3 if found.documents >= 30 else 2
    n, m = found.documents, max(background.documents, 1)
    scored = []
    for term, a in found.counts.items():
        b = background.counts.get(term, 0)
        if a < least or a / n <= b / m:
            continue
        kind: Literal["word", "phrase"] = "phrase" if " " in term else "word"
        scored.append(Term(term, kind, log_likelihood(a, n, b, m), a, b))
    scored.sort(key=lambda t: (-t.score, t.term))
    return scored[:size]


def archive_sample(session: Session, size: int) -> DocumentFrequencies:
    """Document frequencies of up to `size` articles at evenly spaced ids (the background),
    cached per database and id range (a new article renews it; edits of old ones, which
    hardly move 500 articles' frequencies, wait for the next)."""
    # Two subqueries: SQLite reads min and max off the index only when each is alone.
    low, high = session.execute(
        select(
            select(func.min(Article.id)).scalar_subquery(),
            select(func.max(Article.id)).scalar_subquery(),
        )
    ).one()
    if low is None:
        return DocumentFrequencies(0, Counter())
    url = session.get_bind().engine.url.render_as_string(hide_password=True)
    return _archive_sample(session, url, int(low), int(high), size)


_BACKGROUNDS: dict[tuple[str, int, int, int], DocumentFrequencies] = {}
# One request reads and tokenises a new sample; those asking at the same moment wait for it
# instead of each doing the same work (a burst of them on a cold server ran past the
# request time limit, 503).
_BACKGROUND_MADE = Lock()


def _archive_sample(
    session: Session, url: str, low: int, high: int, size: int
) -> DocumentFrequencies:
    key = (url, low, high, size)
    found = _BACKGROUNDS.get(key)
    if found is None:
        with _BACKGROUND_MADE:
            found = _BACKGROUNDS.get(key)
            if found is None:
                texts = texts_of(session, _spread_ids(session, low, high, size))
                found = DocumentFrequencies.of(texts)
                if len(_BACKGROUNDS) > 16:
                    _BACKGROUNDS.clear()
                _BACKGROUNDS[key] = found
    return found


def texts_of(session: Session, ids: Sequence[int]) -> list[tuple[str, str | None]]:
    """Each existing article's text (title, lede and body) and language: those columns only."""
    rows = session.execute(
        select(
            col(Article.title), col(Article.lede), col(Article.body), col(Article.language)
        ).where(col(Article.id).in_(ids))
    ).all()
    return [
        ("\n".join(p for p in (title, lede, body) if p), language)
        for title, lede, body, language in rows
    ]


def _spread_ids(session: Session, low: int, high: int, size: int) -> list[int]:
    """Up to `size` existing ids spread evenly from `low` to `high`: ids at evenly spaced
    points, twice as many points while deleted articles leave too few."""
    points, found = size, list[int]()
    while True:
        step = (high - low + 1) / points
        candidates = sorted({min(low + int(i * step), high) for i in range(points)})
        found = []
        for start in range(0, len(candidates), 10_000):
            chunk = candidates[start : start + 10_000]
            chosen = select(col(Article.id)).where(col(Article.id).in_(chunk))
            found += [int(i) for i in session.execute(chosen).scalars() if i is not None]
        if len(found) >= size or points > high - low:
            break
        points *= 2
    found.sort()
    stride = max(len(found) / size, 1.0)
    return [found[int(i * stride)] for i in range(min(size, len(found)))]


@dataclass
class TermsAnswer:
    total: int
    sampled: int
    background: int
    terms: list[Term]


def characteristic_terms(search: SearchService, flt: ArticleFilter, size: int) -> TermsAnswer:
    """The result's significant terms, from its best matches against the archive's sample."""
    sample = search.settings.terms_sample_size
    sort: Sort = "relevance" if flt.query is not None else "-published_at"
    # The matches' ids, then just their text: whole rows cost more to build than to count.
    found = DocumentFrequencies.of(texts_of(search.session, search.page_ids(flt, sort, sample)))
    total = found.documents if found.documents < sample else search.count(flt)
    background = archive_sample(search.session, sample)
    terms = significant_terms(found, background, size) if found.documents else []
    return TermsAnswer(total, found.documents, background.documents, terms)
