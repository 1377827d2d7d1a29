"""Where the slowest query's time goes in the server: SQL, serialization or other Python.

py-spy samples the server's workers while wrk sends the query one at a time; each sampled
stack is put in one bucket by the frames it holds.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import http_load

ROOT = Path(__file__).resolve().parent.parent
PY_SPY = ROOT / ".venv" / "bin" / "py-spy"
BUCKETS = (
    (
        "tantivy (search, count, aggregate)",
        (
            "SearchIndex.aggregate",
            "SearchIndex.count",
            "_page (app/search/tantivy/index.py",
            "key_at",
        ),
    ),
    (
        "SQL (sqlite3 execute/fetch)",
        ("do_execute", "_fetchall_impl", "fetchall (sqlite3", "_fetchone_impl"),
    ),
    (
        "serialization (pydantic, JSON)",
        ("serialize_response", "jsonable_encoder", "model_dump", "dump_json", "render (", "orjson"),
    ),
    ("ORM rows → objects", ("instances (sqlalchemy", "_instance (sqlalchemy", "loading.py")),
)


def classify(stack: str) -> str:
    for bucket, markers in BUCKETS:
        if any(marker in stack for marker in markers):
            return bucket
    return "other Python (routing, validation, parsing, snippets, HTTP)"


def profile(server: http_load.Server, row: dict[str, Any], seconds: float) -> dict[str, Any]:
    """Sample the server while it answers `row`'s request at concurrency 1."""
    if not PY_SPY.exists() or not shutil.which("wrk"):
        return {"error": "py-spy or wrk missing"}
    out = ROOT / "benchmarks" / "results" / "profile.txt"
    load = threading.Thread(
        target=http_load.wrk, args=(server.base + row["api"], 1, seconds + 2), daemon=True
    )
    load.start()
    command = [
        str(PY_SPY),
        "record",
        "--subprocesses",
        "--pid",
        str(server.process.pid),
        "--format",
        "raw",
        "--rate",
        "200",
        "--duration",
        str(int(seconds)),
        "--output",
        str(out),
        "--nonblocking",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    load.join()
    if done.returncode != 0 or not out.exists():
        return {"error": (done.stderr or done.stdout).strip()[-300:]}
    buckets: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        buckets[classify(stack)] += int(count)
        for frame in set(stack.split(";")):
            if " (app/" in frame:
                functions[frame] += int(count)
    total = sum(buckets.values()) or 1
    return {
        "query": row["name"],
        "samples": total,
        "buckets": {name: count / total for name, count in buckets.most_common()},
        "app_functions": {name: count / total for name, count in functions.most_common(10)},
    }
