"""A deterministic benchmark corpus: the real BBC articles recombined to any size, as JSONL.

Each generated article takes its headline and opening paragraphs from one BBC article and
the rest from other articles of the same category; its entities are those recognised in
the paragraphs it is made of (real NER, run once on the 2,225 originals and cached under
benchmarks/results/). Sources follow a Zipf law over 50 outlets, dates spread over ten
years. The same seed and size always give the same bytes.

Run: .venv/bin/python benchmarks/generate.py SIZE [--seed 8] [--out FILE] [--no-ner]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
ENTITY_CACHE = RESULTS / "bbc_entities.json"
OUTLETS = 50
FIRST_DAY = datetime(2015, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 10 * 365 * 24 * 3600
_TOWNS = [
    "Amber",
    "Bay",
    "Cedar",
    "Dale",
    "Elm",
    "Fair",
    "Glen",
    "Harbor",
    "Iron",
    "Juniper",
    "Kings",
    "Lake",
    "Mill",
    "North",
    "Oak",
    "Port",
    "Queens",
    "River",
    "Stone",
    "Tide",
    "Union",
    "Vale",
    "West",
    "York",
    "Zenith",
]
_KINDS = ("Times", "Herald", "Post", "Gazette", "Chronicle", "Courier", "Tribune", "Observer")

# (name, type, mentions, forms) for one paragraph
ParagraphEntity = tuple[str, str, int, tuple[str, ...]]


@dataclass
class Source:
    category: str
    title: str
    paragraphs: list[int]


@dataclass
class Corpus:
    """The BBC articles as paragraphs, with the entities each paragraph mentions."""

    articles: list[Source] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    entities: list[list[ParagraphEntity]] = field(default_factory=list)
    by_category: dict[str, list[int]] = field(default_factory=dict)


def corpus_path() -> Path:
    configured = os.environ.get("NEWSDESK_BBC_CORPUS")
    path = Path(configured) if configured else ROOT.parent / "shared" / "corpus" / "bbc"
    if not path.is_dir():
        sys.exit(f"BBC corpus not found at {path}: set NEWSDESK_BBC_CORPUS")
    return path


def read_bbc(path: Path) -> list[tuple[str, str, list[str]]]:
    """(category, headline, paragraphs) of every BBC article, in a stable order."""
    articles = []
    for file in sorted(path.glob("*/*.txt")):
        title, _, body = file.read_text(encoding="utf-8", errors="replace").partition("\n")
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
        if paragraphs:
            articles.append((file.parent.name, title.strip(), paragraphs))
    return articles


def recognise_paragraph_entities(articles: list[tuple[str, str, list[str]]]) -> list[list]:
    """Real NER on whole articles; each entity goes to the paragraphs its forms occur in."""
    sys.path.insert(0, str(ROOT))
    from app.ingest.entities.recognition import EntityRecognizer

    recognizer = EntityRecognizer()
    found = recognizer.recognize([(t, "\n\n".join(ps)) for _, t, ps in articles])
    result = []
    for (_, _, paragraphs), entities in zip(articles, found, strict=True):
        per_paragraph = []
        for text in paragraphs:
            here = []
            for entity in entities:
                forms = {form: text.count(form) for form in entity.forms}
                mentions = sum(forms.values())
                if mentions:
                    used = sorted(form for form, count in forms.items() if count)
                    here.append([entity.name, entity.type, mentions, used])
            per_paragraph.append(here)
        result.append(per_paragraph)
    return result


def load_corpus(path: Path, ner: bool = True) -> Corpus:
    """The BBC corpus with paragraph entities (from the cache, computing it once if needed)."""
    articles = read_bbc(path)
    entities: list[list] = [[[] for _ in ps] for _, _, ps in articles]
    if ner:
        if not ENTITY_CACHE.is_file():
            RESULTS.mkdir(parents=True, exist_ok=True)
            print(f"recognising entities in {len(articles)} BBC articles (once)...", flush=True)
            ENTITY_CACHE.write_text(json.dumps(recognise_paragraph_entities(articles)))
        entities = json.loads(ENTITY_CACHE.read_text())
    corpus = Corpus()
    for (category, title, paragraphs), paragraph_entities in zip(articles, entities, strict=True):
        first = len(corpus.paragraphs)
        corpus.paragraphs += paragraphs
        corpus.entities += [[(n, t, m, tuple(f)) for n, t, m, f in p] for p in paragraph_entities]
        indices = list(range(first, len(corpus.paragraphs)))
        corpus.by_category.setdefault(category, []).extend(indices)
        corpus.articles.append(Source(category, title, indices))
    return corpus


def outlets() -> list[tuple[str, str]]:
    """(name, domain) of the 50 outlets, most prolific first."""
    names = [f"{_TOWNS[i % len(_TOWNS)]} {_KINDS[i % len(_KINDS)]}" for i in range(OUTLETS)]
    return [(name, name.lower().replace(" ", "") + ".example") for name in names]


def generate(corpus: Corpus, size: int, seed: int) -> Iterator[dict]:
    """`size` distinct articles, the same ones for the same corpus, size and seed."""
    rng = random.Random(seed)
    sources = outlets()
    weights = [1 / rank for rank in range(1, OUTLETS + 1)]  # Zipf, s = 1
    cumulative = [sum(weights[: i + 1]) for i in range(OUTLETS)]
    seen: set[tuple[int, ...]] = set()
    number = 0
    while number < size:
        base_index = rng.randrange(len(corpus.articles))
        base = corpus.articles[base_index]
        pool = corpus.by_category[base.category]
        keep = rng.randint(1, min(3, len(base.paragraphs)))
        picked = base.paragraphs[:keep] + [rng.choice(pool) for _ in range(rng.randint(2, 6))]
        identity = (base_index, *picked)
        if identity in seen:
            continue
        seen.add(identity)
        number += 1
        name, domain = sources[rng.choices(range(OUTLETS), cum_weights=cumulative)[0]]
        published = FIRST_DAY + timedelta(seconds=rng.randrange(SPAN_SECONDS))
        yield {
            "title": base.title,
            "body": "\n\n".join(corpus.paragraphs[i] for i in picked),
            "url": f"https://{domain}/{published:%Y/%m/%d}/{base.category}-{number}",
            "source": name,
            "published": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "language": "en",
            "tags": [base.category],
            "entities": merged_entities(corpus, picked),
        }


def merged_entities(corpus: Corpus, paragraphs: list[int]) -> list[dict]:
    merged: dict[tuple[str, str], dict] = {}
    for index in paragraphs:
        for name, kind, mentions, forms in corpus.entities[index]:
            entry = merged.setdefault(
                (name, kind), {"name": name, "type": kind, "mentions": 0, "forms": set()}
            )
            entry["mentions"] += mentions
            entry["forms"].update(forms)
    return [{**e, "forms": sorted(e["forms"])} for e in merged.values()]


def write_jsonl(corpus: Corpus, size: int, seed: int, out: Path) -> Path:
    """Write the corpus to `out` (atomically: a half-written file never looks finished)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial")
    with partial.open("wb") as file:
        for article in generate(corpus, size, seed):
            file.write(orjson.dumps(article) + b"\n")
    partial.replace(out)
    return out


def corpus_file(size: int, seed: int, ner: bool = True) -> Path:
    return RESULTS / f"corpus-{size}-seed{seed}{'' if ner else '-noner'}.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", type=int)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--no-ner", action="store_true", help="Generate without entities.")
    args = parser.parse_args()
    out = args.out or corpus_file(args.size, args.seed, not args.no_ner)
    if out.exists():
        print(f"{out} exists")
        return
    corpus = load_corpus(corpus_path(), ner=not args.no_ner)
    print(write_jsonl(corpus, args.size, args.seed, out))


if __name__ == "__main__":
    main()
