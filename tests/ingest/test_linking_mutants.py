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


def org(text: str) -> Mention:
    return Mention(text, "organization")


@pytest.mark.parametrize(
    ("long_form", "short_form"),
    [
        ("BNP Paribas", "Paribas"),  # three capitals are initials: the next word shortens it
        ("R.J. Reynolds Tobacco", "Reynolds"),  # so are capitals with dots
        ("Goldman Sachs Group", "Goldman Sachs"),  # a prefix of two words
        # A generic noun may end a prefix that starts with a word that names.
        ("Reserve Bank of Australia", "Reserve Bank"),
    ],
)
def test_the_short_form_after_initials_or_a_prefix_joins(long_form: str, short_form: str) -> None:
    assert entity_names([org(long_form), org(short_form)]) == {long_form: 2}


@pytest.mark.parametrize(
    ("long_form", "other"),
    [
        # Four capitals are an acronym, a name of its own, not initials to skip: "Goddard" is
        # not a short form of "NASA Goddard", nor "Jones" (three letters, not capitals) of
        # "Dow Jones". A person of that name stays a person.
        (org("NASA Goddard"), Mention("Goddard", "person")),
        (org("Dow Jones"), Mention("Jones", "person")),
        # A generic last word makes no short form: "Bank" is not "Bank of America".
        (org("Bank of America"), org("Bank")),
        # Only an organisation is shortened: "Jordan" is not the place "Jordan Valley".
        (Mention("Jordan Valley", "location"), Mention("Jordan", "person")),
    ],
)
def test_what_is_no_short_form_stays_apart(long_form: Mention, other: Mention) -> None:
    assert entity_names([long_form, other]) == {long_form.text: 1, other.text: 1}


def test_a_name_written_with_and_without_a_hyphen_is_shortened_by_its_words() -> None:
    # "Rolls Royce" has two words where "Rolls-Royce" has one: the short form is taken from
    # the spelling with the most words, so "Rolls" joins.
    mentions = [org("Rolls-Royce"), org("Rolls Royce"), org("Rolls")]
    assert entity_names(mentions) == {"Rolls-Royce": 3}


def test_a_word_that_shortens_two_organisations_stays_apart() -> None:
    # "Morgan" shortens both "JP Morgan" and "JP Morgan Chase": shortest names are linked
    # first, so it is left alone before "JP Morgan" joins "JP Morgan Chase".
    mentions = [org("JP Morgan"), org("JP Morgan Chase"), org("Morgan")]
    assert entity_names(mentions) == {"JP Morgan Chase": 2, "Morgan": 1}


def test_every_short_form_is_linked_whatever_is_passed_over_before_it() -> None:
    # A place with no organisation to join, a place that begins one, and a person's full name
    # that begins one are each passed over; the short forms after them still join.
    mentions = [
        Mention("Kabul", "location"),
        Mention("Manchester", "location"),
        org("Manchester United"),
        Mention("Tony Blair", "person"),
        org("Tony Blair Institute"),
        org("Goldman Sachs"),
        org("Goldman Sachs Group"),
        org("Altria"),
        org("Altria Group"),
    ]
    names = entity_names(mentions)
    assert names["Altria Group"] == 2 and "Altria" not in names
    assert names["Goldman Sachs Group"] == 2 and "Goldman Sachs" not in names
    assert names["Tony Blair"] == 1 and names["Manchester"] == 1


def test_a_first_name_joins_the_one_full_name_it_begins() -> None:
    # Passed over first: a place, and a full name that begins otherwise.
    mentions = [
        Mention("Kabul", "location"),
        Mention("David Blunkett", "person"),
        Mention("Tony Blair", "person"),
        Mention("David", "person"),
    ]
    assert entity_names(mentions) == {"Kabul": 1, "David Blunkett": 2, "Tony Blair": 1}


def test_a_first_name_typed_as_a_place_stays_a_place() -> None:
    mentions = [Mention("Jordan Henderson", "person"), Mention("Jordan", "location")]
    entities = {e.name: e.type for e in link_mentions(mentions, AliasTable())}
    assert entities == {"Jordan Henderson": "person", "Jordan": "location"}


def test_an_organisation_is_never_its_own_short_form() -> None:
    # "_" is a word of its own here, so the name's short forms include the name itself: it must
    # stay one entity, not move into itself and vanish.
    mentions = [Mention("Altria _", "organization"), Mention("Altria _", "organization")]
    [entity] = link_mentions(mentions, AliasTable())
    assert len(entity.forms) == 1 and sum(entity.forms.values()) == 2


def test_each_form_says_how_its_mentions_were_found() -> None:
    # The entity page lists every form with the ways it was found (model, gazetteer, ...).
    mentions = [
        Mention("Ofgem", "organization"),
        Mention("Ofgem", "organization", found_by="gazetteer"),
        Mention("OFGEM", "organization", found_by="gazetteer"),
    ]
    [entity] = link_mentions(mentions, AliasTable())
    assert entity.found_by == {"Ofgem": ["gazetteer", "model"], "OFGEM": ["gazetteer"]}


def test_mentions_typed_by_the_words_around_them_decide_the_type() -> None:
    # Two uncued mentions say person; the one the words around it typed says location.
    mentions = [
        Mention("Jordan", "person"),
        Mention("Jordan", "person"),
        Mention("Jordan", "location", cued=True),
    ]
    [entity] = link_mentions(mentions, AliasTable())
    assert entity.type == "location"


def test_a_prefix_ending_in_a_connector_is_no_short_form_however_long() -> None:
    # "Reserve Bank of" names nothing: it stays apart from "Reserve Bank of Australia".
    mentions = [
        Mention("Reserve Bank of Australia", "organization"),
        Mention("Reserve Bank of", "organization"),
    ]
    names = sorted(entity.name for entity in link_mentions(mentions, AliasTable()))
    assert names == ["Reserve Bank of", "Reserve Bank of Australia"]
