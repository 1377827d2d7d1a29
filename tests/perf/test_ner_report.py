"""BENCHMARKS.md's entity recognition figures: every figure of the result file printed, the
1.8× target judged from it, and results from before the file existed still reported."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from app.config import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
import ner_report


def figures(speedup: float) -> dict[str, Any]:
    """What benchmarks/ner_overhead.py --json writes, with round numbers."""
    return {
        "articles": 300,
        "chars_per_article": 2069.4,
        "workers": 2,
        "runs": 3,
        "command": "benchmarks/ner_overhead.py 300 --runs=3",
        "commit": "abc1234",
        "machine": "2 cores (AMD EPYC)",
        "load_average_before": [0.5, 0.4, 0.3],
        "load_average_after": [2.5, 1.0, 0.5],
        "bare_full_pipeline": 12.5,
        "bare_ner": 31.0,
        "bare_ner_all_cores": 58.0,
        "recognize": 29.0,
        "single": {
            "rate": 10.0,
            "cpu_per_article": 0.1,
            "writer_cpu_per_article": 0.1,
            "rates": [9.0, 10.0],
            "workers": 1,
        },
        "all_cores": {
            "rate": 10.0 * speedup,
            "cpu_per_article": 0.12,
            "writer_cpu_per_article": 0.04,
            "rates": [10.0 * speedup],
            "workers": 2,
        },
        "speedup": speedup,
        "overhead_single": 31.0 / 10.0 - 1,
        "overhead_all_cores": 58.0 / (10.0 * speedup) - 1,
        "cpu_bound_speedup": 1.67,
    }


def test_every_figure_is_printed_with_how_it_was_measured() -> None:
    text = "\n".join(ner_report.figure_lines(figures(1.9)))
    for expected in (
        "benchmarks/ner_overhead.py 300 --runs=3",
        "abc1234",
        "2 cores (AMD EPYC)",
        "0.5/2.5",
        "| bare `nlp.pipe`, full pipeline | 12.5 |",
        "| bare `nlp.pipe`, NER only | 31.0 |",
        "| bare `nlp.pipe(n_process=2)`, NER only | 58.0 |",
        "| `EntityRecognizer.recognize()` | 29.0 | | | +7% time |",
        "| `newsdesk ingest --workers 1` | 10.0 | 0.100 | 0.100 | +210% time |",
        "| `newsdesk ingest --workers 2` | 19.0 | 0.120 | 0.040 | +205% time |",
        "1.90× the single-process rate",
        "allows 1.67× on idle cores",
    ):
        assert expected in text


def test_the_target_row_says_met_or_missed() -> None:
    met = ner_report.target_row(figures(1.85))
    missed = ner_report.target_row(figures(1.2))
    assert met is not None and missed is not None
    assert met.startswith("| entity recognition on every core ≥ 1.8× one process")
    assert "| 1.85× (18.5 vs 10.0 articles/s" in met and met.endswith("| met |")
    assert "| 1.20× " in missed and missed.endswith("| **missed** |")


def test_a_run_without_the_ingest_has_no_target_row(tmp_path: Path) -> None:
    spacy_only = {
        key: value
        for key, value in figures(1.9).items()
        if key
        not in {
            "single",
            "all_cores",
            "speedup",
            "overhead_single",
            "overhead_all_cores",
            "cpu_bound_speedup",
        }
    }
    (tmp_path / ner_report.FIGURES).write_text(json.dumps(spacy_only))
    loaded = ner_report.load_figures(tmp_path)
    assert loaded is not None and ner_report.target_row(loaded) is None
    assert "newsdesk ingest" not in "\n".join(ner_report.figure_lines(loaded))


def test_results_from_before_the_file_have_no_figures(tmp_path: Path) -> None:
    assert ner_report.load_figures(tmp_path) is None
