"""first_match finds the offset the word-by-word scan (first_match_by_words) finds, on any text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.search.letters import REMOVED
from app.search.passages import (
    SCAN_WINDOWS,
    Needle,
    first_match,
    first_match_by_words,
    fold,
    highlight_query,
    needles,
    passage_window,
)
from app.search.query import parse_query

# Words in several cases and scripts (half of them a few ASCII words, so needles match
# often), each followed by a space, other characters between words, or nothing, so words
# run into each other and into other letters.
COMMON_WORDS = ["a", "A", "ab", "b", "abc"]
OTHER_WORDS = [
    *("Ab", "ABC", "ba", "x9", "9", "99", "ss", "k", "s", "i"),
    *("é", "Ébc", "abé", "İa", "ß", "\u212a", "ſ", "Σα", "σα", "日本"),
    *("ي", "ى", "كتاب", "کتاب", "كِتَاب", "\u0640", "a\u200cb", "b\u064e"),
]
BETWEEN = ["  ", "\u2003", "_", "-", ", ", "\n", "’", "£", "\u0301", "\x02", ".", "'", "\u00a0", ""]
TEXT = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(COMMON_WORDS), st.sampled_from(OTHER_WORDS)),
        st.one_of(st.just(" "), st.sampled_from(BETWEEN)),
    ),
    max_size=12,
).map(lambda pieces: "".join(word + between for word, between in pieces))
# Folded needle words, among them ones no ASCII word folds to and the empty word.
NEEDLE_WORDS = [
    "ba",
    "x9",
    "9",
    "ss",
    "k",
    "s",
    "i",
    "e",
    "ebc",
    "abe",
    "ی",
    "کتاب",
    "σα",
    "日本",
    "",
]
NEEDLE_WORD = st.one_of(st.sampled_from(["a", "ab", "b", "abc"]), st.sampled_from(NEEDLE_WORDS))
NEEDLE = st.builds(
    Needle,
    words=st.lists(NEEDLE_WORD, min_size=1, max_size=3).map(tuple),
    prefix=st.booleans(),
)
QUERY_WORDS = ["a", "Ab", "abc", "b*", "x9", "9*", "é", "ss", "K", "كتاب", "σα", "日本", "a_b"]
QUERY = st.lists(
    st.one_of(
        st.sampled_from(QUERY_WORDS),
        st.lists(st.sampled_from(QUERY_WORDS), min_size=1, max_size=3).map(
            lambda words: '"' + " ".join(words) + '"'
        ),
        st.lists(st.sampled_from(QUERY_WORDS), min_size=1, max_size=3).map(
            lambda words: '"' + " ".join(words) + '"*'
        ),
    ),
    min_size=1,
    max_size=4,
).map(" OR ".join)


def needle_lists(text: str) -> st.SearchStrategy[list[Needle]]:
    """Needles of the words of `text` (runs of 1 to 3 of its folded words, the last maybe cut
    short as a prefix), among them runs ending at the same word, in any order, and others."""
    words = [fold(word) for word in re.findall(rf"(?:[^\W_]|[{REMOVED}])+", text)]
    if not words:
        return st.lists(NEEDLE, min_size=1, max_size=4)
    run = st.integers(0, len(words) - 1).flatmap(
        lambda start: st.integers(start + 1, min(len(words), start + 3)).map(
            lambda end: tuple(words[start:end])
        )
    )

    def cut(found: tuple[str, ...], short: int, prefix: bool) -> Needle:
        *whole, last = found
        return Needle((*whole, last[: len(last) - short] if prefix else last), prefix)

    own = st.builds(cut, run, st.integers(0, 3), st.booleans())
    # A run and its last words: the one that counts is the first in the list.
    nested = own.map(lambda needle: [needle, Needle(needle.words[1:], needle.prefix)])
    groups = st.lists(
        st.one_of(own.map(lambda n: [n]), nested, NEEDLE.map(lambda n: [n])), min_size=1, max_size=3
    )
    return groups.map(
        lambda found: [needle for group in found for needle in group if needle.words]
    ).flatmap(lambda found: st.permutations(found) if found else st.lists(NEEDLE, min_size=1))


@settings(max_examples=3000, deadline=None)
@given(text=TEXT, data=st.data())
def test_first_match_is_the_word_by_word_scan_for_any_needles(
    text: str, data: st.DataObject
) -> None:
    found = data.draw(needle_lists(text))
    assert first_match(text, found) == first_match_by_words(text, found)


@settings(max_examples=1500, deadline=None)
@given(text=TEXT, q=QUERY)
def test_first_match_is_the_word_by_word_scan_for_any_query(text: str, q: str) -> None:
    found = needles(highlight_query(parse_query(q)))
    assert first_match(text, found) == first_match_by_words(text, found)


CONTROLS = {code: " " for code in (*range(0x20), 0x7F) if chr(code) not in "\t\n\r"}


def window_by_words(text: str, found: list[Needle], window: int) -> str:
    """passage_window as it was: the word-by-word scan, and the last white space of the
    window found by searching forwards."""
    if len(text) > window:
        offset = first_match_by_words(text[: window * SCAN_WINDOWS], found)
        start = 0 if offset is None else max(0, offset - window // 3)
        end = min(len(text), start + window)
        piece = text[start:end]
        if start > 0 and not text[start - 1].isspace():
            cut = re.search(r"\s", piece)
            piece = piece[cut.end() :] if cut else piece
        if end < len(text) and not text[end].isspace():
            cut = re.search(r"\s\S*\Z", piece)
            piece = piece[: cut.start()] if cut else piece
        text = piece
    return text.translate(CONTROLS)


@settings(max_examples=1500, deadline=None)
@given(text=TEXT, window=st.integers(1, 60), data=st.data())
def test_the_passage_window_is_the_one_the_word_by_word_scan_gives(
    text: str, window: int, data: st.DataObject
) -> None:
    found = data.draw(needle_lists(text))
    assert passage_window(text, found, window) == window_by_words(text, found, window)


@pytest.mark.parametrize(
    ("q", "text", "offset"),
    [
        # Phrases: consecutive whole words, whatever is between them.
        ('"prime minister"', "prime ministers, Prime--Minister", 17),
        ('"prime minister"', "prime\n\nminister", 0),
        ('"prime minister"', "prime of the minister", None),
        # Prefixes, of a word and of a phrase's last word.
        ("elect*", "Selection ELECTED", 10),
        ('"prime min"*', "primeminister prime Ministry", 14),
        # A needle's letters inside a longer word are passed over, however often.
        ("cat", "concatenate scatcat cat", 20),
        ("cat*", "bobcat Category", 7),
        ('"cat dog"', "tomcat dog cat dogs cat dog", 20),
        # An underscore is not part of a word; digits are.
        ("bar", "foo_bar", 4),
        ("foo_bar", "foo bar foo_bar", 0),
        ("2024", "A20245 2024", 7),
        ("covid", "covid19 Covid", 8),
        # The match that ends first wins, then the first needle of the query.
        ('"a b c" OR b', "a b c", 2),
        ('b OR "a b"', "a b", 2),
        ('"a b" OR b', "a b", 0),
        # Diacritics, before and after the match, and letters whose case is not ASCII's.
        ("medvedev", "Mr Medvédev said", 3),
        ("zebra", "café, then Zebra", 11),
        ("zebra", "Zebra café", 0),
        ("k9", "\u212a9 k9", 0),
        ("strasse", "Straße strasse", 7),
        ("dusseldorf", "DÜSSELDORF", 0),
        # Arabic script: harakat and tatweel are inside words and folded away.
        ("الكتاب", "قال الكِتَاب", 4),
        ("كتاب", "قال الكتاب كـتاب", 11),
        ("كتاب", "هذا كتاب", 4),
    ],
)
def test_first_match_examples(q: str, text: str, offset: int | None) -> None:
    found = needles(highlight_query(parse_query(q)))
    assert first_match(text, found) == offset
    assert first_match_by_words(text, found) == offset
