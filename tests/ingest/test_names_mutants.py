"""Tests for mutants of app/ingest/entities/names.py that the rest of the suite let through
(docs/mutation.md): the edges of is_acronym and has_honorific, and the alias table's lookups
and phrase order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.ingest.entities.names import (
    AliasRow,
    AliasTable,
    canonical_name,
    has_honorific,
    is_acronym,
    is_first_name,
    load_alias_file,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AB", True),  # two letters: the shortest acronym
        ("A", False),  # one letter is an initial
        ("ABCDEF", True),  # six letters: the longest
        ("ABCDEFG", False),
        ("N.A.T.O.", True),  # dots are not letters: four
        ("ABC-DEF", True),  # nor are hyphens: six
        ("ABC&DEF", True),  # nor ampersands: six
        ("AT&T", True),
        ("US UK", False),  # two words are never one acronym
        ("NEW YORK", False),
        ("ABCDEFGH", False),
        ("Nato", False),
    ],
)
def test_is_acronym_at_its_edges(name: str, expected: bool) -> None:
    assert is_acronym(name) is expected


@pytest.mark.parametrize(
    ("surface", "expected"),
    [
        ("Mr Tony Blair", True),
        ("Dr. Jane Goodall", True),
        ("MX. SAM SMITH", True),  # a byline in capitals
        ("Tony Blair", False),
        ("", False),
        ("   ", False),
    ],
)
def test_has_honorific_reads_the_first_word(surface: str, expected: bool) -> None:
    assert has_honorific(surface) is expected


def test_an_alias_table_finds_canonical_names_and_aliases() -> None:
    table = AliasTable([AliasRow("USA", "United States", "location")])
    assert table.lookup("United States") == ("United States", "location")
    assert table.lookup("usa") == ("United States", "location")
    assert table.lookup("Canada") is None


def test_alias_phrases_are_tried_longest_first() -> None:
    # Found in text longest first, so "UN Security Council" wins over a shorter phrase
    # inside it; the order is by length, not by the alphabet.
    table = AliasTable(
        [
            AliasRow("Zu Ma", "Zu Ma", "person"),
            AliasRow("New York", "New York", "location"),
            AliasRow("UN Security Council", "United Nations Security Council", "organization"),
        ]
    )
    assert table.phrases == [
        "United Nations Security Council",
        "UN Security Council",
        "New York",
        "Zu Ma",
    ]


@pytest.mark.parametrize(
    ("surface", "expected"),
    [
        # An honorific keeps the title word that is its surname, however it is written.
        ('Mr "Major"', "Major"),
        ("Mr. Major", "Major"),
        ("MX Major", "Major"),
        # A title word before a title-surname is no first name: the rank alone names no one.
        ("U.S. Judge", None),
        ("U.S. Marshal", None),
        ("Pentagon Spokesman", None),
        # A first name, even one shaped like an adjective, or a capitalised word the first-name
        # dictionary lacks, makes a name with a surname that is also a title.
        ("Alan Judge", "Alan Judge"),
        ("Sipho Major", "Sipho Major"),
        # Titles before a full name go, a surname title among them; the surname stays.
        ("Chief Judge Smith", "Smith"),
        ("Dr Bishop Tutu", "Tutu"),
        ("Dr Bishop Desmond Tutu", "Desmond Tutu"),
        # A nationality that is also a first name ("Germán") still qualifies the title after it.
        ("German Chancellor Angela Merkel", "Angela Merkel"),
        # An honorific before a title that is no surname names no one.
        ("Mr President", None),
    ],
)
def test_titles_that_are_also_surnames(surface: str, expected: str | None) -> None:
    assert canonical_name(surface, "person") == expected


def test_is_first_name_knows_first_names_only() -> None:
    assert is_first_name("Alan")
    assert is_first_name("alan")
    assert not is_first_name("Pentagon")


def test_a_nationality_before_a_title_in_lower_case_is_stripped() -> None:
    # "Russian president": the adjective is capitalised, the title need not be.
    assert canonical_name("Russian president Vladimir Putin", "person") == "Vladimir Putin"


def test_a_title_in_capitals_is_stripped() -> None:
    assert canonical_name("MX. SAM SMITH", "person") == "Sam Smith"
    assert canonical_name("MX. Sam Smith", "person") == "Sam Smith"


@pytest.mark.parametrize(
    "surface",
    # Each pass strips the quotes and the brackets the article removal exposes as well as
    # one article, so four stacked articles take exactly the four passes there are.
    ['"the the the the Taliban"', "the the the the (Taliban)"],
)
def test_one_clean_up_pass_strips_an_article_and_the_junk_around_it(surface: str) -> None:
    assert canonical_name(surface, "organization") == "Taliban"


def test_a_number_run_of_five_digits_is_never_a_name() -> None:
    # Even with more letters than digits around it: it is an id or a code.
    assert canonical_name("Kabul Office 12345", "organization") is None
    assert canonical_name("Kabul Office 1234", "organization") == "Kabul Office 1234"


@pytest.mark.parametrize(
    ("surface", "entity_type", "expected"),
    [
        ("IRAN", "location", "Iran"),  # four letters shout
        ("UK", "location", "UK"),  # fewer are an acronym
        ("WORLD HEALTH ORGANIZATION", "organization", "World Health Organization"),
        ("WORLD BANK", "organization", "WORLD BANK"),  # under three words: an acronym-like name
        ("NATO. SUMMIT", "location", "NATO. Summit"),  # a known acronym keeps its capitals
    ],
)
def test_capitals_are_brought_to_normal_case_only_when_they_shout(
    surface: str, entity_type: str, expected: str
) -> None:
    assert canonical_name(surface, entity_type) == expected


def test_a_name_has_more_letters_than_digits_and_at_most_ten_words() -> None:
    assert canonical_name("AB12", "organization") is None
    assert canonical_name("ABC12", "organization") == "ABC12"
    ten = " ".join(["Alpha"] * 10)
    assert canonical_name(ten, "organization") == ten
    assert canonical_name(f"{ten} Alpha", "organization") is None


def test_an_alias_row_of_an_unknown_type_names_the_allowed_ones(tmp_path: Path) -> None:
    path = tmp_path / "aliases.csv"
    path.write_text("alias,canonical_name,type\nUSA,United States,country\n", encoding="utf-8")
    with pytest.raises(ValueError) as error:
        load_alias_file(path)
    assert str(error.value) == (
        f"{path}:2: type 'country' is not one of person, organization, location, other"
    )


ALIASES_OF_A_FILE = """
import sys
import os
import subprocess
import sys
from pathlib import Path
from app.ingest.entities.names import load_alias_file
print(load_alias_file(Path(sys.argv[1]))[0].canonical_name)
"""


def test_the_alias_file_is_read_as_utf8_under_any_locale(tmp_path: Path) -> None:
    # A server started with the plain C locale (ASCII) still reads accented names.
    path = tmp_path / "aliases.csv"
    path.write_text("alias,canonical_name,type\nMedvedev,Dmitri Médvédev,person\n", "utf-8")
    # Read here too, so that mutmut (which maps tests to what they call in its own process)
    # runs this test for the reader's mutants.
    assert load_alias_file(path)[0].canonical_name == "Dmitri Médvédev"
    env = {
        **os.environ,
        "LC_ALL": "C",
        "LANG": "C",
        "PYTHONUTF8": "0",
        "PYTHONCOERCECLOCALE": "0",
        "PYTHONIOENCODING": "utf-8",
    }
    done = subprocess.run(
        [sys.executable, "-c", ALIASES_OF_A_FILE, str(path)],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Dmitri Médvédev"


def test_a_quoted_alias_running_over_two_lines_is_refused(tmp_path: Path) -> None:
    # One row per line: a cell may not span lines (its line number would be wrong).
    path = tmp_path / "aliases.csv"
    path.write_text(
        'alias,canonical_name,type\n"USA\nX",United States,location\nUK,United Kingdom,location\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError):
        load_alias_file(path)
