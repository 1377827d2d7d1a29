"""Writes BENCHMARKS.md and benchmarks/latency.png from benchmarks/results/bench-*.json.

Every number in BENCHMARKS.md comes from the result files; the prose around them is fixed.
Run: .venv/bin/python benchmarks/report.py
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import analysis
import collect
import monitoring
import postgres_rum_report
import targets

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PLOT = ROOT / "benchmarks" / "latency.png"
OUT = ROOT / "BENCHMARKS.md"


def pss(api: dict[str, Any]) -> str:
    """The server's proportional memory, where measured: shared pages counted once."""
    if "pss_mb" not in api:
        return ""
    return f"; PSS {api['pss_mb']:.0f} MB" + targets.memory_split(api)


def node_commit(result: dict[str, Any]) -> str:
    """The PostgreSQL node leg's own commit and command, where it was measured again later
    (run.py --postgres-node-only)."""
    node = (result.get("postgresql") or {}).get("node") or {}
    if "commit" not in node:
        return ""
    return (
        f" (its PostgreSQL node leg: commit {node['commit']}, by `{node['command']}`, "
        f"load average after {node['load_average_after'][0]:.1f})"
    )


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory_kb / 1024**2:.0f} GiB RAM, "
        f"Linux {platform.release()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def latency(run: dict[str, Any] | None) -> str:
    if not run:
        return "—"
    return f"{ms(run['p50'])} / {ms(run['p95'])} / {ms(run['p99'])}"


def rate(run: dict[str, Any] | None, seconds: float) -> str:
    """Requests per second; a run where no request finished says so instead of 0."""
    if not run:
        return "—"
    if run["n"] == 0:
        return f"none done in {run.get('window', seconds):.0f} s"
    return f"{run['rps']:,.1f}" if run["rps"] < 10 else f"{run['rps']:,.0f}"


def load_table(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| articles | generate (s) | bulk load, FTS deferred (with the tantivy index) "
        "| of which the tantivy index after the rows | bulk load, FTS triggers "
        "| DB size | per 1k articles | tantivy index size | server startup "
        "| server RSS after the mix "
        "| PostgreSQL: load-jsonl (COPY) | PostgreSQL: a new node builds its index, ready |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        load, api = r["load"], r["api"]
        rates = []
        for mode in ("deferred", "triggers"):
            entry = load.get(f"load_{mode}")
            rates.append(f"{entry['rate']:,.0f} art/s ({entry['seconds']:.0f} s)" if entry else "—")
        size_mb = load["db_bytes"] / 1e6
        deferred = load.get("load_deferred") or {}
        index_seconds = deferred.get("index_seconds")
        index_cell = "—" if index_seconds is None else f"{index_seconds:.1f} s"
        if deferred.get("index_fed"):
            index_cell += " (its commit: fed while the rows went in)"
        index_mb = load.get("index_bytes", 0) / 1e6
        lines.append(
            f"| {load['articles']:,} | {load['generate_seconds']:.0f} | {rates[0]} "
            f"| {index_cell} | {rates[1]} "
            f"| {size_mb:,.0f} MB | {size_mb * 1000 / load['articles']:.2f} MB "
            f"| {index_mb:,.0f} MB "
            f"| {api['startup_seconds']:.2f} s "
            f"| {api.get('rss_mb', 0):.0f} MB (2 workers){pss(api)} "
            f"| {postgres_load(r.get('postgresql'))} |"
        )
    return lines


def postgres_load(postgres: dict[str, Any] | None) -> str:
    """PostgreSQL's load rate and a new node's time to ready (two cells), where measured."""
    if not postgres:
        return "— | —"
    seconds = postgres.get("load_seconds")
    load = (
        f"{postgres['articles'] / seconds:,.0f} art/s ({seconds:,.0f} s)"
        if seconds
        else "loaded by an earlier run"
    )
    ready = (postgres.get("node") or {}).get("ready_seconds")
    return f"{load} | {f'{ready:,.0f} s' if ready is not None else '—'}"


def query_table(result: dict[str, Any]) -> list[str]:
    datasette = result.get("datasette", {}).get("rows", {})
    fts5 = {row["name"]: row for row in result.get("api_fts5", {}).get("rows", [])}
    postgres = result.get("postgresql", {}).get("rows", {})
    node = result.get("postgresql", {}).get("node", {}).get("rows", {})
    lines = [
        "| query | hits | floor p50 (engine + SQL, no HTTP) | of which tantivy "
        "| API p50 / p95 / p99 (c=1) | API cost over floor "
        "| API req/s (c=32) | API on FTS5 alone: p50 / p99, req/s "
        "| API on PostgreSQL, searching in PostgreSQL: p50 / p99, req/s "
        "| API on PostgreSQL, a node with its tantivy index: p50 / p99, req/s "
        "| node p50 ÷ SQLite p50 "
        "| Datasette p50 / p95 / p99 | Datasette req/s | API ÷ Datasette "
        "throughput |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["api"]["rows"]:
        name = row["name"] + (f" ({row['note']})" if row.get("note") else "")
        if row.get("api") is None:
            lines.append(f"| {name} | not in this API yet |" + " |" * 12)
            continue
        if "c1" not in row:
            lines.append(f"| {name} | status {row.get('status')} |" + " |" * 12)
            continue
        peer = datasette.get(row["name"], {})
        ratio = (
            f"{row['c32']['rps'] / peer['c32']['rps']:.1f}×"
            if peer.get("c32") and peer["c32"]["rps"]
            else "—"
        )
        peer_rps = rate(peer.get("c32"), result["seconds_per_run"])
        overhead = row["c1"]["p50"] - row["floor"]["p50"]
        hits = "—" if row.get("hits") is None else f"{row['hits']:,}"
        engine_ms = row["floor"].get("engine_ms") if row["floor"].get("engine_calls") else None
        on_fts5 = short(fts5.get(row["name"], {}), result["seconds_per_run"])
        on_postgres = short(postgres.get(row["name"], {}), result["seconds_per_run"])
        on_node = node.get(row["name"], {})
        node_ratio = f"{on_node['c1']['p50'] / row['c1']['p50']:.2f}×" if on_node.get("c1") else "—"
        lines.append(
            f"| {name} | {hits} | {ms(row['floor']['p50'])} | {ms(engine_ms)} "
            f"| {latency(row['c1'])} "
            f"| {ms(overhead)} | {rate(row['c32'], result['seconds_per_run'])} | {on_fts5} "
            f"| {on_postgres} | {short(on_node, result['seconds_per_run'])} | {node_ratio} "
            f"| {latency(peer.get('c1'))} "
            f"| {peer_rps} | {ratio} |"
        )
    return lines


def short(run: dict[str, Any], seconds: float) -> str:
    """p50 / p99 at c=1 and req/s at c=32 of another engine's run of a query."""
    if not run.get("c1"):
        return "—"
    return f"{ms(run['c1']['p50'])} / {ms(run['c1']['p99'])}, {rate(run.get('c32'), seconds)}"


def plot(results: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(13, 5.5), sharey=True)
    names = [row["name"] for row in results[-1]["api"]["rows"] if row.get("c1")]
    sizes = [r["load"]["articles"] for r in results]
    for axis, key in zip(axes, ("p50", "p99"), strict=True):
        for index, name in enumerate(names):
            style = {"color": plt.cm.tab20(index % 20), "linestyle": ("-", "--", ":")[index % 3]}
            values = []
            for r in results:
                match = [
                    x
                    for x in r["api"]["rows"]
                    if x["name"].split(" at depth")[0] == name.split(" at depth")[0] and x.get("c1")
                ]
                values.append(match[0]["c1"][key] if match else float("nan"))
            axis.plot(sizes, values, marker="o", label=name.split(" (")[0], **style)
        axis.axhline(10 if key == "p50" else 50, color="grey", linestyle="-.", linewidth=1)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("articles")
        axis.set_title(f"{key} latency over HTTP, concurrency 1 (grey dash-dot: the target)")
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("milliseconds")
    axes[1].legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    figure.savefig(PLOT, dpi=110)


def main() -> None:
    runs = [p for p in RESULTS.glob("bench-*.json") if not p.name.endswith(".load.json")]
    files = sorted(runs, key=lambda p: json.loads(p.read_text())["size"])
    results = [json.loads(path.read_text()) for path in files]
    # Sections measured on their own keep their text when their result files are absent:
    # read them before the query mix rewrites the file.
    collection = collect.section()
    rum = postgres_rum_report.section()
    if results:
        write_query_mix(results)
    elif OUT.is_file():
        print("no query-mix results here: only the sections measured on their own are rewritten")
    else:
        raise SystemExit("no results: run benchmarks/run.py first")
    if collection:
        collect.write_section(collection)
    if watching := monitoring.section():
        monitoring.write_section(watching)
    if rum:
        postgres_rum_report.write_section(rum)
    print(f"wrote {OUT}" + (f" and {PLOT}" if results else ""))


def write_query_mix(results: list[dict[str, Any]]) -> None:
    """BENCHMARKS.md up to the sections measured on their own, and the latency plot."""
    plot(results)
    command = (RESULTS / "last_command.txt").read_text().strip()
    if command.startswith("make bench"):  # written by an older harness: say what it ran
        sizes = " ".join(str(r["size"]) for r in results)
        seconds = results[-1]["seconds_per_run"]
        reused = any(r.get("postgresql") for r in results)
        command = f"benchmarks/run.py {sizes} --seconds {seconds:g} --reuse" + (
            " --postgres $NEWSDESK_BENCH_POSTGRES" if reused else ""
        )
    lines = [
        "# Benchmarks",
        "",
        "Written by `benchmarks/report.py` from the harness's results (`benchmarks/run.py`); "
        "do not edit by hand: rerun.",
        "",
        f"- Produced by: `{command}` for its sizes; a size measured by an earlier run keeps its "
        "results until rerun (sizes here: "
        f"{', '.join(format(r['load']['articles'], ',') for r in results)})"
        + "".join(
            f"; {r['load']['articles']:,} by `{r['command']}`"
            for r in results
            if r.get("command") and not command.startswith(r["command"])
        ),
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        "- Code measured: "
        + ", ".join(
            f"{r['load']['articles']:,}: commit {r.get('commit', 'not recorded')}{node_commit(r)}"
            for r in results
        ),
        "- Each wrk run: "
        + ", ".join(f"{r['load']['articles']:,}: {r['seconds_per_run']:g} s" for r in results)
        + ", loopback; c=1 is one "
        "connection (latency), c=32 is 32 connections on 2 threads (throughput; newer runs "
        "lengthen its window to 40× the c=1 p50, at most 30 s). Latencies in "
        "ms. Our server: `newsdesk serve --workers 2` (uvicorn, no reload, no access log).",
        "- The machine is shared: 1-minute load average before/after each size: "
        + ", ".join(
            f"{r['load']['articles']:,}: {r['load_average_before'][0]:.1f}/"
            f"{r['load_average_after'][0]:.1f}"
            for r in results
        )
        + " (on 2 cores; latencies include waiting for a core).",
        "",
        *targets.section(results),
        "",
        "## Loading",
        "",
        *load_table(results),
        "",
    ]
    for result in reversed(results):
        lines += [
            f"## Queries at {result['load']['articles']:,} articles",
            "",
            *query_table(result),
            "",
        ]
    lines += analysis.section(results, RESULTS)
    OUT.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
