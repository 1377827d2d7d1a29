"""`newsdesk serve --workers N` as users run it: uvicorn's supervisor and N fresh workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from app.config import PROJECT_ROOT
from tests.server import running_server


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def _maps_tantivy(pid: int) -> bool:
    """Whether the process has the search engine's compiled module loaded (the app has;
    a process that only supervises needs none of it)."""
    return "tantivy" in Path(f"/proc/{pid}/maps").read_text()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def test_serve_with_workers_supervises_them_without_the_app(seeded_db: str, tmp_path: Path) -> None:
    """The command's process (same pid: signals reach it) becomes uvicorn's supervisor
    without the command line's imports and the index sync's memory; the workers it starts
    answer, and SIGTERM stops them all."""
    log = tmp_path / "serve.log"
    with running_server(seeded_db, log, cli=True, serve_args=("--workers", "2")) as server:
        answer = httpx.get(f"{server.url}/articles", params={"q": "Taliban"}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["total"] == 5
        workers = [pid for pid in _children(server.pid) if _maps_tantivy(pid)]
        assert len(workers) == 2, (_children(server.pid), server.log())
        assert not _maps_tantivy(server.pid), "the supervisor still holds the app"
        assert _rss_kib(server.pid) < min(_rss_kib(pid) for pid in workers)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0, server.log()
        for pid in workers:
            assert (
                not Path(f"/proc/{pid}").exists()
                or "zombie" in Path(f"/proc/{pid}/status").read_text()
            )


def test_an_app_on_sqlite_loads_only_what_its_requests_use(tmp_path: Path) -> None:
    """Each worker is a whole Python process: a library it never uses, or only for a rare
    request, is memory in each one (psycopg some 10 MB, lxml for the Atom feed some 8 MB)."""
    probe = "import sys; from app.main import create_app; create_app(); print(*sys.modules)"
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("NEWSDESK_")},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'newsdesk.db'}",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        env=environment,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "app.main" in loaded
    assert "psycopg" not in loaded
    assert "lxml" not in loaded


def test_the_supervisor_chooses_its_protocol_without_loading_the_api() -> None:
    """`serve --workers N` reads uvicorn's protocol name, then replaces itself: importing
    the API for that (FastAPI, the routes, the search service: some 0.7 s) only delays the
    first answer."""
    probe = (
        "import sys, app.cli; from app.http_protocol import protocol_for_uvicorn; "
        "print(protocol_for_uvicorn(), *sys.modules)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert loaded[0].startswith("app.http_protocol:JsonErrors")
    assert "app.http_protocol" in loaded
    assert "fastapi" not in loaded
    assert "app.api.security" not in loaded
