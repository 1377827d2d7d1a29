"""A real uvicorn server in a subprocess, for tests that need real HTTP (logs, load, fuzzing)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.config import PROJECT_ROOT
from app.http_protocol import protocol_for_uvicorn
from tests.e2e.live import free_port, stop, wait_until_serving


@dataclass
class Server:
    url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@contextmanager
def running_server(
    database_url: str,
    log_path: Path,
    env: dict[str, str] | None = None,
    uvicorn_args: tuple[str, ...] = (),
    *,
    cli: bool = False,
    serve_args: tuple[str, ...] = (),
) -> Iterator[Server]:
    """`uvicorn app.main:create_app` (or, with `cli`, `newsdesk serve` with `serve_args` as
    users run it) on a free loopback port with only the given NEWSDESK_* settings; stopped
    on exit."""
    port = free_port()
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("NEWSDESK_")},
        "DATABASE_URL": database_url,
        "NEWSDESK_DATABASE_URL": database_url,
        "PYTHONPATH": str(PROJECT_ROOT),
        **(env or {}),
    }
    if cli:
        command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), *serve_args]
    else:
        command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
        # The protocol `newsdesk serve` runs, so malformed requests get the JSON error too.
        command += ["--http", protocol_for_uvicorn()]
        command += ["--host", "127.0.0.1", "--port", str(port), *uvicorn_args]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(f"http://127.0.0.1:{port}", log_path, process)
    try:
        wait_until_serving(server.url, lambda: process.poll() is None, 60, server.log)
        yield server
    finally:
        stop(process)
