"""Which databases the test suite runs on, and PostgreSQL test databases made from templates.

SQLite always runs. PostgreSQL runs too when TEST_DATABASE_URL names a server that answers
(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); that database is only used to
create and drop the suite's own databases. With NEWSDESK_REQUIRE_POSTGRES=1 (CI) a missing
or unreachable server fails the run instead of skipping the PostgreSQL half.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

from app.db import upgrade_database

HOW_TO_ENABLE = (
    "set TEST_DATABASE_URL=postgresql+psycopg://user@host/db to run the suite on PostgreSQL too"
)
COPY_CHUNK = 500

Backend = Literal["sqlite", "tantivy", "postgresql"]
# A template database: a SQLite file, or the name of a PostgreSQL database.
Template = Path | str


def _database_worker() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="pg-databases")


@dataclass
class PostgresServer:
    """A reachable PostgreSQL server on which the suite creates and drops its databases.

    Copying a template takes the server about half a second, so the next copy of each
    template is made in the background while a test runs, and used databases are dropped
    in the background too.
    """

    admin_url: URL
    _numbers: itertools.count[int] = field(default_factory=itertools.count)
    _templates: dict[str, str] = field(default_factory=dict)
    _ready: dict[str, Future[str]] = field(default_factory=dict)
    _worker: ThreadPoolExecutor = field(default_factory=_database_worker)

    @property
    def prefix(self) -> str:
        """The databases' name prefix, of the process that makes them: mutmut forks each
        mutant's test run from one process, and two runs at once must not share names."""
        return f"newsdesk_test_{os.getpid()}"

    def url_of(self, name: str) -> str:
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def _admin(self, statement: str) -> None:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()

    def create(self, template: str | None = None) -> str:
        """A new database (a copy of `template`, a database name, if given); its URL."""
        name = f"{self.prefix}_{next(self._numbers)}"
        self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url_of(name)

    def clone(self, template: str) -> str:
        """A fresh copy of `template` for one test; give it back with release()."""
        ready = self._ready.pop(template, None)
        url = ready.result() if ready is not None else self.create(template)
        self._ready[template] = self._worker.submit(self.create, template)
        return url

    def release(self, url: str) -> None:
        self._worker.submit(self.drop, url)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def template(self, kind: str, build: Callable[[str], None]) -> str:
        """The database name of the session's `kind` template, built by build(url) once."""
        if kind not in self._templates:
            url = self.create()
            build(url)
            self._templates[kind] = str(make_url(url).database)
        return self._templates[kind]

    def close(self) -> None:
        """Drop every database the session made (waiting for the background work first)."""
        self._worker.shutdown(wait=True)
        for ready in self._ready.values():
            self.drop(ready.result())
        for name in self._templates.values():
            self.drop(self.url_of(name))
        self._ready.clear()
        self._templates.clear()
        # mutmut runs several sessions in one process (and its forks): the next one starts
        # with a worker of its own.
        self._worker = _database_worker()


@dataclass(frozen=True)
class PostgresStatus:
    """The server when there is one, else why the PostgreSQL half does not run."""

    server: PostgresServer | None
    reason: str
    required: bool

    @property
    def message(self) -> str:
        if self.server is not None:
            return f"PostgreSQL tests run on {self.server.admin_url.render_as_string()}"
        return f"PostgreSQL tests skipped: {self.reason}"


def probe_postgres() -> PostgresStatus:
    """Look for the server TEST_DATABASE_URL names; one short connection attempt."""
    required = os.environ.get("NEWSDESK_REQUIRE_POSTGRES") == "1"
    configured = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not configured:
        return PostgresStatus(None, HOW_TO_ENABLE, required)
    url = make_url(configured)
    if url.get_backend_name() != "postgresql":
        return PostgresStatus(
            None, f"TEST_DATABASE_URL is not PostgreSQL: {HOW_TO_ENABLE}", required
        )
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to connect means: no PostgreSQL half
        reason = f"{url.render_as_string()} is not reachable ({type(error).__name__}: {error})"
        return PostgresStatus(None, " ".join(reason.split()), required)
    finally:
        engine.dispose()
    return PostgresStatus(PostgresServer(url), "", required)


# Filled by the target's own triggers as the rows they count are copied (migration 0017).
DERIVED_TABLES = frozenset({"entity_stats"})


def copy_rows(source_url: str, target_url: str) -> None:
    """Copy every table's rows from a database into a migrated empty one, ids included.

    Used to give PostgreSQL the very data SQLite ingested (the BBC corpus with entities takes
    minutes of NER), so both backends answer the same questions over the same rows.
    """
    from sqlmodel import SQLModel

    import app.models  # noqa: F401  (registers the tables)

    source, target = create_engine(source_url), create_engine(target_url)
    try:
        with source.connect() as reading, target.begin() as writing:
            # A migrated database is not quite empty (its own server secrets): the copy
            # takes the source's rows in their place.
            for table in reversed(SQLModel.metadata.sorted_tables):
                writing.execute(table.delete())
            for table in SQLModel.metadata.sorted_tables:
                if table.name in DERIVED_TABLES:
                    continue
                rows = reading.execute(select(table).order_by(*table.primary_key.columns))
                while chunk := [dict(row) for row in rows.mappings().fetchmany(COPY_CHUNK)]:
                    writing.execute(insert(table), chunk)
        restart_sequences(target)
    finally:
        source.dispose()
        target.dispose()


def restart_sequences(engine: Engine) -> None:
    """Make each serial id continue after the largest copied one."""
    with engine.begin() as connection:
        serials = connection.execute(
            text(
                "SELECT table_name FROM information_schema.columns "
                "WHERE column_name = 'id' AND column_default LIKE 'nextval(%' "
                "AND table_schema = current_schema()"
            )
        ).scalars()
        for table_name in list(serials):
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {table_name}), 0) + 1, false)"
                )
            )


POSTGRES = probe_postgres()
BACKENDS: list[Backend] = ["sqlite", "tantivy"] + (["postgresql"] if POSTGRES.server else [])
# The search engine of each test database (a URL): FTS5 ("database") or the tantivy index.
# Databases a test makes itself get the default, as a user would.
SEARCH_ENGINES: dict[str, str] = {}


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def copy_of_sqlite(sqlite_template: Path) -> Callable[[str], None]:
    """A builder for a PostgreSQL template holding the rows of a SQLite template."""

    def build(url: str) -> None:
        upgrade_database(url)
        copy_rows(sqlite_url(sqlite_template), url)

    return build


def copy_database(template: Path, target: Path, backend: Backend = "sqlite") -> str:
    """A copy of a SQLite template; for [tantivy] with its search index, else without."""
    shutil.copyfile(template, target)
    url = sqlite_url(target)
    if backend == "tantivy":
        shutil.copytree(template.with_suffix(".index"), target.with_suffix(".index"))
    SEARCH_ENGINES[url] = "tantivy" if backend == "tantivy" else "database"
    return url


def fresh_database(template: Template, target: Path, backend: Backend) -> Iterator[str]:
    """A database of the test's own copied from template: yields its URL, then removes it."""
    if isinstance(template, Path):
        yield copy_database(template, target, backend)
        return
    assert POSTGRES.server is not None
    url = POSTGRES.server.clone(template)
    try:
        yield url
    finally:
        POSTGRES.server.release(url)
