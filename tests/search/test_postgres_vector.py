"""PostgreSQL's lean tsvector (migration 0016) is migration 0012's, byte for byte, for any
text: both expressions of app/search/postgres_vector.py computed side by side in SQL over
generated texts, every character of the Basic Multilingual Plane, the BBC corpus and the
seeds, and the stored column the same before and after the migration."""

from __future__ import annotations

import string
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from app.db import downgrade_database, upgrade_database
from app.search.letters import LETTER_VARIANTS, REMOVED
from app.search.postgres_vector import lean_words, search_vector, words_0012
from tests.backends import PostgresServer
from tests.helpers import seed_database

pytestmark = pytest.mark.postgres

# Texts differ from the sample's rows only where the two expressions disagree.
DIFFERING = (
    f"SELECT title, body FROM sample WHERE ({search_vector(words_0012)})::text "
    f"IS DISTINCT FROM ({search_vector(lean_words)})::text"
)
# Pieces the parser or one of the steps treats specially, mixed with any characters.
PIECES = [
    *string.punctuation,
    *" \t\n\r\x0b\x0c\x01\x1f\x7f\x85",
    *LETTER_VARIANTS,
    *LETTER_VARIANTS.values(),
    *REMOVED,
    "\u00a0",  # no-break space
    "\u2007",  # figure space
    "\u202f",  # narrow no-break space
    "\u200d",  # zero-width joiner
    "\u1680",  # ogham space mark
    "\u3000",  # ideographic space
    "é",
    "e\u0301",  # é decomposed: NFC composes it
    "\u0627\u0653",  # alef and madda: NFC makes آ, which is folded
    "\u06d2\u0654",  # yeh barree and hamza: NFC makes ۓ, the hamza is not folded away
    "\u212b",  # angstrom sign: NFC makes Å
    "\u0344",  # combining greek dialytika tonos, changed by NFC
    "Ωж",
    "中文。、",
    "😀👍🏽",
    "U.S.",
    "e-mail",
    "a@b.com",
    "http://x.y/z?q=1",
    "1.5",
    "-3",
    "2.0.1",
    "<b>",
    "&amp;",
    "'s",
    "ß",
    "Ǆ",
]
TEXTS = st.lists(
    st.sampled_from(PIECES) | st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40
).map("".join)


@pytest.fixture(scope="module")
def sample(postgres_server: PostgresServer) -> Iterator[Connection]:
    """A connection to a database at head, with an empty temporary table `sample`."""
    url = postgres_server.create(postgres_server.template("empty", upgrade_database))
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        connection.execute(text("CREATE TEMP TABLE sample (title text, body text)"))
        yield connection
    engine.dispose()
    postgres_server.drop(url)


def differing(
    connection: Connection, pairs: Sequence[tuple[str | None, str | None]]
) -> list[tuple[Any, ...]]:
    """The (title, body) pairs whose tsvector the two expressions compute differently."""
    connection.execute(text("TRUNCATE sample"))
    if pairs:
        connection.execute(
            text("INSERT INTO sample VALUES (:title, :body)"),
            [{"title": title, "body": body} for title, body in pairs],
        )
    return [tuple(row) for row in connection.exec_driver_sql(DIFFERING)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(TEXTS | st.none(), TEXTS), max_size=20))
def test_generated_texts_get_the_same_vector(
    sample: Connection, pairs: list[tuple[str | None, str]]
) -> None:
    assert differing(sample, pairs) == []


def test_every_character_gets_the_same_vector(sample: Connection) -> None:
    """Each character of the BMP alone, inside a word and between words."""
    characters = [chr(code) for code in range(1, 0x10000) if not 0xD800 <= code <= 0xDFFF]
    pairs = [(c, f"ab{c}cd x{c} {c}y") for c in characters]
    assert differing(sample, pairs) == []


def test_text_below_the_combining_marks_is_nfc(sample: Connection) -> None:
    """lean_words skips the normalisation of text below U+0300: no pair of those characters
    changes under NFC (a character combines only with the one beside it)."""
    changed = (
        "SELECT count(*) FROM generate_series(1, 767) a, generate_series(1, 767) b "
        "WHERE normalize(chr(a) || chr(b), NFC) <> chr(a) || chr(b)"
    )
    assert sample.exec_driver_sql(changed).scalar_one() == 0


def test_bbc_articles_get_the_same_vector(sample: Connection, bbc_corpus: Path) -> None:
    pairs = []
    for path in sorted(bbc_corpus.glob("*/*.txt")):
        title, _, body = path.read_bytes().decode("utf-8", "replace").partition("\n")
        pairs.append((title, body))
    assert len(pairs) > 2000
    assert differing(sample, pairs) == []


def test_migration_keeps_every_stored_vector(postgres_server: PostgresServer) -> None:
    """The seeds' stored vectors at head are 0012's; down to 0015 and up, they stay."""
    url = postgres_server.create(postgres_server.template("seeded", seed_database))
    engine = create_engine(url, poolclass=NullPool)
    stored = "SELECT id, search_vector::text FROM article ORDER BY id"
    expression = (
        "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef JOIN pg_attribute "
        "ON attrelid = adrelid AND attnum = adnum "
        "WHERE adrelid = 'article'::regclass AND attname = 'search_vector'"
    )
    try:
        with engine.connect() as connection:
            at_head = connection.exec_driver_sql(stored).all()
            computed = connection.exec_driver_sql(
                f"SELECT id, ({search_vector(words_0012)})::text FROM article ORDER BY id"
            ).all()
            assert "NFC NORMALIZED" in connection.exec_driver_sql(expression).scalar_one()
        assert len(at_head) == 5
        assert at_head == computed
        downgrade_database(url, "0015")
        with engine.connect() as connection:
            assert connection.exec_driver_sql(stored).all() == at_head
            assert "NFC NORMALIZED" not in connection.exec_driver_sql(expression).scalar_one()
        upgrade_database(url)
        with engine.connect() as connection:
            assert connection.exec_driver_sql(stored).all() == at_head
    finally:
        engine.dispose()
        postgres_server.drop(url)
