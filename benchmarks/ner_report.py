"""BENCHMARKS.md's figures of entity recognition at ingest, from benchmarks/ner_overhead.py's
result file (results/ner_ingest.json, written by benchmarks/run.py); results from before
that file existed have none of these lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIGURES = "ner_ingest.json"
SPEEDUP_TARGET = 1.8


def load_figures(results_dir: Path) -> dict[str, Any] | None:
    """The figures of the last NER measurement, or None if the harness has not written any."""
    path = results_dir / FIGURES
    return json.loads(path.read_text()) if path.exists() else None


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def target_row(figures: dict[str, Any]) -> str | None:
    """The targets table's row for ingest on every core, if the ingest was measured."""
    if "speedup" not in figures:
        return None
    speedup = figures["speedup"]
    return (
        f"| entity recognition on every core ≥ {SPEEDUP_TARGET:g}× one process "
        f"(`newsdesk ingest --workers {figures['workers']}` ÷ `--workers 1`) "
        f"| {speedup:.2f}× ({figures['all_cores']['rate']:.1f} vs "
        f"{figures['single']['rate']:.1f} articles/s, load average "
        f"{figures['load_average_before'][0]:.1f}/{figures['load_average_after'][0]:.1f}) "
        f"| {verdict(speedup >= SPEEDUP_TARGET)} |"
    )


def percent(fraction: float) -> str:
    return f"{fraction * 100:+.0f}% time"


def figure_lines(figures: dict[str, Any]) -> list[str]:
    """How the figures were measured, then one table row per rate."""
    load = "/".join(
        f"{figures[key][0]:.1f}" for key in ("load_average_before", "load_average_after")
    )
    lines = [
        f"- Produced by: `{figures['command']}` ({figures['articles']} BBC articles of "
        f"{figures['chars_per_article']:.0f} characters, the best of {figures['runs']} runs each)",
        f"- Code measured: commit {figures['commit']}",
        f"- Machine: {figures['machine']}; 1-minute load average before/after: {load}",
        "",
        "| on the same texts | articles/s | CPU-s per article | of which the writer "
        "| over bare NER |",
        "|---|---:|---:|---:|---:|",
        f"| bare `nlp.pipe`, full pipeline | {figures['bare_full_pipeline']:.1f} | | | |",
        f"| bare `nlp.pipe`, NER only | {figures['bare_ner']:.1f} | | | |",
    ]
    workers = figures["workers"]
    if "bare_ner_all_cores" in figures:
        lines.append(
            f"| bare `nlp.pipe(n_process={workers})`, NER only "
            f"| {figures['bare_ner_all_cores']:.1f} | | | |"
        )
    lines.append(
        f"| `EntityRecognizer.recognize()` | {figures['recognize']:.1f} | | "
        f"| {percent(figures['bare_ner'] / figures['recognize'] - 1)} |"
    )
    for key, bare_key, label in (
        ("single", "overhead_single", "`newsdesk ingest --workers 1`"),
        ("all_cores", "overhead_all_cores", f"`newsdesk ingest --workers {workers}`"),
    ):
        if key in figures:
            run = figures[key]
            over = percent(figures[bare_key]) if bare_key in figures else ""
            writer = run.get("writer_cpu_per_article")
            lines.append(
                f"| {label} | {run['rate']:.1f} | {run['cpu_per_article']:.3f} "
                f"| {'' if writer is None else f'{writer:.3f}'} | {over} |"
            )
    if "speedup" in figures:
        lines += [
            "",
            f"`--workers {workers}` runs at {figures['speedup']:.2f}× the single-process rate "
            f"(target ≥ {SPEEDUP_TARGET:g}×: {verdict(figures['speedup'] >= SPEEDUP_TARGET)}). "
            "The ingest rows compare with bare NER on as many processes "
            f"(`--workers {workers}` with `n_process={workers}`).",
        ]
    if "cpu_bound_speedup" in figures:
        lines += [
            "",
            f"Their CPU time allows {figures['cpu_bound_speedup']:.2f}× on idle cores (an "
            "estimate, not a measurement: the single run's CPU-seconds per article over the "
            "workers run's spread over the cores, and never past the single run's over the "
            "writer's own, the part no worker takes over); against the wall-clock ratio it "
            "shows what the load average cost.",
        ]
    return [*lines, ""]
