"""The query language: parsing, errors, FTS5 and tsquery output, checked on a real FTS5 table."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.search.query import (
    And,
    Not,
    Or,
    Phrase,
    Query,
    QuerySyntaxError,
    Term,
    parse_query,
    query_terms,
    split_words,
    to_fts5,
    to_tsquery,
)

ROWS = [
    (1, "Medvedev meets Biden", "The U.S. president met Dmitry Medvedev; they told us little."),
    (2, "Putin and the e-mail", "The Taliban's spokesman sent an e-mail about IS-K."),
    (3, "Prime minister resigns", "The prime minister resigned after the election."),
    (4, "Minister of prime numbers", "A minister studies prime numbers, far from elections."),
    (5, "Oil prices", "Oil and gas prices rose; us traders cheered."),
    (6, "Gas shortage", "Gas is short while Medvédev speaks."),
]


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    """An in-memory FTS5 table tokenised the way the app's search table is."""
    connection = sqlite3.connect(":memory:")
    connection.execute(
        'CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize="unicode61 remove_diacritics 2")'
    )
    connection.executemany("INSERT INTO t(rowid, title, body) VALUES (?, ?, ?)", ROWS)
    yield connection
    connection.close()


def matches(fts: sqlite3.Connection, text: str, columns: list[str] | None = None) -> set[int]:
    """Row ids the query finds in the test table."""
    expression = to_fts5(parse_query(text), columns)
    return {row[0] for row in fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,))}


FTS5_CASES = [
    ("putin biden", '"putin" AND "biden"'),
    ("putin AND biden", '"putin" AND "biden"'),
    ('"prime minister"', '"prime minister"'),
    ('"prime"', '"prime"'),
    ("elect*", '"elect"*'),
    ('"prime min"*', '"prime min"*'),
    ("brexit OR eu", '"brexit" OR "eu"'),
    ("tax -vat", '"tax" NOT "vat"'),
    ("tax NOT vat", '"tax" NOT "vat"'),
    ('tax -"value added"', '"tax" NOT "value added"'),
    ("a b -c -d", '("a" AND "b") NOT "c" NOT "d"'),
    ("-c a", '"a" NOT "c"'),
    ("a -(b OR c)", '"a" NOT ("b" OR "c")'),
    ("a -(b -c)", '"a" NOT ("b" NOT "c")'),
    ("b (-a -c)", '"b" NOT "a" NOT "c"'),
    ("(oil OR gas) prices", '("oil" OR "gas") AND "prices"'),
    ("a b OR c", '("a" AND "b") OR "c"'),
    ("a (b OR c)", '"a" AND ("b" OR "c")'),
    ("(a OR b) OR (c OR d)", '"a" OR "b" OR "c" OR "d"'),
    ("((a))", '"a"'),
    ("NOT NOT a", '"a"'),
    ("-(-a) b", '"a" AND "b"'),
    ("U.S.", '"U S"'),
    ("IS-K", '"IS K"'),
    ("Taliban's", '"Taliban s"'),
    ("e-mail", '"e mail"'),
    ("e-mail*", '"e mail"*'),
    ("title:putin", '"title putin"'),
    ("^start +plus", '"start" AND "plus"'),
    ("a , - ... b", '"a" AND "b"'),
    ("a OR ,", '"a"'),
    ("a -!!", '"a"'),
    ("and or not near NEAR", '"and" AND "or" AND "not" AND "near" AND "NEAR"'),
    ('"a OR b"', '"a OR b"'),
    ('"open quote', '"open quote"'),
    ("“curly quotes”", '"curly quotes"'),
    ("Medvédev", '"Medvédev"'),
    ("cafe\u0301", '"café"'),
    ("NEAR(a b)", '"NEAR" AND "a" AND "b"'),
    ("a\x00b", '"a b"'),
]


@pytest.mark.parametrize(("text", "expected"), FTS5_CASES)
def test_to_fts5_quotes_every_word(text: str, expected: str) -> None:
    assert to_fts5(parse_query(text)) == expected


@pytest.mark.parametrize("text", [text for text, _ in FTS5_CASES])
def test_every_table_case_runs_in_fts5(fts: sqlite3.Connection, text: str) -> None:
    for columns in (None, ["title"], ["title", "body"]):
        matches(fts, text, columns)


def test_columns_wrap_the_whole_expression() -> None:
    query = parse_query("a OR b -c")
    assert to_fts5(query, ["title"]) == '{title} : ("a" OR ("b" NOT "c"))'
    assert to_fts5(query, ["title", "body"]) == '{title body} : ("a" OR ("b" NOT "c"))'


@pytest.mark.parametrize("columns", [[], ["title body"], ['title"'], ["1st"]])
def test_columns_must_be_plain_names(columns: list[str]) -> None:
    with pytest.raises(ValueError, match="column names"):
        to_fts5(parse_query("a"), columns)


def test_tree_shapes() -> None:
    assert parse_query("U.S.") == Phrase(("U", "S"))
    assert parse_query("elect*") == Term("elect", prefix=True)
    assert parse_query('"putin"') == Term("putin")
    assert parse_query("a -b OR c") == Or((And((Term("a"), Not(Term("b")))), Term("c")))
    assert parse_query("a AND b c") == And((Term("a"), Term("b"), Term("c")))


TSQUERY_CASES = [
    ("Putin biden", "'putin' & 'biden'"),
    ('"Prime Minister"', "'prime' <-> 'minister'"),
    ("elect*", "'elect':*"),
    ("e-mail*", "'e' <-> 'mail':*"),
    ("a OR b c", "'a' | ('b' & 'c')"),
    ("(a OR b) c", "('a' | 'b') & 'c'"),
    ('tax -vat -"value added"', "'tax' & !'vat' & !('value' <-> 'added')"),
    ("a -(b -c)", "'a' & !('b' & !'c')"),
    ("Medvédev", "'medvédev'"),
]


@pytest.mark.parametrize(("text", "expected"), TSQUERY_CASES)
def test_to_tsquery_quotes_and_lowercases_every_lexeme(text: str, expected: str) -> None:
    assert to_tsquery(parse_query(text)) == expected


def test_tsquery_escapes_quotes_and_backslashes() -> None:
    # The parser never produces such words, but the compiler must stay safe on any tree.
    assert to_tsquery(Term("it's\\")) == "'it''s\\\\'"


def test_fts5_escapes_double_quotes_in_hand_built_trees(fts: sqlite3.Connection) -> None:
    expression = to_fts5(And((Term('say "hi"'), Not(Phrase(("a", 'b"'))))))
    assert expression == '"say ""hi""" NOT "a b"""'
    fts.execute("SELECT count(*) FROM t WHERE t MATCH ?", (expression,))


def test_query_terms_are_the_positive_words_and_phrases() -> None:
    query = parse_query('"prime minister" resign* -election (tax OR vat) -"U.S." tax')
    assert query_terms(query) == ["prime minister", "resign", "tax", "vat"]


def test_split_words_follows_unicode61() -> None:
    assert split_words("U.S. e-mail, Taliban's 2024!") == [
        "U",
        "S",
        "e",
        "mail",
        "Taliban",
        "s",
        "2024",
    ]
    assert split_words("東京 Ünïcödé_x") == ["東京", "Ünïcödé", "x"]
    assert split_words("...\u0301 --") == []


ERROR_CASES = [
    ("", 0, "type at least one word"),
    ("   ", 0, "type at least one word"),
    ("?!", 0, "type at least one word"),
    ("OR", 0, "put a word before OR"),
    ("OR a", 0, "put a word before OR"),
    ("a OR", 2, "put a word after OR"),
    ("a OR OR b", 2, "put a word after OR"),
    ("a OR ) b", 2, "put a word after OR"),
    ("AND b", 0, "put a word before AND"),
    ("a AND", 2, "put a word after AND"),
    ("a AND OR b", 2, "put a word after AND"),
    ("NOT", 0, "put a word after NOT"),
    ("a NOT", 2, "put a word after NOT"),
    ("-a", 0, "a query needs at least one word that is not excluded"),
    ("NOT a -b", 0, "a query needs at least one word that is not excluded"),
    ("a OR -b", 5, "an OR alternative needs a word that is not excluded"),
    ("(-a) OR b", 0, "an OR alternative needs a word that is not excluded"),
    ("a -(-b -c)", 2, "inside the excluded parentheses"),
    ("x (a", 2, "close the parenthesis opened at 2"),
    ("((a)", 0, "close the parenthesis opened at 0"),
    ("a) b", 1, "remove the ')' at 1"),
    ("a ()", 2, "put a word inside the parentheses"),
    ("(" * 11 + "a" + ")" * 11, 10, "at most 10 levels"),
]


@pytest.mark.parametrize(("text", "position", "hint"), ERROR_CASES)
def test_errors_say_where_and_what_to_do(text: str, position: int, hint: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(text)
    assert caught.value.position == position
    assert hint in caught.value.hint
    assert str(position) in str(caught.value)


def test_operator_hint_mentions_the_lower_case_word() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("tea OR")
    assert "write or in lower case" in caught.value.hint


def test_length_limit_applies_to_2000_characters() -> None:
    text = " ".join(["brexit"] * 285)  # 1,994 characters
    text += " vote*"
    assert len(text) == 2000
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(text)
    assert caught.value.position == 1000
    assert "1000 characters or fewer" in caught.value.hint
    query = parse_query(text, max_length=2000, max_words=286)
    # A repeated word is searched once.
    assert query == And((Term("brexit"), Term("vote", prefix=True)))


def test_deepest_allowed_nesting_runs_in_fts5(fts: sqlite3.Connection) -> None:
    # Each level nests an OR, an AND and a NOT: two levels of FTS5 parentheses per level.
    text = "y z"
    for level in range(10):
        text = f"a{level} OR b{level} -({text}) c"
    query = parse_query(text)
    for columns in (None, ["title"]):
        fts.execute("SELECT count(*) FROM t WHERE t MATCH ?", (to_fts5(query, columns),))


def test_semantics_on_a_real_fts5_table(fts: sqlite3.Connection) -> None:
    assert matches(fts, '"prime minister"') == {3}
    assert matches(fts, "prime minister") == {3, 4}
    assert matches(fts, "elect*") == {3, 4}
    assert matches(fts, "elect") == set()
    assert matches(fts, "oil gas") == {5}
    assert matches(fts, "oil OR gas") == {5, 6}
    assert matches(fts, "gas -oil") == {6}
    assert matches(fts, "minister -election -resigns") == {4}
    assert matches(fts, "minister NOT (election* OR numbers)") == set()
    assert matches(fts, "Medvédev") == {1, 6}
    assert matches(fts, "MEDVEDEV") == {1, 6}
    assert matches(fts, "U.S.") == {1}
    assert matches(fts, "us") == {1, 5}
    assert matches(fts, "Taliban's IS-K e-mail") == {2}
    assert matches(fts, "and or") == set()  # plain words, not operators
    assert matches(fts, "minister", ["title"]) == {3, 4}
    assert matches(fts, "election*", ["title"]) == set()
    assert matches(fts, "election* OR putin", ["title"]) == {2}


VOCABULARY = [
    *'"“”„()*-:^+{}[]\'\\_.,;!?',
    "AND", "OR", "NOT", "NEAR", "and", "or", "not", "near", "NEAR(", "-(", '-"',
    "a", "b", "oil", "prime minister", "Medvédev", "U.S.", "e-mail", "東京", "😀",
    "\x00", "\u0301", "\u200b", "\t", "\n", " ", "  ",
]  # fmt: skip
QUERY_TEXT = st.one_of(
    st.text(),
    st.lists(st.sampled_from(VOCABULARY) | st.text(max_size=4), max_size=20).map(" ".join),
    st.lists(st.sampled_from(VOCABULARY) | st.text(max_size=3), max_size=20).map("".join),
)


def assert_well_formed(node: Query | Not, inside_and: bool = False) -> None:
    """The invariants the compilers rely on: Not only under an And that has a positive item."""
    if isinstance(node, Not):
        assert inside_and
        assert not isinstance(node.item, Not)
        assert_well_formed(node.item)
    elif isinstance(node, And):
        assert len(node.items) > 1 and any(not isinstance(i, Not) for i in node.items)
        for item in node.items:
            assert not isinstance(item, And)
            assert_well_formed(item, inside_and=True)
    elif isinstance(node, Or):
        assert len(node.items) > 1
        for item in node.items:
            assert not isinstance(item, Or | Not)
            assert_well_formed(item)
    elif isinstance(node, Phrase):
        assert len(node.words) > 1 and all(split_words(w) == [w] for w in node.words)
    else:
        assert split_words(node.text) == [node.text]


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=QUERY_TEXT)
def test_any_text_parses_or_raises_and_fts5_accepts_it(fts: sqlite3.Connection, text: str) -> None:
    try:
        query = parse_query(text)
    except QuerySyntaxError as error:
        assert 0 <= error.position <= len(text) and error.hint
        return
    assert_well_formed(query)
    assert query_terms(query)
    assert to_tsquery(query)
    for columns in (None, ["title"]):
        fts.execute("SELECT count(*) FROM t WHERE t MATCH ?", (to_fts5(query, columns),))


@pytest.fixture(scope="module")
def postgres() -> Iterator[Any]:
    """A connection to the local PostgreSQL test server, or a skip saying why there is none."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed")
    dsn = os.environ.get(
        "NEWSDESK_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=test"
    )
    try:
        connection = psycopg.connect(dsn, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable at {dsn!r}: {error}")
    yield connection
    connection.close()


def tsquery_matches(postgres: Any, document: str, text: str) -> bool:
    """Whether PostgreSQL finds the document with the compiled query."""
    sql = "SELECT to_tsvector('simple', %s) @@ to_tsquery('simple', %s)"
    return bool(postgres.execute(sql, (document, to_tsquery(parse_query(text)))).fetchone()[0])


@pytest.mark.postgres
@pytest.mark.parametrize("text", [text for text, _ in FTS5_CASES + TSQUERY_CASES])
def test_every_table_case_is_a_valid_tsquery(postgres: Any, text: str) -> None:
    postgres.execute("SELECT to_tsquery('simple', %s)", (to_tsquery(parse_query(text)),))


@pytest.mark.postgres
def test_tsquery_semantics(postgres: Any) -> None:
    document = "The prime minister resigned; the Taliban's e-mail about IS-K leaked."
    assert tsquery_matches(postgres, document, '"prime minister" resign*')
    assert not tsquery_matches(postgres, document, '"minister prime"')
    assert tsquery_matches(postgres, document, "Taliban's e-mail IS-K")
    assert tsquery_matches(postgres, document, "budget OR PRIME")
    assert not tsquery_matches(postgres, document, "prime -leaked")
    assert tsquery_matches(postgres, document, "prime -(leaked budget)")


@pytest.mark.postgres
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=QUERY_TEXT)
def test_any_parsed_text_is_a_valid_tsquery(postgres: Any, text: str) -> None:
    try:
        query = parse_query(text)
    except QuerySyntaxError:
        return
    postgres.execute("SELECT to_tsquery('simple', %s)", (to_tsquery(query),))
