"""The benchmark harness's servers: one started on a port another server already answers is
refused, so no figure is measured on another run's server (and database); a query is
measured only once the server has finished the requests an earlier run left queued."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
import http_load


class Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_a_port_another_server_answers_is_refused() -> None:
    other = ThreadingHTTPServer((http_load.HOST, 0), Healthy)
    port = other.server_address[1]
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        command = [sys.executable, "-c", "import time; time.sleep(20)"]
        with pytest.raises(RuntimeError, match=f"port {port} is already in use"):
            http_load.start("newsdesk-port-test", command, port, "/healthz", {})
    finally:
        other.shutdown()
        other.server_close()


def test_a_free_port_can_be_listened_on() -> None:
    port = http_load.free_port()
    assert not http_load.listening(port)
    with socket.socket() as server:
        server.bind((http_load.HOST, port))
        server.listen()
        assert http_load.listening(port)


BUSY_WORKER = """
import pathlib, subprocess, sys, time
if sys.argv[1] == "supervisor":  # as uvicorn's: the work is done in a child process
    subprocess.run([sys.executable, "-c", sys.argv[3], "worker", sys.argv[2], sys.argv[3]])
    time.sleep(60)
else:
    started = time.process_time()
    while time.process_time() - started < 1.0:  # the queued requests a wrk run left
        pass
    pathlib.Path(sys.argv[2]).write_text("answered")
    time.sleep(60)
"""


def test_settle_waits_until_the_server_and_its_workers_are_idle(tmp_path: Path) -> None:
    answered = tmp_path / "answered"
    process = subprocess.Popen(
        [sys.executable, "-c", BUSY_WORKER, "supervisor", str(answered), BUSY_WORKER]
    )
    server = http_load.Server("newsdesk-settle-test", process, "http://unused", 0.0)
    try:
        time.sleep(0.3)  # the worker has started its work
        server.settle(timeout=60)
        assert answered.exists(), "settle returned while a worker was still busy"
        before = server.cpu_seconds()
        time.sleep(0.3)
        assert server.cpu_seconds() - before < 0.05
    finally:
        for pid in reversed(server.worker_pids()):
            os.kill(pid, signal.SIGKILL)
        process.wait()


MEMORY_WORKER = """
import mmap, pathlib, subprocess, sys, time
if sys.argv[1] == "supervisor":
    subprocess.run([sys.executable, "-c", sys.argv[4], "worker", sys.argv[2], sys.argv[3]])
    time.sleep(60)
else:
    heap = bytearray(b"x" * (64 << 20))  # the worker's own memory
    with open(sys.argv[3], "rb") as index:  # as tantivy maps its index files
        mapped = mmap.mmap(index.fileno(), 0, access=mmap.ACCESS_READ)
        sum(mapped[offset] for offset in range(0, len(mapped), 4096))
    pathlib.Path(sys.argv[2]).write_text("ready")
    time.sleep(60)
"""


def test_memory_splits_the_workers_own_memory_from_mapped_files(tmp_path: Path) -> None:
    ready, index = tmp_path / "ready", tmp_path / "index"
    index.write_bytes(os.urandom(32 << 20))
    process = subprocess.Popen(
        [sys.executable, "-c", MEMORY_WORKER, "supervisor", str(ready), str(index), MEMORY_WORKER]
    )
    server = http_load.Server("newsdesk-memory-test", process, "http://unused", 0.0)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        memory = server.memory_mb()
        assert 64 <= memory["pss_anon_mb"] < 64 + 40  # the heap, beside two interpreters
        assert 32 <= memory["pss_file_mb"] < 32 + 40  # the mapped file, beside libraries
        assert memory["pss_mb"] >= memory["pss_anon_mb"] + memory["pss_file_mb"] - 1
        assert memory["rss_mb"] >= memory["pss_mb"] - 1
    finally:
        for pid in reversed(server.worker_pids()):
            os.kill(pid, signal.SIGKILL)
        process.wait()
