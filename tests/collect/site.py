"""A real HTTP server on 127.0.0.1 for the collector's tests: each instance (its own port)
stands for one host. Routes are set per path; every request is logged with its time and
headers, so a test can prove what was (never) asked and when."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One answer: status, headers, body (or a callable making the body), an optional delay."""

    body: bytes | Callable[[], bytes] = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    gzip: bool = False
    etag: str | None = None  # answered 304 when the request's If-None-Match matches


@dataclass
class Request:
    path: str
    at: float
    headers: dict[str, str]
    status: int


class Site:
    """A host: `site.route(path, Reply(...))` or a list of replies (served in turn, the last
    one repeated); `site.url(path)`; `site.requests` in arrival order."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                site.handle(self)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, *replies: Reply) -> None:
        self.routes[path] = list(replies)

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            replies = self.routes.get(handler.path)
            reply = (replies.pop(0) if len(replies) > 1 else replies[0]) if replies else None
        reply = reply or Reply(b"not found", 404)
        headers = {name.lower(): value for name, value in handler.headers.items()}
        status = reply.status
        body = reply.body() if callable(reply.body) else reply.body
        if reply.etag is not None and headers.get("if-none-match") == reply.etag:
            status, body = 304, b""
        with self._lock:
            self.requests.append(Request(handler.path, time.monotonic(), headers, status))
        if reply.delay:
            time.sleep(reply.delay)
        out = dict(reply.headers)
        if reply.etag is not None:
            out["ETag"] = reply.etag
        if reply.gzip and status == 200:
            body = gzip.compress(body)
            out["Content-Encoding"] = "gzip"
        try:
            handler.send_response(status)
            for name, value in out.items():
                if value:
                    handler.send_header(name, value)
            if out.get("Content-Length") == "":
                # No length: the body runs until the connection closes.
                handler.send_header("Connection", "close")
                handler.close_connection = True
            elif "Content-Length" not in out:
                handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if status != 304:
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
