"""Tests for mutants of app/ingest/linking.py that the rest of the suite let through
(docs/mutation.md): where a one-letter typo in a multi-word name still names the same
entity, and where it stops."""

from __future__ import annotations

import pytest

from app.ingest.linking import same_name_variant


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        # One edit in a word of seven letters (the shortest compared fuzzily): the same place.
        ("Bagram Airbase", "Bagram Airbose", True),
        # Two edits: another name.
        ("Bagram Airbase", "Bagram Airbuse", True),
        ("Bagram Airbase", "Bagram Airbuke", False),
        # One edit that changes a number: another thing, however long the word.
        ("Covid19 Inquiry", "Covid18 Inquiry", False),
        # Under seven letters a single edit is already another word.
        ("Kabul Bazaar", "Kabul Bazaer", False),
    ],
)
def test_a_typo_in_a_long_word_of_a_name(first: str, second: str, same: bool) -> None:
    assert same_name_variant(first, second, "location") is same
