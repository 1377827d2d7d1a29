"""The benchmark corpus generator: one seed, one corpus; real BBC text, skewed metadata."""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
import generate


@pytest.fixture(scope="module")
def corpus(bbc_corpus: Path) -> generate.Corpus:
    """The real BBC paragraphs (without NER: entities come from a cache the harness builds)."""
    return generate.load_corpus(bbc_corpus, ner=False)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes_other_seed_other_corpus(
    corpus: generate.Corpus, tmp_path: Path
) -> None:
    first = generate.write_jsonl(corpus, 300, 8, tmp_path / "a.jsonl")
    again = generate.write_jsonl(corpus, 300, 8, tmp_path / "b.jsonl")
    other = generate.write_jsonl(corpus, 300, 9, tmp_path / "c.jsonl")
    assert digest(first) == digest(again)
    assert digest(first) != digest(other)
    assert len(first.read_text().splitlines()) == 300


def test_articles_are_distinct_real_text_with_skewed_sources_over_ten_years(
    corpus: generate.Corpus,
) -> None:
    articles = list(generate.generate(corpus, 2000, seed=8))
    assert len({(a["title"], a["body"]) for a in articles}) == 2000
    assert len({a["url"] for a in articles}) == 2000
    paragraphs = set(corpus.paragraphs)
    assert all(p in paragraphs for a in articles[:50] for p in a["body"].split("\n\n"))
    counts = Counter(a["source"] for a in articles).most_common()
    assert counts[0][1] > 5 * counts[-1][1]  # Zipf: the top outlet far ahead of the tail
    assert len(counts) > 40
    years = {datetime.fromisoformat(a["published"]).year for a in articles}
    assert years == set(range(2015, 2025))
    assert {a["tags"][0] for a in articles} == {
        "business",
        "entertainment",
        "politics",
        "sport",
        "tech",
    }


def test_paragraph_entities_follow_their_paragraphs() -> None:
    corpus = generate.Corpus(
        paragraphs=["Blair spoke.", "Blair met Brown.", "Rain fell."],
        entities=[
            [("Tony Blair", "person", 1, ("Blair",))],
            [("Tony Blair", "person", 1, ("Blair",)), ("Gordon Brown", "person", 1, ("Brown",))],
            [],
        ],
    )
    merged = generate.merged_entities(corpus, [0, 1, 2])
    assert merged == [
        {"name": "Tony Blair", "type": "person", "mentions": 2, "forms": ["Blair"]},
        {"name": "Gordon Brown", "type": "person", "mentions": 1, "forms": ["Brown"]},
    ]
