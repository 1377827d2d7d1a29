"""Without PostgreSQL the suite says how to enable it; in CI (required) it refuses to skip."""

from __future__ import annotations

import os
import subprocess
import sys

from app.config import PROJECT_ROOT

# Any quick test that needs no database will do: only the session's messages matter here.
SOME_TEST = "tests/search/test_query.py::test_semantics_on_a_real_fts5_table"


def run_pytest(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TEST_DATABASE_URL", "NEWSDESK_REQUIRE_POSTGRES")
    }
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", SOME_TEST],
        env={**environment, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_without_test_database_url_the_postgres_half_is_skipped_with_how_to_enable_it() -> None:
    result = run_pytest()
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "PostgreSQL tests skipped: set TEST_DATABASE_URL=postgresql+psycopg://user@host/db "
        "to run the suite on PostgreSQL too" in result.stdout
    )


def test_required_postgres_that_is_not_there_fails_the_run() -> None:
    result = run_pytest(
        NEWSDESK_REQUIRE_POSTGRES="1",
        TEST_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none",
    )
    assert result.returncode != 0
    assert "NEWSDESK_REQUIRE_POSTGRES=1, but the PostgreSQL half can not run" in result.stdout
    assert "is not reachable" in result.stdout
