"""The floor: the exact engine work our API does for a request, replayed with no HTTP.

The SQL statements are captured from the real application (in-process, through
SQLAlchemy's cursor events) answering the same request, and so are its calls to the
tantivy searcher (search, count, aggregate, through SearchIndex). Replaying both gives
what the engines cost; the difference to the HTTP latency is what the API itself costs.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

Statement = tuple[str, Any, bool]  # SQL, parameters, and whether it ran as executemany
# SearchIndex methods that ask the tantivy searcher (the query compiled, then run).
ENGINE_CALLS = ("count", "relevance_page", "date_page", "aggregate")
EngineCall = tuple[Any, tuple[Any, ...]]


class Capture:
    """An in-process app on `db` that records the SQL each request runs."""

    def __init__(
        self,
        db: Path,
        search_engine: str = "tantivy",
        database_url: str | None = None,
        index_dir: Path | None = None,
    ) -> None:
        """database_url: another database than the SQLite file `db` (a PostgreSQL node,
        whose tantivy index is in index_dir)."""
        from fastapi.testclient import TestClient
        from sqlmodel import Session

        from app.api.deps import current_settings
        from app.config import get_settings
        from app.db import create_db_engine, get_session
        from app.main import create_app

        update: dict[str, Any] = {
            "database_url": database_url or f"sqlite:///{db}",
            "search_engine": search_engine,
        }
        if index_dir is not None:
            update["search_index_dir"] = index_dir
        self.settings = get_settings().model_copy(update=update)
        self.engine = create_db_engine(self.settings)
        self.statements: list[Statement] = []
        self.engine_calls: list[EngineCall] = []
        event.listen(self.engine, "before_cursor_execute", self._record)
        self._record_engine_calls()
        app = create_app()

        def session() -> Any:
            with Session(self.engine) as s:
                yield s

        app.dependency_overrides[current_settings] = lambda: self.settings
        app.dependency_overrides[get_session] = session
        self.client = TestClient(app)

    def _record(
        self, _conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, many: bool
    ) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")):
            # psycopg takes named parameters (a dict), sqlite3 positional ones
            kept = params if isinstance(params, dict) else tuple(params or ())
            self.statements.append((statement, list(params) if many else kept, many))

    def _record_engine_calls(self) -> None:
        from app.search.tantivy.index import SearchIndex

        for name in ENGINE_CALLS:
            method = getattr(SearchIndex, name)

            def recording(index: Any, *args: Any, _method: Any = method) -> Any:
                self.engine_calls.append((lambda: _method(index, *args), args))
                return _method(index, *args)

            setattr(SearchIndex, name, recording)

    def statements_of(self, path: str) -> tuple[int, list[Statement], list[EngineCall], Any]:
        """The status, the SQL statements, the searcher calls and the JSON body of a request."""
        self.client.get(path)  # warm caches (settings, compiled statements)
        self.statements, self.engine_calls = [], []
        response = self.client.get(path)
        body = response.json() if "json" in response.headers.get("content-type", "") else None
        return response.status_code, list(self.statements), list(self.engine_calls), body


def connect(db: Path) -> sqlite3.Connection:
    """A read-only connection to `db` for replays, with the snippet page tables the app's
    connections make when they connect (app/search/page_snippets.py)."""
    from app.search.page_snippets import make_page_tables

    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)
    make_page_tables(connection)
    return connection


def replay(
    db: Path, statements: list[Statement], seconds: float, engine_calls: Sequence[EngineCall] = ()
) -> dict[str, Any]:
    """Run the statements and searcher calls one after another, repeatedly for `seconds`:
    latency percentiles, and the engine's share."""
    connection = connect(db)
    for statement in statements:  # warm the page cache
        run(connection, statement)
    for call, _ in engine_calls:
        call()
    timings: list[float] = []
    per_statement = [0.0] * len(statements)
    in_engine = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(timings) < 5:
        started = time.perf_counter()
        for index, statement in enumerate(statements):
            before = time.perf_counter()
            run(connection, statement)
            per_statement[index] += time.perf_counter() - before
        before = time.perf_counter()
        for call, _ in engine_calls:
            call()
        in_engine += time.perf_counter() - before
        timings.append(time.perf_counter() - started)
    connection.close()
    runs = len(timings)
    return {
        **percentiles(timings),
        "n": runs,
        "engine_calls": len(engine_calls),
        "engine_ms": 1000 * in_engine / runs,
        "statements": [
            {"sql": " ".join(sql.split())[:300], "ms": 1000 * total / runs}
            for (sql, _, _), total in zip(statements, per_statement, strict=True)
        ],
    }


def run(connection: sqlite3.Connection, statement: Statement) -> None:
    sql, params, many = statement
    if many:
        connection.executemany(sql, params)
    else:
        connection.execute(sql, params).fetchall()


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)

    def at(fraction: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99)}
