"""Named-entity recognition with the real spaCy model, scored against the seed gold."""

from __future__ import annotations

import importlib
import json
from itertools import islice
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.config import PROJECT_ROOT
from app.ingest.document import ArticleDraft
from app.ingest.entities.names import AliasTable, canonical_name, load_alias_file, name_key
from app.ingest.entities.recognition import MODEL_PACKAGE, EntityRecognizer, FoundEntity
from app.ingest.read.readers import read_path
from app.models import ArticleEntity, EntityAlias
from tests.helpers import bbc_corpus_path

GOLD = json.loads((PROJECT_ROOT / "tests" / "data" / "expected.json").read_text(encoding="utf-8"))
SEEDS = PROJECT_ROOT / "data" / "articles"
TYPES = ("person", "organization", "location", "other")
Article = tuple[str | None, str]


@pytest.fixture(scope="module")
def curated() -> AliasTable:
    return AliasTable(load_alias_file(PROJECT_ROOT / "data" / "aliases.csv"))


@pytest.fixture(scope="module")
def recognizer(curated: AliasTable) -> EntityRecognizer:
    return EntityRecognizer(curated)


@pytest.fixture(scope="module")
def seed_articles() -> dict[str, Article]:
    """(title, body) of each seed as ingest reads it: app.ingest's reader and extractor."""
    articles = {}
    for name in GOLD["articles"]:
        [draft] = read_path(SEEDS / name, root=SEEDS)
        assert isinstance(draft, ArticleDraft), draft
        articles[name] = (draft.title, draft.body)
    return articles


@pytest.fixture(scope="module")
def seed_entities(
    recognizer: EntityRecognizer, seed_articles: dict[str, Article]
) -> dict[str, list[FoundEntity]]:
    found = recognizer.recognize(list(seed_articles.values()), batch_size=8)
    return dict(zip(seed_articles, found, strict=True))


def _form_keys(entity: FoundEntity) -> set[str]:
    """Keys of everything written for an entity, compared after canonical_name."""
    keys = set()
    for form in (entity.name, *entity.forms, *entity.aliases):
        keys.add(name_key(form))
        keys.add(name_key(canonical_name(form, entity.type) or form))
    return keys


def _finds_listed(entities: list[FoundEntity], listed: dict[str, Any]) -> bool:
    """Listed entity found: same name and type, and every listed form linked to it."""
    for entity in entities:
        if entity.name == listed["name"] and entity.type == listed["type"]:
            wanted = {name_key(canonical_name(f, entity.type) or f) for f in listed["forms"]}
            return wanted <= _form_keys(entity)
    return False


def test_ner_runs_without_components_it_does_not_need(recognizer: EntityRecognizer) -> None:
    assert recognizer.nlp.pipe_names == ["ner"]


def test_ner_alone_finds_what_the_full_pipeline_finds_on_the_seeds(
    recognizer: EntityRecognizer, seed_articles: dict[str, Article]
) -> None:
    full = importlib.import_module(MODEL_PACKAGE).load()
    lines = [
        line.strip()
        for title, body in seed_articles.values()
        for line in [title or "", *body.splitlines()]
        if line.strip()
    ]
    spans = [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in full.pipe(lines)]
    lean = [
        [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        for doc in recognizer.nlp.pipe(lines)
    ]
    assert lean == spans


def test_gold_recall_and_precision(seed_entities: dict[str, list[FoundEntity]]) -> None:
    listed = found = matched = 0
    missing = []
    for name, gold in GOLD["articles"].items():
        entities = seed_entities[name]
        for wanted in gold["entities"]:
            listed += 1
            if _finds_listed(entities, wanted):
                found += 1
            else:
                missing.append(f"{name}: {wanted['name']} ({wanted['type']})")
        gold_names = {(g["name"], g["type"]) for g in gold["entities"]}
        matched += sum((e.name, e.type) in gold_names for e in entities)
    total = sum(len(entities) for entities in seed_entities.values())
    named = sum(e.type != "other" for entities in seed_entities.values() for e in entities)
    recall = found / listed
    print(
        f"\ngold recall {found}/{listed} = {recall:.1%}; precision {matched}/{total} = "
        f"{matched / total:.1%} ({matched}/{named} = {matched / named:.1%} without type 'other')"
    )
    print("missing:", missing)
    assert recall >= 0.95, missing


def test_no_not_entities(seed_entities: dict[str, list[FoundEntity]]) -> None:
    for name, gold in GOLD["articles"].items():
        forbidden = {name_key(junk) for junk in gold["not_entities"]}
        for entity in seed_entities[name]:
            assert not forbidden & _form_keys(entity), (name, entity)
            assert not any("\n" in form for form in entity.forms), entity


def linked_entities(engine: Engine, form: str) -> set[int]:
    """The stored entities, linked to a seed, that a form names (under any type's canonical
    spelling of it, or as a curated alias from aliases.csv)."""
    keys = {name_key(form)} | {name_key(canonical_name(form, t) or form) for t in TYPES}
    linked = select(ArticleEntity.entity_id)
    with Session(engine) as session:
        found = session.exec(
            select(EntityAlias.entity_id).where(
                col(EntityAlias.key).in_(keys), col(EntityAlias.entity_id).in_(linked)
            )
        )
        return set(found.all())


def test_same_entity_groups_end_up_one_id(engine: Engine) -> None:
    """The seeds as `newsdesk ingest` stored them (real NER, linking and store, per backend):
    every form of a gold group names one and the same entity."""
    for group in GOLD["same_entity"]:
        ids: set[int] = set()
        for form in group:
            form_ids = linked_entities(engine, form)
            assert form_ids, f"{form!r} of {group} is not linked to any entity"
            ids |= form_ids
        assert len(ids) == 1, (group, ids)


def test_title_entities_only_confirm_body_entities(recognizer: EntityRecognizer) -> None:
    [entities] = recognizer.recognize(
        [("Putin Wants To Get Closer To The Taliban", "The Taliban met officials in Kabul.")]
    )
    names = {e.name: e for e in entities}
    assert "Putin Wants" not in names
    assert names["Taliban"].mentions == 2


def test_no_entity_spans_a_line_break(recognizer: EntityRecognizer) -> None:
    [entities] = recognizer.recognize([(None, "By | TKD Team\n\nRussia Moves to Act\nToday")])
    for entity in entities:
        assert all("\n" not in form for form in entity.forms)
        assert "Team" not in entity.name


def test_acronym_defined_in_the_text_counts_its_standalone_uses() -> None:
    plain = EntityRecognizer(AliasTable())  # nothing curated: the definition alone links them
    body = (
        "Leaders of the Eurasian Economic Union (EAEU) met in Minsk on Friday.\n"
        "Officials said the EAEU would admit new members. EAEU trade rose."
    )
    [entities] = plain.recognize([(None, body)])
    [union] = [e for e in entities if e.name == "Eurasian Economic Union"]
    assert union.aliases == {"EAEU"}
    assert union.forms["EAEU"] == 3
    assert union.mentions == 4


def test_a_lower_case_phrase_with_an_acronym_is_no_entity(recognizer: EntityRecognizer) -> None:
    [entities] = recognizer.recognize([(None, "The gross domestic product (GDP) grew 2%.")])
    assert not any("gross domestic product" in e.name.lower() for e in entities)


def test_batches_keep_each_article_apart(
    recognizer: EntityRecognizer, seed_articles: dict[str, Article]
) -> None:
    articles = list(seed_articles.values())
    together = recognizer.recognize(articles, batch_size=3)
    alone = [recognizer.recognize([article], batch_size=1)[0] for article in articles]
    assert together == alone


@pytest.mark.corpus
@pytest.mark.slow
def test_bbc_entities_are_well_formed(recognizer: EntityRecognizer) -> None:
    corpus = bbc_corpus_path()
    if corpus is None:
        pytest.skip("BBC corpus not found: set NEWSDESK_BBC_CORPUS or put it at ../shared/corpus")
    files = islice(sorted(corpus.glob("*/*.txt")), 0, None, 25)
    articles: list[Article] = []
    for path in files:
        title, _, body = path.read_text(encoding="utf-8", errors="replace").partition("\n")
        articles.append((title, body))
    for entities in recognizer.recognize(articles):
        for entity in entities:
            assert entity.type in TYPES
            assert canonical_name(entity.name, entity.type) == entity.name, entity
            assert entity.mentions == sum(entity.forms.values()) > 0
            assert all("\n" not in form for form in entity.forms)


def test_recognition_leaves_the_vocabulary_as_it_was(recognizer: EntityRecognizer) -> None:
    """A long-running collector or ingest must not keep each article's new words: the model's
    strings are the same after a text of unseen words, and the names found outlive the docs."""
    text = "Zorblaxia Quentiverse met Drimbleton Ostrakova of the Vrelmontic Trust on Tuesday."
    strings = recognizer.nlp.vocab.strings
    before = len(strings)
    [found] = recognizer.recognize([(None, text)])
    assert len(strings) == before
    assert "Quentiverse" not in strings
    names = {entity.name for entity in found}
    assert any("Quentiverse" in name for name in names), names
