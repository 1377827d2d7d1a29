"""A pytest plugin for `make mutation`: runs a mutant's cheapest tests first and notes which
test killed each mutant.

mutmut runs a mutant's tests with -x, so the first failing test ends the run: the tests go
in the order of the time mutmut measured for each (in its stats run), quickest first, the
ones that copy a template database after the others of the same time. The same tests run
either way; only a killed mutant gets done sooner.

mutmut runs a mutant's tests with -x and keeps only the exit code. The report
(docs/mutation.md) names the test that now catches each mutant that once survived, so the
first failing test of a mutant run is written beside mutmut's results, in
mutants/killed-by/<mutant name>. Loaded only through mutmut's pytest arguments
([tool.mutmut] in pyproject.toml); in an ordinary test run it does nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# mutmut runs the tests from inside mutants/.
KILLED_BY = Path("killed-by")

# What mutmut measured per test (in its stats run), beside its results.
STATS = Path("mutmut-stats.json")
# Fixtures that build or copy a template database: a test using one costs seconds more.
DATABASE_FIXTURES = {"empty_db", "seeded_db", "bbc_db", "settings", "client", "engine"}

_noted: set[str] = set()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", "") or not STATS.exists():
        return
    durations: dict[str, float] = json.loads(STATS.read_text())["duration_by_test"]

    def cost(item: pytest.Item) -> tuple[float, bool]:
        fixtures = set(getattr(item, "fixturenames", ()))
        return (round(durations.get(item.nodeid, 0.0), 2), bool(fixtures & DATABASE_FIXTURES))

    items.sort(key=cost)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if "__mutmut_" not in mutant or not report.failed or mutant in _noted:
        return
    _noted.add(mutant)
    KILLED_BY.mkdir(exist_ok=True)
    (KILLED_BY / mutant).write_text(report.nodeid + "\n")
