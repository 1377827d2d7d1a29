"""Articles per second of EntityRecognizer.recognize() and of `newsdesk ingest` (one process,
then with worker processes) against bare spaCy, on the same BBC texts.

Run: .venv/bin/python benchmarks/ner_overhead.py [ARTICLES] [--workers N] [--runs R]
[--no-ingest] [--json PATH] (default 300 articles spread over the folders, N = the cores, the
best of R = 3 timings of each; PATH: the figures for report.py, as benchmarks/run.py writes
benchmarks/results/ner_ingest.json). The corpus comes from
NEWSDESK_BBC_CORPUS or ../shared/corpus/bbc beside the repository. Each ingest is the real
command on a fresh SQLite database with the search index, timed from start to exit, model
loading included; its CPU time is its own and its workers'.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import machine  # noqa: E402
from run import code_version  # noqa: E402

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


def rate(label: str, count: int, run: Callable[[], object], runs: int) -> float:
    """The best of `runs` timings (after a short warm-up elsewhere), printed in articles/s."""
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    per_second = count / min(seconds)
    print(f"{label:<48} {per_second:7.1f} articles/s")
    return per_second


# `newsdesk ingest` as `python -m app.cli` runs it, printing its own CPU time (without its
# workers') last on stderr: the writer's share, which no number of workers takes over.
OWN_CPU = (
    "import atexit, resource, sys\n"
    "def own_cpu():\n"
    "    usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    "    print(f'own CPU {usage.ru_utime + usage.ru_stime}', file=sys.stderr)\n"
    "atexit.register(own_cpu)\n"
    "from app.cli import main\n"
    "main()\n"
)


def ingest_rate(files: list[Path], workers: int, folder: Path) -> tuple[float, float, float]:
    """Articles per second, CPU-seconds per article (the command's and its workers') and
    the command's own CPU-seconds per article, of `newsdesk ingest --workers N` on these
    files, into a fresh database."""
    database = folder / f"ingest-{workers}.db"
    database.unlink(missing_ok=True)
    shutil.rmtree(database.with_suffix(".index"), ignore_errors=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSDESK_")}
    env |= {"DATABASE_URL": f"sqlite:///{database}", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", OWN_CPU, "ingest", "--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*command, str(folder / "articles")],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    own = float(done.stderr.strip().splitlines()[-1].removeprefix("own CPU "))
    return len(files) / seconds, cpu / len(files), own / len(files)


def ingest_rates(files: list[Path], workers: int, runs: int) -> dict[str, dict[str, Any]]:
    """`newsdesk ingest` in one process and with workers, best of `runs` each; the two
    alternate, so a burst of load elsewhere falls on both."""
    with tempfile.TemporaryDirectory(prefix="ner-ingest-") as temporary:
        folder = Path(temporary)
        for path in files:
            target = folder / "articles" / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        measured: dict[int, list[tuple[float, float, float]]] = {
            count: [] for count in (1, workers)
        }
        for _ in range(runs):
            for count in measured:
                measured[count].append(ingest_rate(files, count, folder))
    figures = {}
    for count, found in measured.items():
        best = {
            "rate": max(r for r, _, _ in found),
            "cpu_per_article": min(c for _, c, _ in found),
            "writer_cpu_per_article": min(w for _, _, w in found),
        }
        figures[count] = best | {"rates": [r for r, _, _ in found], "workers": count}
        label = f"newsdesk ingest --workers {count}"
        print(
            f"{label:<48} {best['rate']:7.1f} articles/s, {best['cpu_per_article']:.3f} "
            f"CPU-s per article, {best['writer_cpu_per_article']:.3f} in the writer "
            f"(runs: {', '.join(f'{r:.1f}' for r, _, _ in found)})"
        )
    return {"single": figures[1], "all_cores": figures[workers]}


def cpu_bound(single: dict[str, Any], every: dict[str, Any], cores: int) -> float:
    """The speed-up the CPU time allows on `cores` idle cores: all of the run's CPU time
    spread over them, and never faster than the writer's own share (it alone stores)."""
    spread = single["cpu_per_article"] * cores / every["cpu_per_article"]
    return min(spread, single["cpu_per_article"] / every["writer_cpu_per_article"])


def bare_rates(
    articles: list[tuple[str, str]], workers: int, runs: int
) -> tuple[dict[str, float], EntityRecognizer]:
    """Bare spaCy (the full pipeline, NER only, NER on every core) and recognize(), in
    articles/s on the same texts."""
    texts = [f"{title}\n\n{body}" for title, body in articles]
    full = importlib.import_module(MODEL_PACKAGE).load()
    recognizer = EntityRecognizer(AliasTable(load_alias_file(ROOT / "data" / "aliases.csv")))
    list(full.pipe(texts[:10]))
    recognizer.recognize(articles[:10])
    count = len(texts)
    figures = {
        "bare_full_pipeline": rate(
            "bare nlp.pipe(texts), full pipeline", count, lambda: list(full.pipe(texts)), runs
        ),
        "bare_ner": rate(
            "bare nlp.pipe(texts), NER only",
            count,
            lambda: list(recognizer.nlp.pipe(texts)),
            runs,
        ),
    }
    if workers > 1:
        figures["bare_ner_all_cores"] = rate(
            f"bare nlp.pipe(texts, n_process={workers}), NER only",
            count,
            lambda: list(recognizer.nlp.pipe(texts, n_process=workers)),
            runs,
        )
    figures["recognize"] = rate(
        "EntityRecognizer.recognize()", count, lambda: recognizer.recognize(articles), runs
    )
    return figures, recognizer


def overhead(bare: float, ours: float) -> float:
    """How much longer per article than bare spaCy, as a fraction (0.25: 25% more time)."""
    return bare / ours - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("articles", type=int, nargs="?", default=300)
    parser.add_argument("--workers", type=int, default=available_cores())
    parser.add_argument("--runs", type=int, default=3, help="Timings of each; the best is kept.")
    parser.add_argument("--no-ingest", action="store_true", help="Only recognize() and spaCy.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()
    files = corpus_files(args.articles)
    articles = corpus_articles(files)
    chars = sum(len(title) + len(body) for title, body in articles) / len(articles)
    figures: dict[str, Any] = {
        "articles": len(articles),
        "chars_per_article": chars,
        "workers": args.workers,
        "runs": args.runs,
        "command": " ".join(["benchmarks/ner_overhead.py", *sys.argv[1:]]).replace(f"{ROOT}/", ""),
        "commit": code_version(),
        "machine": machine(),
        "load_average_before": os.getloadavg(),
    }
    print(f"{len(articles)} BBC articles, {chars:.0f} chars each")
    print(f"1-minute load average before: {figures['load_average_before'][0]:.1f}")
    bare, _ = bare_rates(articles, args.workers, args.runs)
    figures |= bare
    ours = bare["recognize"]
    print(
        f"recognize() is {ours / bare['bare_full_pipeline']:.2f}x the full pipeline, "
        f"{ours / bare['bare_ner']:.2f}x bare NER"
    )
    if not args.no_ingest:
        figures |= ingest_rates(files, args.workers, args.runs)
        single, every = figures["single"]["rate"], figures["all_cores"]["rate"]
        figures["speedup"] = every / single
        figures["overhead_single"] = overhead(bare["bare_ner"], single)
        print(f"ingest --workers 1 runs at {single / bare['bare_ner']:.2f}x bare NER's rate")
        if args.workers > 1:
            figures["overhead_all_cores"] = overhead(bare["bare_ner_all_cores"], every)
            print(f"{args.workers} workers: {figures['speedup']:.2f}x the single-process rate")
            figures["cpu_bound_speedup"] = cpu_bound(
                figures["single"], figures["all_cores"], min(args.workers, available_cores())
            )
            print(
                f"their CPU time allows {figures['cpu_bound_speedup']:.2f}x on "
                f"{min(args.workers, available_cores())} idle cores"
            )
    figures["load_average_after"] = os.getloadavg()
    print(f"1-minute load average after: {figures['load_average_after'][0]:.1f}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
