"""Articles per second of EntityRecognizer.recognize() against bare spaCy on the BBC corpus.

Run: .venv/bin/python benchmarks/ner_overhead.py [ARTICLES]   (default 300, spread over folders)
The corpus comes from NEWSDESK_BBC_CORPUS or ../shared/corpus/bbc beside the repository.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.ingest.entities.names import AliasTable, load_alias_file  # noqa: E402
from app.ingest.entities.recognition import MODEL_PACKAGE, EntityRecognizer  # noqa: E402


def corpus_articles(count: int) -> list[tuple[str, str]]:
    """The first files of each BBC folder, as (headline, body) pairs."""
    configured = os.environ.get("NEWSDESK_BBC_CORPUS")
    corpus = Path(configured) if configured else ROOT.parent / "shared" / "corpus" / "bbc"
    if not corpus.is_dir():
        sys.exit(f"BBC corpus not found at {corpus}: set NEWSDESK_BBC_CORPUS")
    folders = sorted(p for p in corpus.iterdir() if p.is_dir())
    per_folder = -(-count // len(folders))
    articles = []
    for folder in folders:
        for path in sorted(folder.glob("*.txt"))[:per_folder]:
            title, _, body = path.read_text(encoding="utf-8", errors="replace").partition("\n")
            articles.append((title.strip(), body.strip()))
    return articles[:count]


def rate(label: str, count: int, run: Callable[[], object]) -> float:
    """Time one run (after a short warm-up elsewhere) and print articles per second."""
    started = time.perf_counter()
    run()
    per_second = count / (time.perf_counter() - started)
    print(f"{label:<48} {per_second:7.1f} articles/s")
    return per_second


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    articles = corpus_articles(count)
    texts = [f"{title}\n\n{body}" for title, body in articles]
    full = importlib.import_module(MODEL_PACKAGE).load()
    recognizer = EntityRecognizer(AliasTable(load_alias_file(ROOT / "data" / "aliases.csv")))
    list(full.pipe(texts[:10]))
    recognizer.recognize(articles[:10])
    print(f"{len(articles)} BBC articles, {sum(len(t) for t in texts) / len(texts):.0f} chars each")
    bare = rate("bare nlp.pipe(texts), full pipeline", len(texts), lambda: list(full.pipe(texts)))
    ner = rate(
        "bare nlp.pipe(texts), NER only",
        len(texts),
        lambda: list(recognizer.nlp.pipe(texts)),
    )
    ours = rate(
        "EntityRecognizer.recognize()", len(articles), lambda: recognizer.recognize(articles)
    )
    print(f"recognize() is {ours / bare:.2f}x the full pipeline, {ours / ner:.2f}x bare NER")


if __name__ == "__main__":
    main()
