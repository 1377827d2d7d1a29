"""uvicorn's HTTP protocols, answering a request they can't parse with the JSON error.

uvicorn answers a malformed request (a 100 KB request line, a broken header) itself, before
the app sees it, with `400 Invalid HTTP request received.` in text/plain. These subclasses
answer with the documented error shape and the headers every other response carries.
`newsdesk serve` runs them; `uvicorn --http app.http_protocol:JsonErrorsHttpToolsProtocol`
(or `JsonErrorsH11Protocol`) does the same when uvicorn is started by hand.
"""

from __future__ import annotations

import importlib.util
import json

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.api.security import SECURITY_HEADERS

BODY = json.dumps(
    {"detail": "the request is not valid HTTP/1.1", "code": "invalid_http_request"}
).encode()


def invalid_request_response() -> bytes:
    """The whole 400 response, status line to body, ready for the socket."""
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
        (b"connection", b"close"),
        *SECURITY_HEADERS,
    ]
    head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return b"HTTP/1.1 400 Bad Request\r\n" + head + b"\r\n" + BODY


class JsonErrorsHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (the default when httptools is installed)."""

    def send_400_response(self, msg: str) -> None:
        self.transport.write(invalid_request_response())
        self.transport.close()


class JsonErrorsH11Protocol(H11Protocol):
    """uvicorn's pure-Python h11 protocol."""

    def send_400_response(self, msg: str) -> None:
        self.transport.write(invalid_request_response())
        self.transport.close()


def protocol_for_uvicorn() -> str:
    """uvicorn's `http=` setting: httptools when installed (uvicorn's own choice), else h11."""
    name = (
        "JsonErrorsHttpToolsProtocol"
        if importlib.util.find_spec("httptools")
        else "JsonErrorsH11Protocol"
    )
    return f"app.http_protocol:{name}"
