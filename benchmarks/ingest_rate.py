"""Articles per second of a whole ingest with entities (`newsdesk ingest`'s code) of BBC
articles into a fresh SQLite database, the model loaded beforehand: per second of wall time
and per second of the process's CPU time (steadier on a shared machine).

Run: PYTHONPATH=. .venv/bin/python benchmarks/ingest_rate.py [ARTICLES] [RUNS]
(default 300 articles, the first of each folder, and 3 runs; the best run is reported).
The corpus comes from NEWSDESK_BBC_CORPUS or ../shared/corpus/bbc beside the repository.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def subset(corpus: Path, count: int, target: Path) -> int:
    """Copy the first files of each folder (as the corpus spreads them) into target."""
    folders = sorted(p for p in corpus.iterdir() if p.is_dir())
    per_folder = -(-count // len(folders))
    copied = 0
    for folder in folders:
        (target / folder.name).mkdir(parents=True)
        for path in sorted(folder.glob("*.txt"))[:per_folder]:
            if copied < count:
                shutil.copy(path, target / folder.name / path.name)
                copied += 1
    return copied


def one_run(articles: Path, work: Path, recognizer: object) -> tuple[float, float]:
    from app.config import get_settings
    from app.db import create_db_engine, upgrade_database
    from app.ingest.pipeline import Ingest, apply_alias_file

    url = f"sqlite:///{work / 'newsdesk.db'}"
    settings = get_settings().model_copy(update={"database_url": url})
    upgrade_database(url)
    engine = create_db_engine(settings, writer=True)
    started, cpu = time.perf_counter(), time.process_time()
    apply_alias_file(engine, settings.aliases_file)
    report = Ingest(engine, settings, recognizer).run([articles])  # type: ignore[arg-type]
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    return report.added / seconds, report.added / cpu_seconds


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    configured = os.environ.get("NEWSDESK_BBC_CORPUS")
    corpus = Path(configured) if configured else ROOT.parent / "shared" / "corpus" / "bbc"
    from app.ingest.entities.recognition import EntityRecognizer

    recognizer = EntityRecognizer()
    recognizer.recognize([("Warm-up", "The model loads before the clock starts.")])
    rates = []
    with tempfile.TemporaryDirectory() as folder:
        articles = Path(folder) / "articles"
        copied = subset(corpus, count, articles)
        for run in range(runs):
            work = Path(folder) / f"run{run}"
            work.mkdir()
            rates.append(one_run(articles, work, recognizer))
    walls = ", ".join(f"{wall:.1f}" for wall, _ in rates)
    cpus = ", ".join(f"{cpu:.1f}" for _, cpu in rates)
    print(f"{copied} BBC articles: {walls} articles/s; {cpus} per CPU-second")
    print(
        f"best {max(w for w, _ in rates):.1f} articles/s, {max(c for _, c in rates):.1f} per CPU-s"
    )


if __name__ == "__main__":
    main()
