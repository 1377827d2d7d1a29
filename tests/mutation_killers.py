"""A pytest plugin for `make mutation`: notes which test killed each mutant.

mutmut runs a mutant's tests with -x and keeps only the exit code. The report
(docs/mutation.md) names the test that now catches each mutant that once survived, so the
first failing test of a mutant run is written beside mutmut's results, in
mutants/killed-by/<mutant name>. Loaded only through mutmut's pytest arguments
([tool.mutmut] in pyproject.toml); in an ordinary test run it does nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# mutmut runs the tests from inside mutants/.
KILLED_BY = Path("killed-by")

_noted: set[str] = set()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    mutant = os.environ.get("MUTANT_UNDER_TEST", "")
    if "__mutmut_" not in mutant or not report.failed or mutant in _noted:
        return
    _noted.add(mutant)
    KILLED_BY.mkdir(exist_ok=True)
    (KILLED_BY / mutant).write_text(report.nodeid + "\n")
