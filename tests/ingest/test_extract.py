"""Extraction from article text: the five seeds against the gold answers, and each rule alone."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.ingest.document import NONE, ArticleDraft, from_text
from app.ingest.extract.plaintext import extract_text_article
from app.ingest.read.readers import read_path

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "data" / "articles"
GOLD = json.loads((REPO / "tests" / "data" / "expected.json").read_text(encoding="utf-8"))[
    "articles"
]
# Answers the gold's notes accept besides its "publisher" value.
ALSO_ACCEPTED_PUBLISHERS = {"002_d783a21d6da850c6.txt": {"TKD"}}


def read_seed_without_sidecar(name: str, tmp_path: Path) -> ArticleDraft:
    """The seed as read from a copy of its .txt alone, so nothing comes from the sidecar."""
    copy = tmp_path / name
    shutil.copyfile(SEEDS / name, copy)
    [draft] = list(read_path(copy))
    assert isinstance(draft, ArticleDraft), draft
    return draft


@pytest.mark.parametrize("name", sorted(GOLD))
def test_seed_matches_gold(name: str, tmp_path: Path) -> None:
    gold = GOLD[name]
    draft = read_seed_without_sidecar(name, tmp_path)

    assert draft.title == gold["title"]
    if "subtitle" in gold:
        assert draft.subtitle == gold["subtitle"]
    if "dateline" in gold:
        assert draft.dateline == gold["dateline"]
    published = draft.published_at.date().isoformat() if draft.published_at else None
    assert published == gold["published"]
    accepted = {gold["publisher"], *ALSO_ACCEPTED_PUBLISHERS.get(name, set())}
    assert draft.publisher in accepted
    assert draft.author == gold["author"]
    assert set(draft.cites) == set(gold["cites"])
    for furniture in gold["not_in_body"]:
        assert furniture not in draft.body
    assert draft.language == "en"
    assert all(draft.provenance[field] != "sidecar" for field in draft.provenance)


def test_seed_provenance_names_the_rule(tmp_path: Path) -> None:
    khorasan = read_seed_without_sidecar("002_d783a21d6da850c6.txt", tmp_path)
    assert khorasan.provenance["published_at"] == from_text("published-line")
    assert khorasan.provenance["author"] == from_text("byline")
    assert khorasan.provenance["title"] == from_text("first-line")
    menafn = read_seed_without_sidecar("004_1713ab11c099b517.txt", tmp_path)
    assert menafn.provenance["published_at"] == from_text("syndication-id")
    assert menafn.provenance["publisher"] == from_text("menafn-credit")
    assert menafn.provenance["url"] == NONE
    assert menafn.lede is not None and menafn.lede.startswith("Russia is currently considering")


def test_seed_with_dateline_lede_has_no_title_and_keeps_its_first_paragraph(tmp_path: Path) -> None:
    draft = read_seed_without_sidecar("001_5855140788810bfc.txt", tmp_path)
    assert draft.lede is not None and draft.lede.startswith("MOSCOW — President Vladimir V. Putin")
    assert draft.provenance["title"] == NONE
    assert draft.provenance["dateline"] == from_text("dateline-opening")


def test_standalone_dateline_line_stays_with_the_lede(tmp_path: Path) -> None:
    draft = read_seed_without_sidecar("003_37e2a97d84c5c249.txt", tmp_path)
    assert draft.lede is not None and draft.lede.startswith("MOSCOW: Russian President")
    assert "Takes Trump’s comments" not in draft.body
    assert draft.body.endswith("now in its third year.")


LEDE = "The council approved the new budget on Monday after a long debate among its members."


def test_lone_date_above_headline_is_not_the_publication_date() -> None:
    draft = extract_text_article(f"March 3, 2025\n\nCouncil passes budget\n\n{LEDE}", "x")
    assert draft.title == "Council passes budget"
    assert draft.published_at is None
    assert "March 3, 2025" not in draft.body


def test_date_line_under_headline_is_a_weak_publication_date() -> None:
    draft = extract_text_article(f"Council passes budget\n\n12 January 2023\n\n{LEDE}", "x")
    assert draft.published_at == datetime(2023, 1, 12, tzinfo=UTC)
    assert draft.provenance["published_at"] == from_text("date-line")


def test_published_line_wins_over_date_line() -> None:
    text = f"Council passes budget\n\n12 January 2023\n\nPosted: 2023-01-10 14:30\n\n{LEDE}"
    draft = extract_text_article(text, "x")
    assert draft.published_at == datetime(2023, 1, 10, 14, 30, tzinfo=UTC)
    assert draft.provenance["published_at"] == from_text("published-line")


def test_weekday_words_never_become_dates() -> None:
    draft = extract_text_article(f"Council passes budget\n\nThursday\n\n{LEDE}", "x")
    assert draft.published_at is None


def test_long_first_sentence_is_a_lede_not_a_headline() -> None:
    draft = extract_text_article(f"{LEDE}\n\nA second paragraph follows here.", "x")
    assert draft.title is None
    assert draft.lede == LEDE


def test_headline_ending_in_ellipsis_is_still_a_headline() -> None:
    draft = extract_text_article(f"My memories of the old town...\n\n{LEDE}", "x")
    assert draft.title == "My memories of the old town..."


def test_furniture_words_inside_sentences_are_kept() -> None:
    sentence = 'The button said "Load Next Story" but nothing happened, users said.'
    text = (
        f"Site redesign confuses readers\n\nLoad Next Story\n\n{LEDE}\n\n{sentence}\n\n"
        "Advertisement"
    )
    draft = extract_text_article(text, "x")
    assert draft.body == f"{LEDE}\n\n{sentence}"


def test_caption_repeating_headline_is_dropped() -> None:
    text = f"Floods hit the valley\n\nFloods hit the valley photo\n\n{LEDE}"
    assert extract_text_article(text, "x").body == LEDE


def test_copyright_line_names_publisher_and_leaves_body() -> None:
    text = f"Council passes budget\n\n{LEDE}\n\n© 2024 Valley Gazette. All rights reserved."
    draft = extract_text_article(text, "x")
    assert draft.publisher == "Valley Gazette"
    assert draft.provenance["publisher"] == from_text("copyright-line")
    assert draft.body == LEDE


def test_disclaimer_and_trailing_publisher_name_are_dropped() -> None:
    text = (
        f"Council passes budget\n\n(MENAFN- Valley Gazette) {LEDE}\n\nMore text here.\n\n"
        "Valley Gazette\n\nLegal Disclaimer:\nThe provider gives no warranty of any kind."
    )
    draft = extract_text_article(text, "x")
    assert draft.publisher == "Valley Gazette"
    assert draft.body == f"{LEDE}\n\nMore text here."


def test_byline_of_a_person_is_an_author_not_a_publisher() -> None:
    draft = extract_text_article(f"Council passes budget\n\nBy Jane Smith\n\n{LEDE}", "x")
    assert draft.author == "Jane Smith"
    assert draft.publisher is None


def test_wire_dateline_gives_place_and_cited_agency() -> None:
    draft = extract_text_article(f"KYIV, Ukraine (AP) — {LEDE}\n\nMore.", "x")
    assert draft.dateline == "KYIV"
    assert draft.cites == ["AP"]


def test_agency_named_without_citing_it_is_not_a_cite() -> None:
    draft = extract_text_article(f"Agency history\n\nTASS was founded long ago. {LEDE}", "x")
    assert draft.cites == []


def test_hard_wrapped_paragraphs_are_joined() -> None:
    text = "Council passes budget\n\nThe council approved the budget\non Monday after a debate.\n"
    assert extract_text_article(text, "x").body == (
        "The council approved the budget on Monday after a debate."
    )


def test_language_is_detected() -> None:
    text = (
        "Le conseil adopte le budget\n\nLe conseil municipal a adopté lundi le nouveau budget "
        "après un long débat entre ses membres, a annoncé la mairie."
    )
    draft = extract_text_article(text, "x")
    assert draft.language == "fr"
    assert draft.provenance["language"] == from_text("langid")
