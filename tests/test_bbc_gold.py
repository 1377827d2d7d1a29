"""Entities on news text no one here tuned for: BBC articles annotated by hand
(tests/data/bbc_gold.json, which names the corpus files; the texts stay in the corpus), scored
per document as unique entities, beside bare spaCy on the same text."""

from __future__ import annotations

import importlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.config import PROJECT_ROOT
from app.ingest.document import ArticleDraft
from app.ingest.entities.names import name_key
from app.ingest.entities.recognition import ENTITY_TYPES, MODEL_PACKAGE, EntityRecognizer
from app.ingest.entities.segments import article_segments
from app.ingest.read.readers import read_path
from tests.helpers import bbc_corpus_path

GOLD: dict[str, Any] = json.loads(
    (PROJECT_ROOT / "tests" / "data" / "bbc_gold.json").read_text(encoding="utf-8")
)
TYPES = ("person", "organization", "location")
# Floors a change must not fall below (the figures when the gold was made, less a margin).
MIN_F1 = {"person": 0.89, "organization": 0.60, "location": 0.78, "all": 0.79}
MIN_PROSE_F1 = 0.78
MIN_LINKED_FORMS = 0.92
# A document is a table rather than prose when at least this share of its body lines are rows
# of names and numbers or lists of names (line-ups, results), as segments.py reads them.
TABLE_SHARE = 0.2

# (canonical name or form as written, type): what a system says one document names.
Found = list[tuple[set[str], str]]


@dataclass
class Score:
    """Per-type counts of found, listed and matched entities, and of linked gold forms."""

    found: Counter[str] = field(default_factory=Counter)
    listed: Counter[str] = field(default_factory=Counter)
    matched: Counter[str] = field(default_factory=Counter)
    forms: int = 0
    forms_linked: int = 0

    def f1(self, entity_type: str) -> tuple[float, float, float]:
        """Precision, recall and F1 of one type, or of all ("all")."""
        types = TYPES if entity_type == "all" else (entity_type,)
        found = sum(self.found[t] for t in types)
        listed = sum(self.listed[t] for t in types)
        matched = sum(self.matched[t] for t in types)
        precision = matched / found if found else 0.0
        recall = matched / listed if listed else 0.0
        total = precision + recall
        return precision, recall, (2 * precision * recall / total if total else 0.0)

    def line(self, label: str) -> str:
        cells = []
        for entity_type in (*TYPES, "all"):
            p, r, f = self.f1(entity_type)
            cells.append(f"{entity_type} P {p:.3f} R {r:.3f} F1 {f:.3f}")
        return f"{label:>10}: " + " | ".join(cells)


def score_document(score: Score, gold: list[dict[str, Any]], found: Found) -> None:
    """Count one document: a found entity matches a gold one of its type when one of its
    names or forms is the gold name or one of the gold forms (after name_key)."""
    found = [(keys, t) for keys, t in found if t in TYPES]
    used: set[int] = set()
    for listed in gold:
        score.listed[listed["type"]] += 1
        wanted = {name_key(listed["name"]), *(name_key(f) for f in listed["forms"])}
        hit = next(
            (
                index
                for index, (keys, entity_type) in enumerate(found)
                if index not in used and entity_type == listed["type"] and keys & wanted
            ),
            None,
        )
        if hit is None:
            continue
        used.add(hit)
        score.matched[listed["type"]] += 1
        score.forms += len(listed["forms"])
        score.forms_linked += sum(name_key(f) in found[hit][0] for f in listed["forms"])
    for _, entity_type in found:
        score.found[entity_type] += 1


def bare_spacy(texts: Iterable[str]) -> list[Found]:
    """en_core_web_sm as it comes: one entity per distinct (text, type) in each document."""
    nlp = importlib.import_module(MODEL_PACKAGE).load()
    results = []
    for doc in nlp.pipe(texts):
        unique = {(name_key(e.text), ENTITY_TYPES.get(e.label_, "")) for e in doc.ents}
        results.append([({key}, entity_type) for key, entity_type in unique if entity_type])
    return results


def is_table_document(body: str) -> bool:
    """True for a document that is mostly tables of scores and line-ups, not prose."""
    lines = article_segments(None, body)
    tables = sum(line.table_row or line.lineup for line in lines)
    return bool(lines) and tables / len(lines) >= TABLE_SHARE


@pytest.fixture(scope="module")
def articles() -> dict[str, tuple[str | None, str]]:
    corpus = bbc_corpus_path()
    if corpus is None:
        pytest.skip("the BBC corpus is absent: set NEWSDESK_BBC_CORPUS or put it in ../shared")
    read = {}
    for name in GOLD["articles"]:
        [draft] = read_path(corpus / name, root=corpus)
        assert isinstance(draft, ArticleDraft), draft
        read[name] = (draft.title, draft.body)
    return read


def test_entities_on_hand_annotated_bbc_articles(
    articles: dict[str, tuple[str | None, str]],
) -> None:
    ours, bare, prose, bare_prose = Score(), Score(), Score(), Score()
    recognized = EntityRecognizer().recognize(list(articles.values()))
    # Bare spaCy reads the title and body as one text, as a caller without Newsdesk would.
    plain = bare_spacy(f"{title or ''}\n\n{body}" for title, body in articles.values())
    for name, entities, baseline in zip(articles, recognized, plain, strict=True):
        gold = GOLD["articles"][name]["entities"]
        found = [({name_key(e.name), *(name_key(f) for f in e.forms)}, e.type) for e in entities]
        score_document(ours, gold, found)
        score_document(bare, gold, baseline)
        if not is_table_document(articles[name][1]):
            score_document(prose, gold, found)
            score_document(bare_prose, gold, baseline)
    linked = ours.forms_linked / ours.forms
    tables = sum(is_table_document(body) for _, body in articles.values())
    print(f"\nBBC gold, {len(articles)} articles, {sum(ours.listed.values())} entities")
    print(ours.line("newsdesk"))
    print(bare.line("bare spaCy"))
    print(f"prose only ({len(articles) - tables} articles; {tables} are tables of scores):")
    print(prose.line("newsdesk"))
    print(bare_prose.line("bare spaCy"))
    print(f"linked forms: {ours.forms_linked}/{ours.forms} = {linked:.3f}")
    for entity_type, floor in MIN_F1.items():
        assert ours.f1(entity_type)[2] >= floor, (entity_type, ours.line("newsdesk"))
    assert prose.f1("all")[2] >= MIN_PROSE_F1, prose.line("newsdesk")
    assert ours.f1("all")[2] > bare.f1("all")[2]
    assert prose.f1("all")[2] > bare_prose.f1("all")[2]
    assert linked >= MIN_LINKED_FORMS
