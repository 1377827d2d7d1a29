"""The floor: the exact SQL our API runs for a request, replayed on sqlite3 with no HTTP.

The statements are captured from the real application (in-process, through SQLAlchemy's
cursor events) answering the same request, so the floor is what the engine costs and the
difference to the HTTP latency is what the API itself costs.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

Statement = tuple[str, tuple[Any, ...]]


class Capture:
    """An in-process app on `db` that records the SQL each request runs."""

    def __init__(self, db: Path) -> None:
        from fastapi.testclient import TestClient
        from sqlmodel import Session

        from app.config import get_settings
        from app.db import create_db_engine, get_session
        from app.main import create_app

        self.settings = get_settings().model_copy(update={"database_url": f"sqlite:///{db}"})
        self.engine = create_db_engine(self.settings)
        self.statements: list[Statement] = []
        event.listen(self.engine, "before_cursor_execute", self._record)
        app = create_app()

        def session() -> Any:
            with Session(self.engine) as s:
                yield s

        app.dependency_overrides[get_settings] = lambda: self.settings
        app.dependency_overrides[get_session] = session
        self.client = TestClient(app)

    def _record(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")):
            self.statements.append((statement, tuple(params or ())))

    def statements_of(self, path: str) -> tuple[int, list[Statement], Any]:
        """The status, the SQL statements and the JSON body of one request."""
        self.client.get(path)  # warm caches (settings, compiled statements)
        self.statements = []
        response = self.client.get(path)
        body = response.json() if "json" in response.headers.get("content-type", "") else None
        return response.status_code, list(self.statements), body


def replay(db: Path, statements: list[Statement], seconds: float) -> dict[str, Any]:
    """Run the statements one after another, repeatedly for `seconds`: latency percentiles."""
    connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)
    for sql, params in statements:  # warm the page cache
        connection.execute(sql, params).fetchall()
    timings: list[float] = []
    per_statement = [0.0] * len(statements)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(timings) < 5:
        started = time.perf_counter()
        for index, (sql, params) in enumerate(statements):
            before = time.perf_counter()
            connection.execute(sql, params).fetchall()
            per_statement[index] += time.perf_counter() - before
        timings.append(time.perf_counter() - started)
    connection.close()
    runs = len(timings)
    return {
        **percentiles(timings),
        "n": runs,
        "statements": [
            {"sql": " ".join(sql.split())[:300], "ms": 1000 * total / runs}
            for (sql, _), total in zip(statements, per_statement, strict=True)
        ],
    }


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)

    def at(fraction: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99)}
