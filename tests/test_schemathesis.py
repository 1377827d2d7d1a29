"""Generated requests for every operation in /openapi.json, against a real server.

Valid (positive) and invalid (negative) cases for each operation, write endpoints included
(the server has an API key): no answer may be a 5xx, and every answer must match the
response schema and content type the document gives for its status code. The stateful phase
chains calls along the links schemathesis infers (POST /articles, then GET, DELETE and the
entity routes on the ids it returned).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.server import Server, running_server

API_KEY = "schemathesis-key-5c1e"
EXAMPLES_PER_MODE = 40
MINIMUM_CASES = 1_000
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
STATEFUL_SCENARIOS = 60


@pytest.fixture
def server(seeded_db: str, tmp_path: Path) -> Iterator[Server]:
    env = {"NEWSDESK_API_KEY": API_KEY, "NEWSDESK_LOG_LEVEL": "WARNING"}
    with running_server(seeded_db, tmp_path / "server.log", env) as running:
        yield running


@pytest.mark.slow
def test_generated_requests_get_no_server_error_and_match_the_schema(server: Server) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    headers = {"X-Api-Key": API_KEY}
    cases = 0
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, [operation.label for operation in operations]
    assert {"POST /articles", "DELETE /articles/{article_id}", "POST /entities/merge"} <= {
        operation.label for operation in operations
    }
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES_PER_MODE,
                deadline=None,
                database=None,
                derandomize=True,  # the same cases on every run: CI failures reproduce
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: Case) -> None:
                nonlocal cases
                cases += 1
                case.call_and_validate(base_url=server.url, headers=headers, checks=CHECKS)

            try:
                call()
            except Unsatisfiable:
                continue  # no invalid request exists for an operation without parameters
            except BaseException as failure:  # schemathesis reports as an exception group
                if isinstance(failure, KeyboardInterrupt):
                    raise
                failures.append(f"{operation.label} ({mode.value}): {failure}")
    assert not failures, "\n\n".join(failures)
    assert cases >= MINIMUM_CASES
    assert '"level": "error"' not in server.log()
    print(f"\nschemathesis: {cases} generated requests over {len(operations)} operations")


@pytest.mark.slow
def test_stateful_sequences_get_no_server_error_and_match_the_schema(server: Server) -> None:
    """schemathesis's own stateful phase, as its CLI runs it (its engine replays scenarios
    whose steps depend on earlier answers, which a plain hypothesis run can't)."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{server.url}/openapi.json",
        "--phases=stateful",
        "--checks=not_a_server_error,response_schema_conformance,content_type_conformance",
        f"--header=X-Api-Key: {API_KEY}",
        f"--max-examples={STATEFUL_SCENARIOS}",
        "--seed=20261130",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-5_000:]
    assert "Stateful" in report, report[-5_000:]
    assert '"level": "error"' not in server.log()
    print(report[-800:])
