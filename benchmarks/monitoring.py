"""The monitoring legs of `make bench`: matching an ingest batch against 1,000 saved searches,
/timeline/compare with five queries as shares, significant terms of a broad query.

run.py measures them for each size after the query mix; alone, on databases run.py loaded:
`python benchmarks/monitoring.py 10000 100000 [--seconds 3]`. Each size leaves
benchmarks/results/monitoring-SIZE.json; report.py (and this script) writes BENCHMARKS.md's
Monitoring section from them, replacing only that section.

Matching runs benchmarks/matching.py in a process of its own per search engine (tantivy,
and FTS5 alone); the two HTTP legs are rows of the query mix (benchmarks/queries.py) sent
by wrk at one connection to our server on the tantivy index.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import collect
import generate
import http_load
import queries
import sections

ROOT = generate.ROOT
VENV = ROOT / ".venv" / "bin"
RESULTS = generate.RESULTS
OUT = ROOT / "BENCHMARKS.md"
SECTION = "## Monitoring"
SEARCHES, BATCH, RUNS = 1_000, 64, 5
# The time limit of a request lifted: on a loaded machine waiting for a core would end
# requests early (503), and what is measured is their cost. wrk runs at least this long.
UNLIMITED_MS = 600_000
WRK_MIN_SECONDS = 10.0
HTTP_LEGS = ("compare 5 queries (month, share)", "significant terms, broad query")
# The targets, for 1,000,000 articles.
MATCHING_SECONDS = 1.0
TARGET_P50_MS = {HTTP_LEGS[0]: 30.0, HTTP_LEGS[1]: 200.0}


def matching(db: Path, engine: str) -> dict[str, Any]:
    """benchmarks/matching.py on `db` with the search engine `engine` (it cleans up)."""
    command = [
        str(VENV / "python"),
        str(ROOT / "benchmarks" / "matching.py"),
        f"sqlite:///{db}",
        *("--searches", str(SEARCHES), "--batch", str(BATCH), "--runs", str(RUNS)),
    ]
    before = os.getloadavg()[0]
    output = subprocess.run(
        command,
        env={**os.environ, "NEWSDESK_SEARCH_ENGINE": engine, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["load_average_before"] = before
    print(
        f"  matching on {engine}: {result['searches']} searches x {result['batch']} articles: "
        f"median {result['median_seconds']:.3f} s per batch "
        f"({result['median_cpu_seconds']:.3f} CPU s), {result['matches']} matches "
        f"(load {before:.1f})",
        flush=True,
    )
    return result


def cpu_ms(db: Path, path: str, repeats: int = 5) -> tuple[float, Any]:
    """Median CPU milliseconds of one request answered in this process (no network): what
    it costs a core, however long it waited for one on a shared machine; and its answer."""
    import floor

    capture = floor.Capture(db, "tantivy")
    capture.settings.query_timeout_ms = UNLIMITED_MS
    answer = capture.client.get(path).json()  # warm: the index opened, statements compiled
    spent = []
    for _ in range(repeats):
        started = time.process_time()
        capture.client.get(path)
        spent.append((time.process_time() - started) * 1000)
    capture.engine.dispose()
    return sorted(spent)[len(spent) // 2], answer


def http_legs(db: Path, seconds: float) -> list[dict[str, Any]]:
    """The compare and broad terms rows of the mix, at one connection, on the tantivy index
    (our server with one worker)."""
    # A port of its own: a fixed one may be held by another worktree's run on this machine
    # (a 10,000-article server once answered a 100,000-article run's requests).
    port = http_load.free_port()
    server = http_load.start(
        "newsdesk-monitoring",
        # One worker: latency at one connection needs no more, and on a loaded machine
        # uvicorn's supervisor kills workers slow to answer its health checks.
        [str(VENV / "newsdesk"), "serve", "--port", str(port), "--workers", "1"],
        port,
        "/healthz",
        {
            "DATABASE_URL": f"sqlite:///{db}",
            "NEWSDESK_SEARCH_ENGINE": "tantivy",
            "NEWSDESK_QUERY_TIMEOUT_MS": str(UNLIMITED_MS),
        },
    )
    rows = []
    try:
        paths = {"/timeline/compare", "/articles/terms", "/timeline"}
        mix = {query.name: query for query in queries.build_mix(db, paths)}
        for name in HTTP_LEGS:
            query = mix[name]
            assert query.api is not None
            status, body = http_load.get_json(server.base + query.api)
            before = os.getloadavg()[0]
            latency = http_load.wrk(server.base + query.api, 1, max(seconds, WRK_MIN_SECONDS))
            spent, answer = cpu_ms(db, query.api)
            if status == 200 and body != answer:
                raise RuntimeError(f"{name}: the server's answer is not {db.name}'s")
            row = {
                "name": name,
                "api": query.api,
                "note": query.note,
                "status": status,
                "total": body.get("total") if isinstance(body, dict) else None,
                "c1": latency,
                "cpu_ms": spent,
                "load_average_before": before,
                "load_average_after": os.getloadavg()[0],
            }
            print(
                f"  {name}: p50 {latency['p50']:.1f} ms, p99 {latency['p99']:.1f} ms "
                f"({latency['n']} requests), {row['cpu_ms']:.1f} CPU ms "
                f"(status {status}, load {before:.1f})",
                flush=True,
            )
            rows.append(row)
    finally:
        server.stop()
    return rows


def measure(db: Path, size: int, seconds: float) -> Path:
    """Every leg on one loaded database; the result file."""
    from run import code_version  # run imports this module

    print(f"  monitoring legs at {size:,} articles:", flush=True)
    result: dict[str, Any] = {
        "size": size,
        "commit": code_version(),
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "seconds_per_run": seconds,
        "load_average_before": os.getloadavg(),
    }
    result["matching"] = [matching(db, engine) for engine in ("tantivy", "database")]
    result["http"] = http_legs(db, seconds)
    result["load_average_after"] = os.getloadavg()
    out = RESULTS / f"monitoring-{size}.json"
    out.write_text(json.dumps(result, indent=1))
    return out


def section() -> list[str]:
    """BENCHMARKS.md's Monitoring section from the result files."""
    files = sorted(RESULTS.glob("monitoring-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    results = [json.loads(path.read_text()) for path in files]
    earlier = _earlier_rows({result["size"] for result in results})
    if not results and not any(earlier.values()):
        return []
    lines = [
        SECTION,
        "",
        "The issue's monitoring targets are set for 1,000,000 articles: matching an ingest "
        f"batch of {BATCH} against {SEARCHES:,} saved searches under {MATCHING_SECONDS:g} s; "
        "`/timeline/compare` with five queries as shares p50 ≤ 30 ms; significant terms of "
        "a query matching some 100,000 articles p50 ≤ 200 ms. Written by "
        "`benchmarks/monitoring.py` (run by `benchmarks/run.py` for each size, after the "
        "query mix). Load average: the 1-minute figure when the leg began (2 cores, shared).",
        "",
        f"Matching: `benchmarks/matching.py` saves {SEARCHES:,} varied searches (title words, "
        "prefixes, OR; with language, date, tag and entity filters), then matches the "
        f"{BATCH} newest articles {RUNS} times; seconds per batch, median and worst, and the "
        "CPU seconds of the matching process (which waiting for a core does not inflate).",
        "",
        "| articles | engine | median s per batch | worst s | median CPU s per batch "
        "| matches per batch | load average | target (wall) |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    matching = list(earlier["matching"])
    for result in results:
        for leg in result["matching"]:
            ok = leg["median_seconds"] < MATCHING_SECONDS
            matching.append((
                result["size"],
                f"| {result['size']:,} | {leg['engine']} | {leg['median_seconds']:.3f} "
                f"| {leg['worst_seconds']:.3f} | {leg['median_cpu_seconds']:.3f} "
                f"| {leg['matches']:,} "
                f"| {leg['load_average_before']:.1f} | {'met' if ok else '**missed**'} |",
            ))  # fmt: skip
    lines += _by_size(matching)
    lines += [
        "",
        "HTTP, one connection, our server (`--workers 1`) on the tantivy index:",
        "",
        "| articles | request | matches | p50 / p95 / p99 (ms) | requests "
        "| CPU ms per request (in process) | load average | target (p50) |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    http = list(earlier["http"])
    for result in results:
        for row in result["http"]:
            c1, target = row["c1"], TARGET_P50_MS[row["name"]]
            name = row["name"] + (f" ({row['note']})" if row.get("note") else "")
            total = "—" if row.get("total") is None else f"{row['total']:,}"
            verdict = "met" if c1["n"] and c1["p50"] <= target else "**missed**"
            http.append((
                result["size"],
                f"| {result['size']:,} | {name} | {total} "
                f"| {c1['p50']:.1f} / {c1['p95']:.1f} / {c1['p99']:.1f} | {c1['n']:,} "
                f"| {row['cpu_ms']:.1f} | {row['load_average_before']:.1f} "
                f"| ≤ {target:g} ms: {verdict} |",
            ))  # fmt: skip
    lines += _by_size(http)
    measured = earlier["measured"] + [
        (r["size"], f"{r['size']:,}: {r['commit']}, {r['date']}") for r in results
    ]
    lines += ["", f"Measured: {', '.join(_by_size(measured))}."]
    return lines


def _by_size(rows: list[tuple[int, str]]) -> list[str]:
    return [line for _, line in sorted(rows, key=lambda row: row[0])]


_ROW_SIZE = re.compile(r"\| ([\d,]+) \|")
_MEASURED = re.compile(r"([\d,]+): (\w+, \d{4}-\d\d-\d\d \d\d:\d\d UTC)")


def _earlier_rows(measured: set[int]) -> dict[str, list[tuple[int, str]]]:
    """The rows BENCHMARKS.md's Monitoring section holds for sizes without a result file
    here (measured in another checkout): kept until those sizes are measured again."""
    kept: dict[str, list[tuple[int, str]]] = {"matching": [], "http": [], "measured": []}
    text = OUT.read_text() if OUT.is_file() else ""
    start = text.find(SECTION + "\n")
    if start < 0:
        return kept
    end = text.find("\n## ", start + len(SECTION))
    table = ""
    for line in text[start : end if end >= 0 else None].splitlines():
        if line.startswith("| articles | engine |"):
            table = "matching"
        elif line.startswith("| articles | request |"):
            table = "http"
        elif line.startswith("Measured: "):
            for size, what in _MEASURED.findall(line):
                if int(size.replace(",", "")) not in measured:
                    kept["measured"].append((int(size.replace(",", "")), f"{size}: {what}"))
        elif table and (row := _ROW_SIZE.match(line)):
            size = int(row.group(1).replace(",", ""))
            if size not in measured:
                kept[table].append((size, line))
    return kept


def write_section(lines: list[str]) -> None:
    """Put the section into BENCHMARKS.md, replacing it (else before "## Collection")."""
    sections.put_section(OUT, SECTION, lines, before=(collect.SECTION,))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="+", type=int)
    parser.add_argument("--seconds", type=float, default=3.0, help="Per wrk run.")
    args = parser.parse_args()
    started = time.perf_counter()
    for size in args.sizes:
        db = RESULTS / f"bench-{size}.db"
        if not db.is_file():
            raise SystemExit(f"{db} not found: first run benchmarks/run.py {size} --load-only")
        measure(db, size, args.seconds)
    write_section(section())
    print(f"wrote the Monitoring section of {OUT} in {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
