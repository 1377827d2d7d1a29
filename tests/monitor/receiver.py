"""A webhook receiver on 127.0.0.1 (a real HTTP server in a thread) that answers as a test
scripts it and verifies each request's signature with the standardwebhooks library."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

# A scripted answer: an HTTP status, or HANG (no answer for longer than any test waits).
HANG = 0


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def delivery_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers requests with `script` in turn (its last entry from then on)."""

    secret: str
    script: list[int] = field(default_factory=lambda: [204])
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(receiver.secret).verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
                turn = len(receiver.received)
                receiver.received.append(Received(headers, body, verified))
                status = receiver.script[min(turn, len(receiver.script) - 1)]
                if status == HANG:
                    receiver.release.wait(30)
                    return
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
