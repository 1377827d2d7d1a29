"""Tests for mutants of app/search/query.py that the rest of the suite let through
(docs/mutation.md): the whole text of each syntax error, how deep parentheses may go, a lone
dash, and where a limit is reported for an excluded word. Listed in [tool.mutmut], so that
adding a test here does not change mutmut's test selection (which would make it check every
mutant again)."""

from __future__ import annotations

import sqlite3

import pytest

from app.search.query import (
    And,
    Or,
    QuerySyntaxError,
    Term,
    parse_query,
    split_words,
)

NESTED_TOO_DEEP = "(" * 11 + "a" + ")" * 11


@pytest.mark.parametrize(
    ("text", "message", "position", "hint"),
    [
        ("a ()", "empty parentheses", 2, "put a word inside the parentheses or remove them"),
        (
            NESTED_TOO_DEEP,
            "too many nested parentheses",
            10,
            "use at most 10 levels of parentheses",
        ),
        ("x (a", "unclosed parenthesis", 2, "close the parenthesis opened at 2"),
        ("a )", "unmatched ')'", 2, "remove the ')' at 2 or add a '(' before it"),
        (
            "a OR -b",
            "nothing to match: only excluded words",
            5,
            "an OR alternative needs a word that is not excluded: add one, or remove the OR",
        ),
        (
            "?! ...",
            "the query has no words to search for",
            0,
            "type at least one word of letters or digits",
        ),
        (
            "a OR",
            "OR needs a word after it",
            2,
            "put a word after OR, or write or in lower case to search for the word",
        ),
        # A second operator is no word: the first is missing one.
        (
            "a AND AND b",
            "AND needs a word after it",
            2,
            "put a word after AND, or write and in lower case to search for the word",
        ),
        (
            "a OR AND b",
            "OR needs a word after it",
            2,
            "put a word after OR, or write or in lower case to search for the word",
        ),
        (
            "a -(-b -c)",
            "nothing to match: only excluded words",
            2,
            "put a word that is not excluded inside the excluded parentheses",
        ),
        (
            "-a",
            "nothing to match: only excluded words",
            0,
            "a query needs at least one word that is not excluded",
        ),
    ],
)
def test_a_syntax_error_says_what_where_and_what_to_do(
    text: str, message: str, position: int, hint: str
) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(text)
    error = caught.value
    assert (error.message, error.position, error.hint) == (message, position, hint)
    # What the API answers (after "q: "):
    assert str(error) == f"{message} (at character {position}): {hint}"


def test_parentheses_side_by_side_are_not_nested() -> None:
    # Only depth counts: eleven groups one after another are fine.
    groups = " ".join(f"({letter})" for letter in "abcdefghijk")
    assert parse_query(groups) == And(tuple(Term(letter) for letter in "abcdefghijk"))


def test_the_depth_after_a_closed_group_starts_again_from_the_top() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("(a) " + NESTED_TOO_DEEP.replace("a", "b"))
    assert caught.value.position == 14  # the eleventh "(" of the second group
    assert parse_query("(a) " + "(" * 10 + "b" + ")" * 10) == And((Term("a"), Term("b")))


@pytest.mark.parametrize("text", ["a - b", "a -"])
def test_a_dash_on_its_own_excludes_nothing(text: str) -> None:
    expected = Term("a") if text == "a -" else And((Term("a"), Term("b")))
    assert parse_query(text) == expected


def test_a_word_ending_in_x_is_no_prefix() -> None:
    assert parse_query("XBOX") == Term("XBOX")
    assert parse_query("XBOX*") == Term("XBOX", prefix=True)


def test_a_limit_passed_at_an_excluded_word_points_at_the_word() -> None:
    text = "x " + " ".join(f"-w{n}*" for n in range(9))
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(text)
    error = caught.value
    assert (error.message, error.position, error.hint) == (
        "the query has more than 8 prefix* terms",
        text.index("w8"),
        "use at most 8 words ending in *, or write whole words",
    )


def test_a_word_limit_points_at_the_first_word_past_it() -> None:
    text = " ".join(f"w{n}" for n in range(33))
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(text)
    assert caught.value.position == text.index("w32")


def test_a_private_use_character_is_part_of_a_word_as_unicode61_keeps_it() -> None:
    # U+E000 and U+E001 (a font's own glyphs, category Co): FTS5 keeps them in its tokens,
    # so a query must too, alone or inside a word.
    text = "\ue000 a\ue001b"
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE t USING fts5(body, tokenize='unicode61 remove_diacritics 2')"
    )
    connection.execute("CREATE VIRTUAL TABLE words USING fts5vocab(t, 'row')")
    connection.execute("INSERT INTO t(body) VALUES (?)", (text,))
    indexed = sorted(term for (term,) in connection.execute("SELECT term FROM words"))
    connection.close()
    assert indexed == ["a\ue001b", "\ue000"]
    assert sorted(split_words(text)) == indexed


def test_a_repeated_alternative_is_searched_once() -> None:
    # FTS5 would score each copy of an alternative: the query keeps one of each.
    assert parse_query("vote OR vote") == Term("vote")
    assert parse_query("(vote OR poll) OR vote") == Or((Term("vote"), Term("poll")))


def test_a_phrase_counts_each_of_its_words_toward_the_limit() -> None:
    # The phrase brings the query to four words: the error points at the phrase.
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query('a "b c d"', max_words=3)
    assert str(caught.value) == (
        "the query has more than 3 words (at character 2): "
        "search with at most 3 words (phrase words count one each)"
    )
