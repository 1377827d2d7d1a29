"""`newsdesk serve --workers N` as users run it: N workers forked from the process that
loaded the app, under uvicorn's supervisor."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.config import PROJECT_ROOT
from tests.server import running_server


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def _memory_kib(pid: int) -> dict[str, int]:
    """/proc/PID/smaps_rollup's figures in KiB (Rss, Pss, Anonymous, Pss_Anon, ...)."""
    figures = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        figures[name] = int(value.split()[0])
    return figures


def _gone(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "zombie" in status.read_text()


def _search(url: str) -> int:
    answer = httpx.get(f"{url}/articles", params={"q": "Taliban"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["total"])


def test_serve_forks_its_workers_from_the_loaded_app(seeded_db: str, tmp_path: Path) -> None:
    """The command's process (same pid: signals reach it) loads the app and forks the
    workers: they answer, most of their memory is still the pages they share with it and
    each other (a freshly started interpreter shares none of its heap), and SIGTERM stops
    them all."""
    log = tmp_path / "serve.log"
    with running_server(seeded_db, log, cli=True, serve_args=("--workers", "2")) as server:
        assert _search(server.url) == 5
        workers = _children(server.pid)
        assert len(workers) == 2, server.log()
        for pid in workers:
            memory = _memory_kib(pid)
            # Pss counts a page shared by three processes as a third of a page.
            assert memory["Pss_Anon"] < 0.8 * memory["Anonymous"], (pid, memory)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0, server.log()
        assert all(_gone(pid) for pid in workers)
    assert '"message": "Started parent process' in server.log(), "the log keeps its format"


def test_a_worker_that_dies_is_replaced_by_a_new_fork(seeded_db: str, tmp_path: Path) -> None:
    """kill -9 of a worker: the supervisor forks another, and the server answers on."""
    log = tmp_path / "serve.log"
    with running_server(seeded_db, log, cli=True, serve_args=("--workers", "2")) as server:
        first, second = _children(server.pid)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            workers = _children(server.pid)
            if len(workers) == 2 and first not in workers:
                break
            time.sleep(0.1)
        assert second in workers and first not in workers and len(workers) == 2, server.log()
        replacement = next(pid for pid in workers if pid != second)
        for _ in range(6):  # both workers take connections from the one socket
            assert _search(server.url) == 5
        assert _memory_kib(replacement)["Pss_Anon"] < 0.8 * _memory_kib(replacement)["Anonymous"]


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


def test_serve_reload_runs_the_same_server_options(seeded_db: str, tmp_path: Path) -> None:
    """`serve --reload` (development) answers searches, and a malformed request gets the
    JSON error, as the served app does: it runs with serve's own options."""
    log = tmp_path / "serve.log"
    with running_server(seeded_db, log, cli=True, serve_args=("--reload",)) as server:
        assert _search(server.url) == 5
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), answer
        assert json.loads(body)["code"] == "invalid_http_request"
        assert "reloader" in server.log().lower(), server.log()
