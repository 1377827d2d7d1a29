"""The benchmark harness: generate, bulk-load, then measure the query mix three ways per size.

Run: .venv/bin/python benchmarks/run.py 10000 100000 [--seconds 3] [--no-datasette]
(`make bench BENCH_SIZES="10000 100000"`). Each size leaves benchmarks/results/bench-SIZE.json;
report.py turns all of them into BENCHMARKS.md and benchmarks/latency.png.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import deep_cursor
import experiments
import floor
import generate
import http_load
import monitoring
import postgres_databases
import profile_query
import queries

ROOT = generate.ROOT
VENV = ROOT / ".venv" / "bin"
DATASETTE = ROOT / "benchmarks" / ".venv-datasette" / "bin" / "datasette"
API_PORT, DATASETTE_PORT = 8765, 8766
EXPERIMENTS_UP_TO = 100_000
# The search whose own cost (HTTP p50 over its floor) is profiled by layer: a plain word,
# the request most users send.
OWN_COST_QUERY = "common word"
# PostgreSQL loads some 700 articles/s (COPY, then its GIN index): larger sizes are left out
# of a run unless --postgres-up-to says otherwise (1M: most of an hour to load, once).
POSTGRES_UP_TO = 100_000


def code_version() -> str:
    """The commit measured, and whether the working tree differed from it."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    return commit + (" plus uncommitted changes" if dirty else "")


def load(size: int, seed: int, reuse: bool = False) -> dict[str, Any]:
    """Generate and bulk-load the corpus afresh (both FTS modes up to 10k); the figures.

    With reuse, a database this function loaded before (and its figures) is used again.
    """
    figures = generate.RESULTS / f"bench-{size}.load.json"
    if reuse and figures.exists():
        print(f"  reusing the loaded database ({figures.name})", flush=True)
        return dict(json.loads(figures.read_text()))
    figures.unlink(missing_ok=True)
    started = time.perf_counter()
    corpus = generate.corpus_file(size, seed)
    if not corpus.exists():
        generate.write_jsonl(generate.load_corpus(generate.corpus_path()), size, seed, corpus)
    result: dict[str, Any] = {"generate_seconds": time.perf_counter() - started}
    db = generate.RESULTS / f"bench-{size}.db"
    modes = ["deferred", "triggers"] if size <= 10_000 else ["deferred"]
    for mode in modes:
        target = db if mode == "deferred" else db.with_name(f"bench-{size}-triggers.db")
        for stale in target.parent.glob(target.name + "*"):
            stale.unlink()
        shutil.rmtree(target.with_suffix(".index"), ignore_errors=True)
        result[f"load_{mode}"] = bulk_load(corpus, target, mode)
        if target != db:
            for done in target.parent.glob(target.name + "*"):
                done.unlink()
            shutil.rmtree(target.with_suffix(".index"), ignore_errors=True)
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    articles = connection.execute("SELECT count(*) FROM article").fetchone()[0]
    connection.close()
    index_bytes = sum(f.stat().st_size for f in db.with_suffix(".index").glob("*"))
    result |= {
        "articles": articles,
        "db_bytes": db.stat().st_size,
        "index_bytes": index_bytes,
        "db": str(db),
    }
    figures.write_text(json.dumps(result, indent=1))
    return result


def _load_env(database: str, corpus: Path) -> dict[str, str]:
    """The environment for `newsdesk load-jsonl` of the generated corpus into database."""
    # The 1M corpus is some 5 GB: over the default size limit of a JSONL file for ingest.
    limit = max(corpus.stat().st_size, 2_000_000_000)
    return {**os.environ, "DATABASE_URL": database, "NEWSDESK_MAX_JSONL_BYTES": str(limit)}


def bulk_load(corpus: Path, db: Path, mode: str) -> dict[str, Any]:
    """`newsdesk load-jsonl` into a new file: wall time, and CPU time (the machine is shared)."""
    command = [str(VENV / "newsdesk"), "load-jsonl", str(corpus), "--fts", mode]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    output = subprocess.run(
        command,
        env=_load_env(f"sqlite:///{db}", corpus),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    added = int(output.split()[0])
    # A rebuild after the rows, or (since the load feeds the index) the commit after them.
    indexed = re.search(r"search index (rebuilt|fed): \d+ articles.*? in ([\d.]+)s", output)
    print(f"  load --fts {mode}: {output}; {cpu:.1f} CPU s", flush=True)
    return {
        "index_seconds": float(indexed.group(2)) if indexed else None,
        "index_fed": bool(indexed and indexed.group(1) == "fed"),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "added": added,
        "rate": added / seconds,
        "cpu_rate": added / cpu,
        "summary": output,
    }


def measure_api(
    db: Path, articles: int, seconds: float, engine: str = "tantivy", profile: bool = True
) -> dict[str, Any]:
    """Our server (2 workers) under the mix, plus the floor of each request.

    engine: the search engine (NEWSDESK_SEARCH_ENGINE): tantivy, or database (FTS5 alone).
    """
    print(f"  our API, search engine {engine}:", flush=True)
    server = http_load.start(
        "newsdesk",
        [str(VENV / "newsdesk"), "serve", "--port", str(API_PORT), "--workers", "2"],
        API_PORT,
        "/healthz",
        {"DATABASE_URL": f"sqlite:///{db}", "NEWSDESK_SEARCH_ENGINE": engine},
    )
    result: dict[str, Any] = {"startup_seconds": server.startup_seconds, "rows": []}
    try:
        _, spec = http_load.get_json(server.base + "/openapi.json")
        mix = queries.build_mix(db, set(spec["paths"]))
        mix += deep_cursor.cursor_queries(server.base, db, articles)
        capture = floor.Capture(db, engine)
        for query in mix:
            result["rows"].append(measure_row(server, capture, db, query, seconds))
        result |= server.memory_mb()
        measured = [row for row in result["rows"] if row.get("c1")]
        slowest = max(measured, key=lambda row: row["c1"]["p50"])
        if profile:
            result["profile"] = profile_query.profile(server, slowest, seconds * 3)
            typical = next(row for row in measured if row["name"] == OWN_COST_QUERY)
            result["own_cost_profile"] = profile_query.profile(server, typical, seconds * 3)
    finally:
        server.stop()
    return result


def latency_and_throughput(server: http_load.Server, url: str, seconds: float) -> dict[str, Any]:
    """wrk at one connection (latency), then at 32 (throughput) for long enough that each
    connection finishes about one request (at most 30 s). Each run starts on an idle server:
    the requests an earlier throughput run left queued are answered first."""
    server.settle()
    c1 = http_load.wrk(url, 1, seconds)
    window = min(30.0, max(seconds, 0.04 * c1["p50"]))
    c32 = http_load.wrk(url, 32, window) | {"window": window}
    c32["drain_seconds"] = round(server.settle(), 2)
    return {"c1": c1, "c32": c32}


def measure_postgres(
    admin_url: str,
    size: int,
    corpus: Path,
    articles: int,
    mix: list[dict[str, Any]],
    seconds: float,
) -> dict[str, Any]:
    """The same corpus bulk-loaded into a PostgreSQL database of its own (or reused, when an
    earlier run loaded it), and the mix over HTTP against our server on it twice: searching
    in PostgreSQL itself (rows), then as an API node with its own tantivy index (node). The
    floor is SQLite's; PostgreSQL's is not replayed."""
    from sqlalchemy.engine import make_url

    database, load_seconds = postgres_databases.loaded_database(
        make_url(admin_url), f"newsdesk_bench_{size}", corpus, articles
    )
    result: dict[str, Any] = {"load_seconds": load_seconds, "articles": articles}
    print("  our API on PostgreSQL, searching in the database:", flush=True)
    server = http_load.start(
        "newsdesk-postgresql",
        [str(VENV / "newsdesk"), "serve", "--port", str(API_PORT), "--workers", "2"],
        API_PORT,
        "/healthz",
        {"DATABASE_URL": database, "NEWSDESK_SEARCH_ENGINE": "database"},
    )
    try:
        result["rows"] = measure_mix(server, mix, seconds, "postgresql")
        result |= server.memory_mb()
    finally:
        server.stop()
    result["node"] = measure_postgres_node(database, size, mix, seconds)
    return result


def measure_postgres_node(
    database: str, size: int, mix: list[dict[str, Any]], seconds: float
) -> dict[str, Any]:
    """An API node on PostgreSQL started with an empty index folder: the seconds until it
    has built its index and /readyz answers 200 (NEWSDESK_SEARCH_INDEX_BEHIND=not_ready),
    then the mix over HTTP."""
    print("  our API on PostgreSQL, a node with its own tantivy index:", flush=True)
    index_dir = generate.RESULTS / f"pg-node-{size}.index"
    shutil.rmtree(index_dir, ignore_errors=True)
    server = http_load.start(
        "newsdesk-postgresql-node",
        [str(VENV / "newsdesk"), "serve", "--port", str(API_PORT), "--workers", "2"],
        API_PORT,
        "/readyz",
        {
            "DATABASE_URL": database,
            "NEWSDESK_SEARCH_ENGINE": "tantivy",
            "NEWSDESK_SEARCH_INDEX_DIR": str(index_dir),
            "NEWSDESK_SEARCH_INDEX_BEHIND": "not_ready",
        },
        timeout=4 * 3600,
    )
    result: dict[str, Any] = {"ready_seconds": server.startup_seconds}
    print(f"  node ready (index built) in {server.startup_seconds:.0f} s", flush=True)
    try:
        result["rows"] = measure_mix(server, mix, seconds, "postgresql node")
        result |= server.memory_mb()
    finally:
        server.stop()
    return result


def remeasure_postgres_node(size: int, admin_url: str, seconds: float) -> None:
    """The node leg of bench-SIZE.json measured again on the database that run loaded, its
    commit and command recorded beside the leg; the rest of the results are kept."""
    from sqlalchemy.engine import make_url

    out = generate.RESULTS / f"bench-{size}.json"
    result = json.loads(out.read_text())
    print(f"== {size:,} articles: the PostgreSQL node leg again", flush=True)
    database, _ = postgres_databases.loaded_database(
        make_url(admin_url),
        f"newsdesk_bench_{size}",
        generate.corpus_file(size, result["seed"]),
        result["load"]["articles"],
    )
    node = measure_postgres_node(database, size, result["api"]["rows"], seconds)
    node |= {
        "commit": code_version(),
        "command": f"benchmarks/run.py {size} --postgres-node-only --seconds {seconds:g}",
        "seconds_per_run": seconds,
        "load_average_after": os.getloadavg(),
    }
    result["postgresql"]["node"] = node
    out.write_text(json.dumps(result, indent=1))


def measure_mix(
    server: http_load.Server, mix: list[dict[str, Any]], seconds: float, label: str
) -> dict[str, dict[str, Any]]:
    """Latency and throughput of each query of the mix that SQLite answered, by name.

    A cursor is signed with its database's secret: the deep cursor page is walked to again
    on this server (deep_cursor.py) rather than sent with SQLite's token."""
    rows: dict[str, dict[str, Any]] = {}
    for row in mix:
        if not row.get("c1"):
            continue
        path = row["api"]
        if row["name"].startswith("cursor page at depth "):
            depth = int(row["name"].rsplit(" ", 1)[1].replace(",", ""))
            first = queries.api("/articles", sort="-published_at", limit=20)
            path = f"{first}&cursor={quote(deep_cursor.walked_cursor(server.base, first, depth))}"
        status, _ = http_load.get_json(server.base + path)
        if status != 200:
            print(f"  {label} {row['name']}: status {status}", flush=True)
            rows[row["name"]] = {"status": status}
            continue
        entry = latency_and_throughput(server, server.base + path, seconds)
        print(
            f"  {label} {row['name']}: p50 {entry['c1']['p50']:.1f} ms, "
            f"{entry['c32']['rps']:.0f} req/s",
            flush=True,
        )
        rows[row["name"]] = entry
    return rows


def measure_row(
    server: http_load.Server, capture: floor.Capture, db: Path, query: queries.Query, seconds: float
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": query.name,
        "api": query.api,
        "note": query.note,
        "datasette": query.datasette,
    }
    if query.api is None:
        print(f"  {query.name}: not in this API, skipped", flush=True)
        return row
    status, statements, engine_calls, body = capture.statements_of(query.api)
    row["status"] = status
    row["hits"] = hits_of(body)
    if status != 200:
        print(f"  {query.name}: status {status}: {body}", flush=True)
        return row
    row["floor"] = floor.replay(db, statements, min(seconds, 2.0), engine_calls)
    url = server.base + query.api
    row |= latency_and_throughput(server, url, seconds)
    print(
        f"  {query.name}: hits {row['hits']}, floor {row['floor']['p50']:.1f} ms, "
        f"HTTP p50 {row['c1']['p50']:.1f} ms, {row['c32']['rps']:.0f} req/s",
        flush=True,
    )
    return row


def hits_of(body: Any) -> int | None:
    if isinstance(body, dict):
        for key in ("total", "totalResults"):
            if isinstance(body.get(key), int):
                return int(body[key])
    return None


def measure_datasette(db: Path, rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """Datasette 0.65 on the same file, FTS configured through metadata, 60 s time limits."""
    metadata = generate.RESULTS / "datasette-metadata.json"
    metadata.write_text(
        json.dumps(
            {
                "databases": {
                    db.stem: {"tables": {"article": {"fts_table": "article_fts", "fts_pk": "id"}}}
                }
            }
        )
    )
    command = [
        str(DATASETTE),
        "serve",
        str(db),
        "--port",
        str(DATASETTE_PORT),
        "-m",
        str(metadata),
        "--setting",
        "sql_time_limit_ms",
        "60000",
        "--setting",
        "facet_time_limit_ms",
        "60000",
        "--setting",
        "suggest_facets",
        "off",
        "--setting",
        "num_sql_threads",
        "3",
    ]
    server = http_load.start("datasette", command, DATASETTE_PORT, "/-/versions.json", {})
    result: dict[str, Any] = {"startup_seconds": server.startup_seconds, "rows": {}}
    try:
        for row in rows:
            if not row.get("datasette"):
                continue
            url = server.base + row["datasette"]
            status, body = http_load.get_json(url)
            hits = body.get("filtered_table_rows_count") if isinstance(body, dict) else None
            entry: dict[str, Any] = {"status": status, "hits": hits}
            if status == 200:
                entry |= latency_and_throughput(server, url, seconds)
                print(
                    f"  datasette {row['name']}: hits {hits}, "
                    f"p50 {entry['c1']['p50']:.1f} ms, {entry['c32']['rps']:.0f} req/s",
                    flush=True,
                )
            result["rows"][row["name"]] = entry
        result |= server.memory_mb()
    finally:
        server.stop()
    return result


def run_size(
    size: int,
    seed: int,
    seconds: float,
    datasette: bool,
    reuse: bool = False,
    postgres: str | None = None,
    postgres_up_to: int = POSTGRES_UP_TO,
    fts5: bool = True,
) -> Path | None:
    print(f"== {size:,} articles", flush=True)
    result: dict[str, Any] = {
        "size": size,
        "seed": seed,
        "seconds_per_run": seconds,
        "commit": code_version(),
        # As typed, but the PostgreSQL URL (it may hold a password).
        "command": " ".join(
            ["benchmarks/run.py"]
            + [
                arg.replace(postgres, "$NEWSDESK_BENCH_POSTGRES") if postgres else arg
                for arg in sys.argv[1:]
            ]
        ),
    }
    result["load_average_before"] = os.getloadavg()
    result["load"] = load(size, seed, reuse)
    if size > postgres_up_to:
        postgres = None
    if seconds <= 0:  # --load-only: PostgreSQL's database too, for the runs that reuse it
        if postgres:
            from sqlalchemy.engine import make_url

            postgres_databases.loaded_database(
                make_url(postgres),
                f"newsdesk_bench_{size}",
                generate.corpus_file(size, seed),
                result["load"]["articles"],
            )
        return None
    db = Path(result["load"]["db"])
    result["api"] = measure_api(db, result["load"]["articles"], seconds)
    if fts5:
        result["api_fts5"] = measure_api(
            db, result["load"]["articles"], seconds, engine="database", profile=False
        )
    if datasette and DATASETTE.exists():
        result["datasette"] = measure_datasette(db, result["api"]["rows"], seconds)
    if postgres:
        corpus = generate.corpus_file(size, seed)
        result["postgresql"] = measure_postgres(
            postgres, size, corpus, result["load"]["articles"], result["api"]["rows"], seconds
        )
    monitoring.measure(db, size, seconds)
    text_rows = [
        row
        for row in result["api"]["rows"]
        if row.get("c1") and row["api"].startswith("/articles?q=")
    ]
    if size <= EXPERIMENTS_UP_TO:  # they change the file (an index, an FTS5 optimize)
        result["experiments"] = experiments.run(db, text_rows)
    result["load_average_after"] = os.getloadavg()
    out = generate.RESULTS / f"bench-{size}.json"
    out.write_text(json.dumps(result, indent=1))
    return out


def measure_ner(articles: int, runs: int) -> None:
    """benchmarks/ner_overhead.py: its output for BENCHMARKS.md, its figures for the targets."""
    generate.RESULTS.mkdir(parents=True, exist_ok=True)
    ner = subprocess.run(
        [
            str(VENV / "python"),
            str(ROOT / "benchmarks" / "ner_overhead.py"),
            str(articles),
            f"--runs={runs}",
            f"--json={generate.RESULTS / 'ner_ingest.json'}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (generate.RESULTS / "ner_overhead.txt").write_text(ner)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000])
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=3.0, help="Per wrk run.")
    parser.add_argument("--no-datasette", action="store_true")
    parser.add_argument(
        "--no-fts5", action="store_true", help="Skip the mix on SQLite's FTS5 alone."
    )
    parser.add_argument(
        "--reuse", action="store_true", help="Measure a database loaded by an earlier run."
    )
    parser.add_argument("--load-only", action="store_true", help="Generate and load; no queries.")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("NEWSDESK_BENCH_POSTGRES"),
        metavar="URL",
        help="Also load each corpus into PostgreSQL (a database made on this server) and "
        "measure the mix there (default: $NEWSDESK_BENCH_POSTGRES).",
    )
    parser.add_argument(
        "--postgres-up-to",
        type=int,
        default=POSTGRES_UP_TO,
        metavar="SIZE",
        help=f"Largest size measured on PostgreSQL too (default {POSTGRES_UP_TO:,}).",
    )
    parser.add_argument("--ner-articles", type=int, default=300, help="0 skips the NER rate.")
    parser.add_argument(
        "--ner-runs", type=int, default=3, help="Timings of each NER rate; the best is kept."
    )
    parser.add_argument(
        "--ner-only", action="store_true", help="Only the NER rates (results/ner_ingest.json)."
    )
    parser.add_argument(
        "--postgres-node-only",
        action="store_true",
        help="Measure again only the PostgreSQL node leg of each size's last run (a change "
        "to the node's path), keeping the rest of its results.",
    )
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the in-process app's access log (floor capture)
    started = time.perf_counter()
    if args.postgres_node_only:
        for size in args.sizes:
            remeasure_postgres_node(size, args.postgres, args.seconds)
        return
    for size in [] if args.ner_only else args.sizes:
        seconds = 0.0 if args.load_only else args.seconds
        run_size(
            size,
            args.seed,
            seconds,
            not args.no_datasette,
            args.reuse,
            args.postgres,
            args.postgres_up_to,
            not args.no_fts5,
        )
    if args.load_only:
        return
    if args.ner_articles:
        measure_ner(args.ner_articles, args.ner_runs)
    if args.ner_only:
        return
    command = " ".join(
        [f"{part}" for part in ["benchmarks/run.py", *map(str, args.sizes)]]
        + [f"--seconds {args.seconds:g}"]
        + (["--reuse"] if args.reuse else [])
        + (["--no-datasette"] if args.no_datasette else [])
        + (["--no-fts5"] if args.no_fts5 else [])
        + (["--postgres $NEWSDESK_BENCH_POSTGRES"] if args.postgres else [])
        + (
            [f"--postgres-up-to {args.postgres_up_to}"]
            if args.postgres and args.postgres_up_to != POSTGRES_UP_TO
            else []
        )
    )
    (generate.RESULTS / "last_command.txt").write_text(command)
    print(f"harness done in {time.perf_counter() - started:.0f}s", flush=True)


if __name__ == "__main__":
    main()
