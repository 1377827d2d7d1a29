"""The benchmark's profile puts each sample in the layer its CPU time was spent in: inside
an engine call, however deep, else the package of the innermost Python frame."""

from __future__ import annotations

import sys

import pytest

from app.config import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
import profile_query

ROUTE = (
    "run (app/serving.py:110);__call__ (app/api/errors.py:108);"
    "search_or_export_articles (app/api/routes/articles.py:120)"
)


@pytest.mark.parametrize(
    ("innermost", "layer"),
    [
        ("summarize (app/api/summaries.py:34)", "our code (app/)"),
        ("SearchIndex.count (app/search/tantivy/index.py:300)", "the engines: tantivy calls"),
        ("relevance_page (app/search/tantivy/index.py:437)", "the engines: tantivy calls"),
        (
            "execute (sqlalchemy/engine/base.py:1400);"
            "do_execute (sqlalchemy/engine/default.py:1192)",
            "the engines: SQL (sqlite3 execute and fetch)",
        ),
        (
            "LRUCache.get (sqlalchemy/util/_collections.py:502)",
            "SQLAlchemy (statements, connections, rows; not the SQL itself)",
        ),
        ("BaseModel.__init__ (pydantic/main.py:280)", "pydantic (validation, serialization)"),
        (
            "solve_dependencies (fastapi/dependencies/utils.py:600)",
            "framework (FastAPI, Starlette: routing, parameters, dependencies, middleware)",
        ),
        (
            "RequestResponseCycle.send (uvicorn/protocols/http/httptools_impl.py:524)",
            "HTTP server (uvicorn, httptools: parse the request, write the answer)",
        ),
        (
            "WorkerThread.run (anyio/_backends/_asyncio.py:1133)",
            "event loop and worker threads (asyncio, anyio, threading)",
        ),
        (
            "Condition.notify (threading.py:382)",
            "event loop and worker threads (asyncio, anyio, threading)",
        ),
        ("sub (re/__init__.py:185)", "other (standard library, JSON)"),
    ],
)
def test_a_sample_is_put_in_the_layer_of_its_innermost_frame(innermost: str, layer: str) -> None:
    assert profile_query.layer_of(f"{ROUTE};{innermost}") == layer
