"""Tests for mutants of app/ingest/entities/linking.py that the rest of the suite let through
(docs/mutation.md): where a one-letter typo in a multi-word name still names the same
entity, and where it stops."""

from __future__ import annotations

import pytest

from app.ingest.entities.linking import Mention, find_match, link_mentions, same_name_variant
from app.ingest.entities.names import AliasRow, AliasTable


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
        # One typo in each of two words: another name.
        ("Bagram Airbase Hospital", "Bagram Airbose Hospitel", False),
    ],
)
def test_a_typo_in_a_long_word_of_a_name(first: str, second: str, same: bool) -> None:
    assert same_name_variant(first, second, "location") is same


def test_a_curated_person_gets_the_curated_name() -> None:
    curated = AliasTable([AliasRow("Vova", "Vladimir Putin", "person")])
    [entity] = link_mentions([Mention("Vova", "person")], curated)
    assert (entity.name, entity.type) == ("Vladimir Putin", "person")


def test_forms_are_kept_as_written_without_stray_quotes() -> None:
    [entity] = link_mentions([Mention('"Taliban"', "organization")], AliasTable())
    assert entity.forms == {"Taliban": 1}


def test_the_type_of_an_entity_is_the_one_its_body_mentions_have() -> None:
    # A headline mention typed differently does not outvote the body.
    mentions = [Mention("Kabul", "organization", in_title=True), Mention("Kabul", "location")]
    [entity] = link_mentions(mentions, AliasTable())
    assert entity.type == "location"


def test_a_nationality_named_by_ner_joins_the_bare_name() -> None:
    # "Pashtun" is no demonym by its ending; NER's NORP label says it is one.
    mentions = [
        Mention("Pashtun", "other", label="NORP"),
        Mention("Pashtun Taliban", "organization"),
        Mention("Taliban", "organization"),
        Mention("Taliban", "organization"),
    ]
    entities = {entity.name: entity for entity in link_mentions(mentions, AliasTable())}
    assert "Pashtun Taliban" not in entities
    assert entities["Taliban"].mentions == 3


def test_an_acronym_is_never_matched_fuzzily() -> None:
    assert same_name_variant("SYRIA", "Siria", "location")
    assert find_match("SYRIA", "location", [(1, "Siria", "location")]) is None


def test_the_variant_is_found_among_many_closer_names() -> None:
    # Five names closer as strings (one more word each) outscore the one-letter typo in the
    # pre-check, and none is the same name; the typo still wins. (A transliteration can not
    # show this: its folded key is the name's own, the best score there is.)
    others = [f"Helmandia Provincial Council {n}" for n in range(1, 6)]
    candidates = [
        (n, name, "organization")
        for n, name in enumerate([*others, "Helmandia Provincial Counsil"])
    ]
    assert find_match("Helmandia Provincial Council", "organization", candidates) == 5


def entity_names(mentions: list[Mention]) -> dict[str, int]:
    return {entity.name: entity.mentions for entity in link_mentions(mentions, AliasTable())}


def test_only_a_nationality_prefix_joins_the_bare_name() -> None:
    # Groups that cannot merge come first (no bare name, a bare name that is a place, a
    # head that is no nationality): each is passed over, and the later one still merges.
    mentions = [
        Mention("Kabul", "location"),
        Mention("Afghan Kabul", "organization"),
        Mention("Islamic Taliban", "organization"),
        Mention("Afghan Taliban", "organization"),
        Mention("Taliban", "organization"),
        Mention("Taliban", "organization"),
    ]
    names = entity_names(mentions)
    assert names["Taliban"] == 3
    assert names["Islamic Taliban"] == 1
    assert "Afghan Taliban" not in names


def test_the_nationality_is_the_first_word_of_a_longer_name() -> None:
    mentions = [
        Mention("Afghan Taliban Movement", "organization"),
        Mention("Taliban Movement", "organization"),
        Mention("Taliban Movement", "organization"),
    ]
    assert entity_names(mentions) == {"Taliban Movement": 3}


def test_a_surname_typed_as_an_organisation_joins_the_full_name() -> None:
    mentions = [Mention("Vladimir Putin", "person"), Mention("Putin", "organization")]
    assert entity_names(mentions) == {"Vladimir Putin": 2}


def test_a_two_word_organisation_does_not_join_a_person_it_ends() -> None:
    mentions = [Mention("Abdul Ghani Baradar", "person"), Mention("Ghani Baradar", "organization")]
    assert entity_names(mentions) == {"Abdul Ghani Baradar": 1, "Ghani Baradar": 1}
