"""The bounded piece of an article's text a snippet is chosen from.

FTS5's snippet() scores every window around every match, so its cost grows with the square
of the matches in a text (a body of one word repeated 40,000 times took 15 s), and it runs
inside one SQLite step, where no time limit reaches. So snippet() only ever sees a window
of `window` characters: around the first match found in the text's first
`window * SCAN_WINDOWS` characters, else the text's opening. The work per article is then
bounded whatever its size, and a page of 100 stays well inside the request's time limit.

The window is also where stored text is made safe for highlighting: control characters
(among them the \\x02 and \\x03 snippet() puts around matches) become spaces, so the only
markers in a snippet are snippet()'s.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from app.search.letters import REMOVED, fold_letters
from app.search.query import And, Not, Or, Phrase, Query, Term

# How far into a text the first match is looked for, in windows: a match later than that
# (in a text of more than ~30,000 characters at the default window) leaves the snippet to
# the text's opening words.
SCAN_WINDOWS = 20
# Words as in the text; Arabic harakat are marks, not word characters, to `re`.
_WORD = re.compile(rf"(?:[^\W_]|[{REMOVED}])+")
# Control characters but tab, line feed and carriage return: each shown as a space. A pattern,
# not str.translate's table: translate looks every character of the window up in a dict.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# Most distinct terms a snippet highlights: FTS5's snippet() works per term and per match.
MAX_HIGHLIGHTED_TERMS = 16


def highlight_query(query: Query) -> Query:
    """What a snippet highlights: any of the query's distinct positive words and phrases
    (the first MAX_HIGHLIGHTED_TERMS), so a window holding some of them gets a passage."""
    leaves: list[Term | Phrase] = []

    def visit(node: Query | Not) -> None:
        if isinstance(node, Not):
            return
        if isinstance(node, And | Or):
            for item in node.items:
                visit(item)
        elif node not in leaves:
            leaves.append(node)

    visit(query)
    kept = leaves[:MAX_HIGHLIGHTED_TERMS]
    return kept[0] if len(kept) == 1 else Or(tuple(kept))


@dataclass(frozen=True)
class Needle:
    """The folded words of a highlighted term; with prefix, the last one is a prefix."""

    words: tuple[str, ...]
    prefix: bool

    def ends(self, recent: Sequence[str]) -> bool:
        """Whether the words just read (newest last) end with this term."""
        if len(recent) < len(self.words):
            return False
        tail = recent[len(recent) - len(self.words) :]
        *whole, last = self.words
        if list(tail[:-1]) != whole:
            return False
        return tail[-1].startswith(last) if self.prefix else tail[-1] == last


def needles(query: Query) -> list[Needle]:
    """The terms `query` (a highlight_query) looks for, folded as the engines compare."""
    leaves = query.items if isinstance(query, Or) else (query,)
    found: list[Needle] = []
    for leaf in leaves:
        assert isinstance(leaf, Term | Phrase)
        words = (leaf.text,) if isinstance(leaf, Term) else leaf.words
        found.append(Needle(tuple(fold(word) for word in words), leaf.prefix))
    return found


def fold(word: str) -> str:
    """Lower case without diacritics, as the engines compare words."""
    lowered = fold_letters(word).lower()
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def first_match(text: str, found: Sequence[Needle]) -> int | None:
    """The character offset where the first match of one of the needles in `text` starts:
    as first_match_by_words finds it, without folding every word on the way.

    Up to the first word with a character other than an ASCII letter or digit (all of most
    texts), folding a word is lowering it, so one regular expression of the needles, blind
    to ASCII case, finds the leftmost match there. Every match ending no later than that
    one starts inside it, so the word-by-word scan of just the match picks the same needle
    as the scan of the whole text would. Past such a word, the whole text is scanned.
    """
    pattern = _ascii_pattern(tuple(found))
    other = _first_other_word_character(text)
    # Where the clean part ends: before the word holding the first other character.
    clean = len(text) if other is None else len(text[:other].rstrip(_ASCII_ALNUM))
    match = _search_at_word_start(pattern, text, clean) if pattern else None
    if match:
        offset = first_match_by_words(text[match.start() : match.end()], found)
        assert offset is not None  # the match itself is one
        return match.start() + offset
    return None if other is None else first_match_by_words(text, found)


_ASCII_ALNUM = string.ascii_letters + string.digits


def _search_at_word_start(pattern: re.Pattern[str], text: str, end: int) -> re.Match[str] | None:
    """The leftmost match of `pattern` in text[:end] not preceded by an ASCII letter or
    digit. Checked here rather than by a lookbehind opening the pattern: one there keeps
    the regular expression engine from skipping ahead to its literal first letters, and
    made the search several times slower."""
    position = 0
    while match := pattern.search(text, position, end):
        start = match.start()
        if start == 0 or text[start - 1] not in _ASCII_ALNUM:
            return match
        # Inside a word: no match starts before its end.
        word = _ASCII_WORD_REST.match(text, start)
        position = word.end() if word else start + 1
    return None


_ASCII_WORD_REST = re.compile("[A-Za-z0-9]+")
# A character of a word (as _WORD has them) that is not an ASCII letter or digit.
_OTHER_WORD_CHARACTER = re.compile(rf"[^\W_\x00-\x7f]|[{REMOVED}]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _first_other_word_character(text: str) -> int | None:
    """Where the first _OTHER_WORD_CHARACTER in `text` is: looked for only in its runs of
    non-ASCII characters (in English, a few quotes and dashes), as searching the whole text
    with it takes longer than searching the text for a match."""
    if text.isascii():
        return None
    for run in _NON_ASCII.finditer(text):
        other = _OTHER_WORD_CHARACTER.search(run.group())
        if other:
            return run.start() + other.start()
    return None


_FOLDED_ASCII_WORD = re.compile("[a-z0-9]*")


@functools.lru_cache(maxsize=256)
def _ascii_pattern(found: tuple[Needle, ...]) -> re.Pattern[str] | None:
    """Any of the needles as words of ASCII letters and digits, in either case: consecutive
    words apart by other characters, whole words but for a prefix; None when no needle can
    match such words (a needle of other letters)."""
    alternatives = []
    for needle in found:
        if not all(_FOLDED_ASCII_WORD.fullmatch(word) for word in needle.words):
            continue
        *whole, last = needle.words
        if "" in whole or (not last and not needle.prefix):
            continue  # no word is empty
        tail = f"{last}[A-Za-z0-9]*" if needle.prefix else f"{last}(?![A-Za-z0-9])"
        tail = tail if last else "[A-Za-z0-9]+"
        alternatives.append("[^A-Za-z0-9]+".join([*whole, tail]))
    if not alternatives:
        return None
    # Whole words at the start too: _search_at_word_start checks the character before.
    return re.compile("|".join(alternatives), re.ASCII | re.IGNORECASE)


def first_match_by_words(text: str, found: Sequence[Needle]) -> int | None:
    """first_match by folding each word of `text` in turn (the reference for first_match)."""
    longest = max((len(needle.words) for needle in found), default=0)
    recent: deque[tuple[str, int]] = deque(maxlen=longest)
    for match in _WORD.finditer(text):
        recent.append((fold(match.group()), match.start()))
        words = [word for word, _ in recent]
        for needle in found:
            if needle.ends(words):
                return recent[len(recent) - len(needle.words)][1]
    return None


def passage_window(text: str | None, found: Sequence[Needle], window: int) -> str | None:
    """At most `window` characters of `text` around its first match, controls as spaces."""
    if text is None:
        return None
    if len(text) > window:
        offset = first_match(text[: window * SCAN_WINDOWS], found)
        start = 0 if offset is None else max(0, offset - window // 3)
        end = min(len(text), start + window)
        text = _whole_words(text, start, end)
    return _CONTROLS.sub(" ", text)


def _whole_words(text: str, start: int, end: int) -> str:
    """text[start:end] without a word cut in two at either end."""
    piece = text[start:end]
    if start > 0 and not text[start - 1].isspace():
        cut = re.search(r"\s", piece)
        piece = piece[cut.end() :] if cut else piece
    if end < len(text) and not text[end].isspace():
        # The last white space, found from the end: searching forwards for r"\s\S*\Z" tried
        # every white space of the piece (a quarter of a long text's window cost).
        cut = _SPACE.search(piece[::-1])
        piece = piece[: len(piece) - cut.end()] if cut else piece
    return piece


_SPACE = re.compile(r"\s")


def opening(text: str, window: int) -> str:
    """The first `window` characters of a text (for the lede), controls as spaces."""
    return _CONTROLS.sub(" ", _whole_words(text, 0, min(len(text), window)))
