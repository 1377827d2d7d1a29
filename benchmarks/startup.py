"""Seconds from `newsdesk serve --workers 2` to its first answered /healthz, over many starts.

run.py times one start per run; this one starts the server `--starts` times and prints each
time and the median, so two versions of the code can be compared on the same database:

    PYTHONPATH=. .venv/bin/python benchmarks/startup.py DB [--starts 9] [--tree DIR]

DB is a SQLite database whose search index is built (a run of run.py leaves one). --tree
runs the code of another checkout (`python -m app.cli` in DIR) instead of this one's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import http_load

ROOT = Path(__file__).resolve().parent.parent


def start_once(database: Path, tree: Path | None) -> float:
    port = http_load.free_port()
    command = [sys.executable, "-m", "app.cli"] if tree else [str(ROOT / ".venv/bin/newsdesk")]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database.resolve()}"}
    started = time.perf_counter()
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--workers", "2"],
        cwd=tree or ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}")
            try:
                http_load.get_json(f"http://{http_load.HOST}:{port}/healthz")
                return time.perf_counter() - started
            except OSError:
                time.sleep(0.005)
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("database", type=Path)
    parser.add_argument("--starts", type=int, default=9)
    parser.add_argument("--tree", type=Path, help="Another checkout's code.")
    options = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    seconds = []
    for _ in range(options.starts):
        seconds.append(start_once(options.database, options.tree))
        time.sleep(0.5)
    print(" ".join(f"{s:.3f}" for s in seconds))
    print(f"median {statistics.median(seconds):.3f} s over {len(seconds)} starts")


if __name__ == "__main__":
    main()
