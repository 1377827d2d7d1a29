"""Where a query's time goes in the server: the engines, serialization or other Python.

py-spy samples the server's workers while wrk sends the query one at a time, taking the
thread that holds the interpreter lock (Python's CPU time). Each sampled stack goes in one
bucket by the frames it holds, and in one layer by where the CPU was: inside an engine
call (tantivy, SQL), else the package of the innermost Python frame (the HTTP server, the
framework, pydantic, SQLAlchemy, our code, the event loop and threads). The server's CPU
time per request, read from /proc over the same run, puts milliseconds on the shares.
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
SAMPLES_PER_SECOND = 200
# The frames every sample of a worker sits under (the command, the worker's event loop).
PROCESS_FILES = (" (app/cli.py:", " (app/serving.py:")
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


# Outside the engines, a sample's layer is the package of its innermost Python frame (py-spy
# names a frame "function (package/module.py:line)", the path relative to sys.path).
LAYERS = (
    (
        "HTTP server (uvicorn, httptools: parse the request, write the answer)",
        ("uvicorn/", "httptools/", "h11/"),
    ),
    (
        "framework (FastAPI, Starlette: routing, parameters, dependencies, middleware)",
        ("fastapi/", "starlette/", "fastapi_offline/"),
    ),
    ("pydantic (validation, serialization)", ("pydantic/", "pydantic_core/")),
    (
        "SQLAlchemy (statements, connections, rows; not the SQL itself)",
        ("sqlalchemy/", "sqlmodel/"),
    ),
    ("our code (app/)", ("app/",)),
    (
        "event loop and worker threads (asyncio, anyio, threading)",
        (
            "asyncio/",
            "anyio/",
            "threading.py",
            "concurrent/",
            "selectors.py",
            "uvloop/",
            "queue.py",
        ),
    ),
)
ENGINE_LAYERS = {
    "tantivy (search, count, aggregate)": "the engines: tantivy calls",
    "SQL (sqlite3 execute/fetch)": "the engines: SQL (sqlite3 execute and fetch)",
}


def layer_of(stack: str) -> str:
    """The layer a sample's CPU time belongs to (see LAYERS)."""
    engine = ENGINE_LAYERS.get(classify(stack))
    if engine:
        return engine
    innermost = stack.rsplit(";", 1)[-1]
    where = innermost.rpartition(" (")[2]
    for layer, prefixes in LAYERS:
        if where.startswith(prefixes):
            return layer
    return "other (standard library, JSON)"


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
    answered: list[dict[str, Any]] = []
    load = threading.Thread(
        target=lambda: answered.append(http_load.wrk(server.base + row["api"], 1, seconds + 2)),
        daemon=True,
    )
    cpu_before = server.cpu_seconds()
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
        str(SAMPLES_PER_SECOND),
        "--duration",
        str(int(seconds)),
        "--output",
        str(out),
        "--nonblocking",
        # Only the thread running Python: threads waiting (on a lock, for work, on the
        # socket) are sampled as if busy otherwise. sqlite3 and tantivy let go of the lock
        # while they work, so the engines show less here than in the floor.
        "--gil",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    load.join()
    cpu = server.cpu_seconds() - cpu_before
    if done.returncode != 0 or not out.exists() or not answered:
        return {"error": (done.stderr or done.stdout).strip()[-300:]}
    buckets: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        buckets[classify(stack)] += int(count)
        layers[layer_of(stack)] += int(count)
        for frame in set(stack.split(";")):
            if " (app/" in frame and not any(name in frame for name in PROCESS_FILES):
                functions[frame] += int(count)
    total = sum(buckets.values()) or 1
    requests = answered[0]["rps"] * (seconds + 2)
    return {
        "query": row["name"],
        "samples": total,
        "requests": requests,
        "cpu_ms_per_request": 1000 * cpu / requests if requests else None,
        # Samples of the lock-holding thread over the requests answered while sampling.
        "python_ms_per_request": (
            1000 * total / SAMPLES_PER_SECOND / (answered[0]["rps"] * seconds)
            if answered[0]["rps"]
            else None
        ),
        "buckets": {name: count / total for name, count in buckets.most_common()},
        "layers": {name: count / total for name, count in layers.most_common()},
        "app_functions": {name: count / total for name, count in functions.most_common(10)},
    }
