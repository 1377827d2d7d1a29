"""Shared fixtures: a fresh database per test (seeded or empty) and an API client bound to it.

Seeding runs real spaCy once per session into a template database; each test gets its own
copy, so tests never see each other's writes. Under `make mutation` a template is shared
between mutant runs when the mutant cannot have changed it (tests/mutation_templates.py).

Every database fixture runs on SQLite searched by FTS5 ([sqlite]), on SQLite searched by the
tantivy index beside it ([tantivy]), and on PostgreSQL too when TEST_DATABASE_URL is set
([postgresql]; see tests/backends.py); `replica` adds a streaming replica of that server
(tests/replica.py). A PostgreSQL test gets its
own database, created from a template database with CREATE DATABASE ... TEMPLATE and dropped
afterwards. Tests that only make sense on one backend say so with a marker (`postgres`) or
by not using these fixtures (the FTS5 and sqlite3-file tests).

Only hooks and fixtures live here; the plain helpers they use are in tests/helpers.py,
tests/backends.py and tests/clients.py, which tests import directly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import create_db_engine, upgrade_database
from tests.backends import (
    BACKENDS,
    POSTGRES,
    Backend,
    PostgresServer,
    Template,
    copy_of_sqlite,
    fresh_database,
    sqlite_url,
)
from tests.clients import make_client
from tests.helpers import (
    bbc_corpus_path,
    build_empty_database,
    build_search_index,
    ingest_paths,
    machine_lock,
    seed_database,
    settings_for,
    shared_template,
)
from tests.mutation_templates import build_template
from tests.replica import Replica, ReplicaUnavailable, start_replica


def pytest_report_header() -> str:
    return POSTGRES.message


# Under pytest-xdist (`make test` runs `-n auto --dist loadgroup`) the tests of one group run
# one after another on one worker. The replica fixture starts a PostgreSQL standby per process,
# so its tests share one worker and one standby. The container tests build one image tag in a
# module fixture, and the browser tests write the same screenshots. The tests of the group
# "alone" also have the machine to themselves (the other workers wait between two of their
# tests): the load and soak tests run 64 clients each (the nodes' load test 32), and the
# others time requests or measure memory, which a busy neighbour would change.
# Groups are named here by node id (a file, or a test in all its parameters), not with
# xdist_group marks: pytest-xdist 3.8 marks a group by rewriting item._nodeid, which pytest 9
# no longer reads, so the marks are silently ignored. The scheduler below reads this table.
XDIST_GROUP_MEMBERS = {
    "replica": ["tests/test_replica.py"],
    "container": ["tests/e2e/test_container.py"],
    "browser": ["tests/e2e/test_docs_browser.py", "tests/e2e/test_charts_browser.py"],
    "alone": [
        "tests/test_load.py",
        "tests/test_soak.py",
        "tests/api/test_deadlines.py",
        "tests/api/test_export_memory.py",
        "tests/api/test_request_hardening.py::"
        "test_a_200_mb_post_without_a_key_is_refused_before_its_body",
        "tests/collect/test_commands.py::"
        "test_collect_watch_stops_on_sigterm_with_nothing_half_written",
        "tests/collect/test_commands.py::"
        "test_collect_watch_exits_after_the_grace_period_when_a_fetch_hangs",
        "tests/test_nodes.py::test_two_nodes_under_load_with_two_ingests_fail_nothing_and_then_agree",
    ],
}
XDIST_GROUPS = {member: group for group, ids in XDIST_GROUP_MEMBERS.items() for member in ids}
ALONE = "alone"


def xdist_group(nodeid: str) -> str | None:
    """The group of the test `nodeid` (XDIST_GROUPS), if it is in one."""
    path, _, name = nodeid.partition("::")
    return XDIST_GROUPS.get(f"{path}::{name.partition('[')[0]}") or XDIST_GROUPS.get(path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """For --dist load and loadgroup: pytest-xdist's load-scope scheduling, whose scopes are
    the groups of XDIST_GROUPS and otherwise single tests."""
    if config.getvalue("dist") not in {"load", "loadgroup"}:
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid) or nodeid

    return GroupScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "replica" in getattr(item, "fixturenames", ()) and xdist_group(item.nodeid) != "replica":
            raise pytest.UsageError(
                f"{item.nodeid} uses the replica fixture: add it to XDIST_GROUP_MEMBERS['replica'] "
                "(tests/conftest.py), so that one worker starts one standby"
            )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Under pytest-xdist, each test (set-up to teardown) holds the run's machine lock: shared,
    or alone for the tests of the group "alone"."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None or item.config.option.basetemp is None:
        return (yield)
    alone = xdist_group(item.nodeid) == ALONE
    with machine_lock(Path(item.config.option.basetemp).parent, alone=alone):
        return (yield)


def pytest_sessionstart(session: pytest.Session) -> None:
    if POSTGRES.required and POSTGRES.server is None:
        pytest.exit(
            f"NEWSDESK_REQUIRE_POSTGRES=1, but the PostgreSQL half can not run: {POSTGRES.reason}",
            pytest.ExitCode.USAGE_ERROR,
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if POSTGRES.server is None:
        terminalreporter.write_line(POSTGRES.message, yellow=True, bold=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if POSTGRES.server is not None:
        POSTGRES.server.close()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Where the test's data lives and is searched: "sqlite" (FTS5), "tantivy" (SQLite with
    the search index) and "postgresql" with TEST_DATABASE_URL."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """The PostgreSQL server of TEST_DATABASE_URL (the test is skipped without one)."""
    if POSTGRES.server is None:
        pytest.skip(POSTGRES.message)
    return POSTGRES.server


@pytest.fixture(scope="session")
def replica(postgres_server: PostgresServer) -> Iterator[Replica]:
    """A streaming replica (hot standby) of the test server, one per session: skipped with
    the reason when it can't be made here, failed instead under NEWSDESK_REQUIRE_POSTGRES=1."""
    try:
        standby = start_replica(postgres_server.admin_url)
    except ReplicaUnavailable as error:
        if POSTGRES.required:
            pytest.fail(f"no streaming replica: {error}")
        pytest.skip(f"no streaming replica: {error}")
    yield standby
    standby.remove()


@pytest.fixture(scope="session")
def bbc_corpus() -> Path:
    path = bbc_corpus_path()
    if path is None:
        pytest.skip(
            "BBC corpus not found: set NEWSDESK_BBC_CORPUS to the corpus/bbc folder "
            "(it is at ../shared/corpus/bbc in CI)"
        )
    return path


@pytest.fixture(scope="session")
def sqlite_empty_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("templates") / "empty.db"
    build_template("empty", path, build_empty_database)
    return path


@pytest.fixture(scope="session")
def sqlite_seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("templates") / "seeded.db"
    build_template("seeded", path, lambda path: seed_database(sqlite_url(path)))
    return path


@pytest.fixture(scope="session")
def sqlite_bbc_template(tmp_path_factory: pytest.TempPathFactory, bbc_corpus: Path) -> Path:
    """The whole BBC corpus ingested with entity recognition into SQLite, once per session."""

    def build(path: Path) -> None:
        url = sqlite_url(path)
        upgrade_database(url)
        report = ingest_paths(settings_for(url, search_engine="database"), bbc_corpus)
        assert report.failed == 0, report.failures  # type: ignore[attr-defined]
        print(f"\nBBC corpus ingested with NER: {report.summary()}")  # type: ignore[attr-defined]
        build_search_index(path)

    return shared_template(tmp_path_factory, "bbc.db", build)


@pytest.fixture(scope="session")
def empty_template(backend: Backend, request: pytest.FixtureRequest) -> Template:
    """A migrated, empty template database of the backend."""
    if backend != "postgresql":
        return request.getfixturevalue("sqlite_empty_template")  # type: ignore[no-any-return]
    return request.getfixturevalue("postgres_server").template("empty", upgrade_database)


@pytest.fixture(scope="session")
def seeded_template(backend: Backend, request: pytest.FixtureRequest) -> Template:
    """A template database of the backend holding the seeds (ingested into each backend)."""
    if backend != "postgresql":
        return request.getfixturevalue("sqlite_seeded_template")  # type: ignore[no-any-return]
    return request.getfixturevalue("postgres_server").template("seeded", seed_database)


@pytest.fixture(scope="session")
def bbc_template(backend: Backend, request: pytest.FixtureRequest) -> Template:
    """The BBC corpus ingested with NER: the SQLite file, or on PostgreSQL a copy of its rows
    (the same ids, so answers compare one to one; PostgreSQL ingest has tests of its own)."""
    sqlite_template: Path = request.getfixturevalue("sqlite_bbc_template")
    if backend != "postgresql":
        return sqlite_template
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.template("bbc", copy_of_sqlite(sqlite_template))


@pytest.fixture
def empty_db(empty_template: Template, tmp_path: Path, backend: Backend) -> Iterator[str]:
    """URL of a migrated, empty database of this test's own."""
    yield from fresh_database(empty_template, tmp_path / "newsdesk.db", backend)


@pytest.fixture
def seeded_db(seeded_template: Template, tmp_path: Path, backend: Backend) -> Iterator[str]:
    """URL of a database of this test's own holding the five seed articles."""
    yield from fresh_database(seeded_template, tmp_path / "newsdesk.db", backend)


@pytest.fixture
def bbc_db(bbc_template: Template, tmp_path: Path, backend: Backend) -> Iterator[str]:
    """URL of a database of this test's own holding the BBC corpus (2,225 articles)."""
    yield from fresh_database(bbc_template, tmp_path / "bbc.db", backend)


@pytest.fixture
def bbc_client(bbc_db: str) -> Iterator[TestClient]:
    """An API client on a copy of the ingested BBC corpus."""
    settings = settings_for(bbc_db)
    engine = create_db_engine(settings)
    with make_client(settings, engine) as test_client:
        yield test_client
    engine.dispose()


@pytest.fixture
def settings(seeded_db: str) -> Settings:
    return settings_for(seeded_db)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = create_db_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """An API client on the seeded database."""
    with make_client(settings, engine) as test_client:
        yield test_client


@pytest.fixture
def seed_ids(engine: Engine) -> dict[str, int]:
    """Article id by seed number ('000' ... '004')."""
    from sqlalchemy import select

    from app.models import Article

    with Session(engine) as session:
        rows = session.execute(select(Article.id, Article.origin)).all()
    return {Path(origin).name[:3]: article_id for article_id, origin in rows}


@pytest.fixture
def far_east_local_zone() -> Iterator[None]:
    """The process's local zone 14 hours ahead of UTC, as on a server in Kiribati."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Kiritimati"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()
