"""Articles per second of EntityRecognizer.recognize() and of `newsdesk ingest` (one process,
then with worker processes) against bare spaCy, on the same BBC texts.

Run: .venv/bin/python benchmarks/ner_overhead.py [ARTICLES] [--workers N] [--no-ingest]
(default 300 articles spread over the folders, N = the cores). The corpus comes from
NEWSDESK_BBC_CORPUS or ../shared/corpus/bbc beside the repository. Each ingest is the real
command on a fresh SQLite database with the search index, timed from start to exit, model
loading included; its CPU time is its own and its workers'.
"""

from __future__ import annotations

import argparse
import importlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.ingest.entities.names import AliasTable, load_alias_file  # noqa: E402
from app.ingest.entities.recognition import MODEL_PACKAGE, EntityRecognizer  # noqa: E402
from app.ingest.workers import available_cores  # noqa: E402


def corpus_files(count: int) -> list[Path]:
    """The first files of each BBC folder."""
    configured = os.environ.get("NEWSDESK_BBC_CORPUS")
    corpus = Path(configured) if configured else ROOT.parent / "shared" / "corpus" / "bbc"
    if not corpus.is_dir():
        sys.exit(f"BBC corpus not found at {corpus}: set NEWSDESK_BBC_CORPUS")
    folders = sorted(p for p in corpus.iterdir() if p.is_dir())
    per_folder = -(-count // len(folders))
    files = [path for folder in folders for path in sorted(folder.glob("*.txt"))[:per_folder]]
    return files[:count]


def corpus_articles(files: list[Path]) -> list[tuple[str, str]]:
    """Each file as a (headline, body) pair."""
    articles = []
    for path in files:
        title, _, body = path.read_text(encoding="utf-8", errors="replace").partition("\n")
        articles.append((title.strip(), body.strip()))
    return articles


def rate(label: str, count: int, run: Callable[[], object]) -> float:
    """Time one run (after a short warm-up elsewhere) and print articles per second."""
    started = time.perf_counter()
    run()
    per_second = count / (time.perf_counter() - started)
    print(f"{label:<48} {per_second:7.1f} articles/s")
    return per_second


def ingest_rate(files: list[Path], workers: int, folder: Path) -> tuple[float, float]:
    """Articles per second and CPU-seconds per article of `newsdesk ingest --workers N` on
    these files, into a fresh database."""
    database = folder / f"ingest-{workers}.db"
    database.unlink(missing_ok=True)
    shutil.rmtree(database.with_suffix(".index"), ignore_errors=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSDESK_")}
    env |= {"DATABASE_URL": f"sqlite:///{database}", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "app.cli", "ingest", "--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [*command, str(folder / "articles")], env=env, cwd=ROOT, check=True, capture_output=True
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return len(files) / seconds, cpu / len(files)


def ingest_rates(files: list[Path], workers: int, bare: float) -> None:
    """`newsdesk ingest` in one process and with workers, against bare NER's rate."""
    with tempfile.TemporaryDirectory(prefix="ner-ingest-") as temporary:
        folder = Path(temporary)
        for path in files:
            target = folder / "articles" / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        rates = {}
        for count in dict.fromkeys((1, workers)):
            rate, cpu = ingest_rate(files, count, folder)
            rates[count] = rate
            label = f"newsdesk ingest --workers {count}"
            print(f"{label:<48} {rate:7.1f} articles/s, {cpu:.3f} CPU-s per article")
    single = rates[1]
    print(f"ingest --workers 1 runs at {single / bare:.2f}x bare NER's rate")
    if workers > 1:
        print(f"{workers} workers: {rates[workers] / single:.2f}x the single-process rate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("articles", type=int, nargs="?", default=300)
    parser.add_argument("--workers", type=int, default=available_cores())
    parser.add_argument("--no-ingest", action="store_true", help="Only recognize() and spaCy.")
    args = parser.parse_args()
    files = corpus_files(args.articles)
    articles = corpus_articles(files)
    texts = [f"{title}\n\n{body}" for title, body in articles]
    full = importlib.import_module(MODEL_PACKAGE).load()
    recognizer = EntityRecognizer(AliasTable(load_alias_file(ROOT / "data" / "aliases.csv")))
    list(full.pipe(texts[:10]))
    recognizer.recognize(articles[:10])
    print(f"{len(articles)} BBC articles, {sum(len(t) for t in texts) / len(texts):.0f} chars each")
    print(f"1-minute load average before: {os.getloadavg()[0]:.1f}")
    bare = rate("bare nlp.pipe(texts), full pipeline", len(texts), lambda: list(full.pipe(texts)))
    ner = rate(
        "bare nlp.pipe(texts), NER only",
        len(texts),
        lambda: list(recognizer.nlp.pipe(texts)),
    )
    if args.workers > 1:
        rate(
            f"bare nlp.pipe(texts, n_process={args.workers}), NER only",
            len(texts),
            lambda: list(recognizer.nlp.pipe(texts, n_process=args.workers)),
        )
    ours = rate(
        "EntityRecognizer.recognize()", len(articles), lambda: recognizer.recognize(articles)
    )
    print(f"recognize() is {ours / bare:.2f}x the full pipeline, {ours / ner:.2f}x bare NER")
    if not args.no_ingest:
        ingest_rates(files, args.workers, ner)
    print(f"1-minute load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
