"""The benchmark harness's servers: one started on a port another server already answers is
refused, so no figure is measured on another run's server (and database)."""

from __future__ import annotations

import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
