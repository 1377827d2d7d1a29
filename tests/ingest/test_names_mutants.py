"""Tests for mutants of app/ingest/names.py that the rest of the suite let through
(docs/mutation.md): the edges of is_acronym and has_honorific, and the alias table's lookups
and phrase order."""

from __future__ import annotations

import pytest

from app.ingest.names import AliasRow, AliasTable, canonical_name, has_honorific, is_acronym


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


def test_a_nationality_before_a_title_in_lower_case_is_stripped() -> None:
    # "Russian president": the adjective is capitalised, the title need not be.
    assert canonical_name("Russian president Vladimir Putin", "person") == "Vladimir Putin"


def test_a_title_in_capitals_is_stripped() -> None:
    assert canonical_name("MX. SAM SMITH", "person") == "Sam Smith"
    assert canonical_name("MX. Sam Smith", "person") == "Sam Smith"
