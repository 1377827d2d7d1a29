"""Linking mentions within an article, and matching entity names across articles."""

from __future__ import annotations

import pytest

from app.ingest.entities.linking import FoundEntity, Mention, find_match, link_mentions
from app.ingest.entities.names import AliasRow, AliasTable

CURATED = AliasTable(
    [
        AliasRow("US", "United States", "location"),
        AliasRow("ISKP", "Islamic State Khorasan", "organization"),
        AliasRow("Jordan", "Jordan", "location"),
    ]
)


@pytest.mark.parametrize(
    ("name", "existing", "entity_type"),
    [
        ("Sergey Shoigu", "Sergei Shoigu", "person"),
        ("Alexey Overchuk", "Alexei Overchuk", "person"),
        ("Aleksey Navalny", "Alexei Navalny", "person"),
        ("Dmitri Medvedev", "Dmitry Medvedev", "person"),
        ("Volodymyr Zelenskyy", "Volodymyr Zelensky", "person"),
        ("VLADIMIR PUTIN", "Vladimir Putin", "person"),
        ("George Bush", "George Bush", "person"),
        ("Collective Security Treaty Organisation", "Collective Security Treaty Organization",
         "organization"),
        ("Ministry of Defence", "Ministry of Defense", "organization"),
        ("Labour Party", "Labor Party", "organization"),
        ("World Trade Centre", "World Trade Center", "location"),
        ("Shanghai Cooperation Organizaton", "Shanghai Cooperation Organisation", "organization"),
        ("São Paulo", "Sao Paulo", "location"),
        ("TASS", "tass", "organization"),
    ],
)  # fmt: skip
def test_find_match_merges_spelling_variants(name: str, existing: str, entity_type: str) -> None:
    candidates = [(1, "Somebody Else", entity_type), (7, existing, entity_type)]
    assert find_match(name, entity_type, candidates) == 7


@pytest.mark.parametrize(
    ("name", "existing"),
    [
        # On the raw forms these score 61.5, 72.7, 60 and 73.7, under the fuzzy pre-check's
        # cutoff: only folding before the pre-check lets them reach the variant check.
        ("Aleksey", "Alexei"),
        ("Maksim", "Maxim"),
        ("Yuriy", "Iurii"),
        ("Aleksey Li", "Alexei Li"),
    ],
)
def test_find_match_folds_transliterations_before_the_fuzzy_pre_check(
    name: str, existing: str
) -> None:
    candidates = [(1, "Somebody Else", "person"), (7, existing, "person")]
    assert find_match(name, "person", candidates) == 7
    assert find_match(existing, "person", [(7, name, "person")]) == 7


def test_find_match_keeps_close_names_that_are_no_transliteration_apart() -> None:
    # Close after folding ("alexandr"/"alexandra" score 96) but two different people.
    candidates = [(1, "Aleksandra Kim", "person"), (2, "Maxime Li", "person")]
    assert find_match("Aleksandr Kim", "person", candidates) is None
    assert find_match("Maksim Li", "person", candidates) is None


@pytest.mark.parametrize(
    ("name", "existing", "entity_type"),
    [
        ("Hunter Biden", "Joe Biden", "person"),
        ("Melania Trump", "Donald Trump", "person"),
        ("Ivanka Trump", "Donald Trump", "person"),
        ("Ivana Trump", "Ivanka Trump", "person"),
        ("Jeb Bush", "George Bush", "person"),
        ("Daniel Craig", "Danielle Craig", "person"),
        ("Frances Stewart", "Francis Stewart", "person"),
        ("Putin", "Vladimir Putin", "person"),
        ("Abdul Baradar", "Abdul Ghani Baradar", "person"),
        ("ISIS", "IS", "organization"),
        ("IS-K", "ISIS-K", "organization"),
        ("UN", "US", "organization"),
        ("G7", "G8", "organization"),
        ("NATO", "NAFTA", "organization"),
        ("Austria", "Australia", "location"),
        ("Iran", "Iraq", "location"),
        ("Niger", "Nigeria", "location"),
        ("Sudan", "South Sudan", "location"),
        ("Gambia", "Zambia", "location"),
        ("Colombia", "Columbia", "location"),
        ("Slovenia", "Slovakia", "location"),
        ("North Korea", "South Korea", "location"),
        ("Iran International", "Iraq International", "organization"),
        ("Apollo 11", "Apollo 13", "other"),
        ("Security Council", "Russian Security Council", "organization"),
    ],
)
def test_find_match_refuses_different_entities(name: str, existing: str, entity_type: str) -> None:
    assert find_match(name, entity_type, [(3, existing, entity_type)]) is None


def test_find_match_never_crosses_types() -> None:
    candidates = [(1, "Georgia", "location"), (2, "Washington", "location")]
    assert find_match("Georgia", "person", candidates) is None
    assert find_match("Washington", "organization", candidates) is None
    assert find_match("Georgia", "location", candidates) == 1


def test_find_match_prefers_the_exact_name() -> None:
    candidates = [(1, "Sergei Shoigu", "person"), (2, "Sergey Shoigu", "person")]
    assert find_match("Sergey Shoigu", "person", candidates) == 2
    assert find_match("Sergei Shoigu", "person", []) is None


def _by_name(entities: list[FoundEntity]) -> dict[str, FoundEntity]:
    return {entity.name: entity for entity in entities}


def test_surname_links_to_the_full_name_in_the_same_article() -> None:
    mentions = [
        Mention("Putin", "person", in_title=True),
        Mention("Russian President Vladimir Putin", "person"),
        Mention("Mr. Putin", "person"),
        Mention("Putin", "organization"),
        Mention("Putin", "person"),
    ]
    [putin] = link_mentions(mentions, CURATED)
    assert (putin.name, putin.type, putin.mentions) == ("Vladimir Putin", "person", 5)
    assert putin.forms == {"Putin": 3, "Russian President Vladimir Putin": 1, "Mr. Putin": 1}


def test_honorific_makes_a_person_whatever_ner_said() -> None:
    mentions = [Mention("Ed Balls", "person"), Mention("Mr Balls", "organization")]
    [balls] = link_mentions(mentions, CURATED)
    assert (balls.name, balls.type, balls.mentions) == ("Ed Balls", "person", 2)


def test_surname_shared_by_two_people_stays_unlinked() -> None:
    mentions = [
        Mention("Joe Biden", "person"),
        Mention("Hunter Biden", "person"),
        Mention("Biden", "person"),
    ]
    assert set(_by_name(link_mentions(mentions, CURATED))) == {"Joe Biden", "Hunter Biden", "Biden"}


def test_partial_names_link_longest_first() -> None:
    mentions = [
        Mention("Abdul Ghani Baradar", "person"),
        Mention("Ghani Baradar", "person"),
        Mention("Baradar", "person"),
    ]
    [baradar] = link_mentions(mentions, CURATED)
    assert baradar.name == "Abdul Ghani Baradar"
    assert baradar.mentions == 3


def test_a_place_is_not_taken_for_a_surname() -> None:
    mentions = [Mention("George Washington", "person"), Mention("Washington", "location")]
    assert set(_by_name(link_mentions(mentions, CURATED))) == {"George Washington", "Washington"}


def test_curated_place_does_not_swallow_a_person() -> None:
    mentions = [Mention("Michael Jordan", "person"), Mention("Jordan", "person")]
    [jordan] = link_mentions(mentions, CURATED)
    assert (jordan.name, jordan.type) == ("Michael Jordan", "person")


def test_title_only_entities_are_dropped_and_title_mentions_count() -> None:
    mentions = [
        Mention("Relations With Taliban", "organization", in_title=True),
        Mention("Taliban", "organization", in_title=True),
        Mention("Taliban", "organization"),
    ]
    [taliban] = link_mentions(mentions, CURATED)
    assert (taliban.name, taliban.mentions) == ("Taliban", 2)


def test_nationality_adjective_links_to_the_bare_organisation() -> None:
    mentions = [
        Mention("Taliban", "organization"),
        Mention("the Taliban", "organization"),
        Mention("the Afghan Taliban", "organization"),
    ]
    [taliban] = link_mentions(mentions, CURATED)
    assert taliban.name == "Taliban"
    assert taliban.forms["the Afghan Taliban"] == 1


def test_nationality_adjective_needs_the_bare_name_to_be_usual() -> None:
    mentions = [
        Mention("Russian Security Council", "organization"),
        Mention("Security Council", "organization"),
    ]
    assert len(link_mentions(mentions, CURATED)) == 2


def test_curated_alias_and_majority_type() -> None:
    mentions = [
        Mention("US", "location"),
        Mention("the United States", "organization"),
        Mention("Kazan", "location"),
        Mention("Kazan", "location"),
        Mention("Kazan", "person"),
    ]
    entities = _by_name(link_mentions(mentions, CURATED))
    assert entities["United States"].type == "location"
    assert entities["United States"].mentions == 2
    assert entities["Kazan"].type == "location"


def test_full_person_name_stays_a_person_against_the_majority() -> None:
    mentions = [Mention("Ashraf Ghani", "organization")] * 2 + [Mention("Ashraf Ghani", "person")]
    [ghani] = link_mentions(mentions, CURATED)
    assert ghani.type == "person"


def test_defined_acronym_is_an_alias() -> None:
    name = "Islamic State Khorasan"
    mentions = [
        Mention("Islamic State Khorasan", "organization", name=name),
        Mention("IS-K", "organization", name=name, acronym=True),
        Mention("IS-K", "organization", name=name, acronym=True),
    ]
    [isk] = link_mentions(mentions, CURATED)
    assert (isk.name, isk.mentions, isk.aliases) == (name, 3, {"IS-K"})
