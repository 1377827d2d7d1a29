"""Canonical entity names, lookup keys and the curated alias file."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config import PROJECT_ROOT
from app.ingest.entities.names import (
    AliasRow,
    AliasTable,
    canonical_name,
    is_acronym,
    load_alias_file,
    name_key,
)

ENTITY_TYPES = ("person", "organization", "location", "other")


@pytest.mark.parametrize(
    ("surface", "entity_type", "expected"),
    [
        ("Vladimir Putin", "person", "Vladimir Putin"),
        ("Vladimir V. Putin", "person", "Vladimir Putin"),
        ("George W. Bush", "person", "George Bush"),
        ("Mr. Putin", "person", "Putin"),
        ("Mr Putin", "person", "Putin"),
        ("Mrs. Thatcher", "person", "Thatcher"),
        ("Dr. Anthony Fauci", "person", "Anthony Fauci"),
        ("President Joe Biden", "person", "Joe Biden"),
        ("Russian President Vladimir Putin", "person", "Vladimir Putin"),
        ("Deputy Prime Minister Alexey Overchuk", "person", "Alexey Overchuk"),
        ("Prime Minister Rishi Sunak", "person", "Rishi Sunak"),
        ("Mullah Abdul Ghani Baradar", "person", "Abdul Ghani Baradar"),
        ("Sheikh Mohammed bin Rashid", "person", "Mohammed bin Rashid"),
        ("Secretary Antony Blinken", "person", "Antony Blinken"),
        ("Donald Trump’s", "person", "Donald Trump"),
        ("Trump's", "person", "Trump"),
        ("VLADIMIR PUTIN", "person", "Vladimir Putin"),
        ("the United States", "location", "United States"),
        ("The Kremlin", "organization", "Kremlin"),
        ("a Conservative Party", "organization", "Conservative Party"),
        ("A Tribe Called Quest", "other", "A Tribe Called Quest"),
        ("The Hague", "location", "The Hague"),
        ("MOSCOW", "location", "Moscow"),
        ("NEW YORK", "location", "New York"),
        ("US", "location", "US"),
        ("USA", "location", "USA"),
        ("TASS", "organization", "TASS"),
        ("CSTO", "organization", "CSTO"),
        ("ISIS", "organization", "ISIS"),
        ("IS-K", "organization", "IS-K"),
        ("TASS News Agency", "organization", "TASS"),
        ("Xinhua news agency", "organization", "Xinhua"),
        ("Collective Security Treaty Organisation", "organization",
         "Collective Security Treaty Organization"),
        ("Taliban’s", "organization", "Taliban"),
        ("“Islamic Emirate of Afghanistan”", "organization", "Islamic Emirate of Afghanistan"),
        ("Central  Asia\n", "location", "Central Asia"),
        ("Rolls-Royce", "organization", "Rolls-Royce"),
        ("Airbus A380", "other", "Airbus A380"),
    ],
)  # fmt: skip
def test_canonical_name(surface: str, entity_type: str, expected: str) -> None:
    assert canonical_name(surface, entity_type) == expected


@pytest.mark.parametrize(
    ("surface", "entity_type"),
    [
        ("x", "person"),
        ("A.", "organization"),
        ("1267", "other"),
        ("2024-05-29", "other"),
        ("MENAFN18042024000159011032ID1108113521", "organization"),
        ("ID1108113521", "organization"),
        ("12 34 5a", "location"),
        ("—", "other"),
        ("", "person"),
        ("President", "person"),
        ("Mr.", "person"),
        ("jihadist", "other"),
        ("MENAFN- Asia Times", "organization"),
        ("Moscow — Putin", "location"),
    ],
)
def test_canonical_name_rejects_junk(surface: str, entity_type: str) -> None:
    assert canonical_name(surface, entity_type) is None


def test_titles_are_stripped_only_from_people() -> None:
    assert canonical_name("General Motors", "organization") == "General Motors"
    assert canonical_name("Justice Department", "organization") == "Justice Department"
    assert canonical_name("President Hotel", "location") == "President Hotel"


@given(st.text(max_size=60), st.sampled_from(ENTITY_TYPES))
def test_canonical_name_is_idempotent(surface: str, entity_type: str) -> None:
    name = canonical_name(surface, entity_type)
    if name is not None:
        assert canonical_name(name, entity_type) == name


@pytest.mark.parametrize(
    ("first", "second"),
    [("U.S.", "US"), ("Médvédev", "MEDVEDEV"), ("IS-K", "is k"), ("Trump’s", "trumps")],
)
def test_name_key_folds_case_accents_and_punctuation(first: str, second: str) -> None:
    assert name_key(first) == name_key(second)


def test_name_key_keeps_different_names_apart() -> None:
    assert name_key("ISIS") != name_key("IS")
    assert name_key("UN") != name_key("US")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("CSTO", True), ("IS-K", True), ("U.S.", True), ("Taliban", False), ("New York", False)],
)
def test_is_acronym(name: str, expected: bool) -> None:
    assert is_acronym(name) is expected


def test_load_alias_file_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "aliases.csv"
    path.write_text(
        "# curated names\nalias,canonical_name,type\n\nUSA,United States,location\n"
        '  # indented comment\n"Agence France-Presse, Paris",AFP,organization\n',
        encoding="utf-8",
    )
    assert load_alias_file(path) == [
        AliasRow("USA", "United States", "location"),
        AliasRow("Agence France-Presse, Paris", "AFP", "organization"),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty alias file"),
        ("name,type\n", ":1: header must be"),
        ("alias,canonical_name,type\n# x\nUSA,United States\n", ":3: expected 3 columns"),
        ("alias,canonical_name,type\nUSA,United States,country\n", ":2: type 'country'"),
        ("alias,canonical_name,type\n,United States,location\n", ":2: alias and canonical_name"),
    ],
)
def test_load_alias_file_reports_bad_rows_with_line_numbers(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "aliases.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_alias_file(path)


def test_shipped_alias_file_loads_and_links_the_usual_names() -> None:
    table = AliasTable(load_alias_file(PROJECT_ROOT / "data" / "aliases.csv"))
    assert table.lookup("U.S.") == ("United States", "location")
    assert table.lookup("Britain") == ("United Kingdom", "location")
    assert table.lookup("ISKP") == ("Islamic State Khorasan", "organization")
    assert table.lookup("IS-K") == ("Islamic State Khorasan", "organization")
    assert table.lookup("TASS News Agency") == ("TASS", "organization")
    assert table.lookup("Tajikistan") == ("Tajikistan", "location")
    assert table.lookup("ISIS") is None
    assert "UN Security Council" in table.phrases
    assert "US" not in table.phrases
