"""Who may write, how long a request line may be, and the headers every response carries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import SettingsDep
from app.api.errors import ApiError, error_response
from app.config import Settings
from app.limits_json import JsonTooDeep, check_json_depth

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <API key>`")
_api_key_header = APIKeyHeader(
    name="X-Api-Key", auto_error=False, description="The API key in an X-Api-Key header."
)


def key_digest(key: str) -> str:
    """The SHA-256 (hex) that settings store instead of the key."""
    return hashlib.sha256(key.encode()).hexdigest()


async def require_api_key(
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key_header)],
) -> None:
    """Let the request through only with the configured API key (401 without, 403 wrong).
    (async: no I/O, so no trip through the thread pool.)"""
    presented = bearer.credentials if bearer is not None else header_key
    if settings.api_key_hash is None:
        raise ApiError(404, "not_found", "Not Found")
    if not presented:
        raise ApiError(
            401,
            "missing_api_key",
            "this endpoint needs the API key: send `Authorization: Bearer KEY` or `X-Api-Key: KEY`",
        )
    # Compare digests, not keys: equal length, and constant time whatever the input.
    if not hmac.compare_digest(key_digest(presented), settings.api_key_hash):
        raise ApiError(403, "invalid_api_key", "the API key is not valid")


ApiKeyDep = Depends(require_api_key)


# Answered without a key even when reads need one: orchestrators probe these.
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_KEY_HINT = "send `Authorization: Bearer KEY` or `X-Api-Key: KEY`"


def presented_key(scope: Scope) -> str | None:
    """The key a request carries: `Authorization: Bearer KEY`, else `X-Api-Key: KEY`."""
    headers: dict[bytes, bytes] = {name: value for name, value in scope.get("headers", [])}
    scheme, _, credentials = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return headers.get(b"x-api-key", b"").decode("latin-1") or None


def key_role(settings: Settings, key: str) -> str | None:
    """ "write" for the API key, "read" for a read key, None for anything else."""
    digest = key_digest(key)
    # Every candidate is compared, in constant time, whichever matches.
    write = settings.api_key_hash is not None and hmac.compare_digest(digest, settings.api_key_hash)
    read = [hmac.compare_digest(digest, known) for known in settings.read_api_key_hashes]
    return "write" if write else "read" if any(read) else None


class AccessGuard:
    """Keys and body limits, decided from the headers before any body is read.

    A write (any method but GET, HEAD, OPTIONS) needs the API key when one is configured;
    with `require_read_key` every request but /healthz and /readyz needs a read key or the
    API key. A body longer than `max_body_bytes` (declared, or counted as it streams) is
    answered 413; a write's JSON body nested deeper than `max_json_depth` 422. A write's body
    is read here, up to the limit, and handed on to the route.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.key_refusal(scope) or self.declared_size_refusal(scope)
        if refusal is None and scope["method"] not in _SAFE_METHODS:
            body, refusal = await self.read_body(scope, receive)
            if refusal is None:
                receive = replay(body, receive)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def key_refusal(self, scope: Scope) -> Response | None:
        settings = self.settings
        write = scope["method"] not in _SAFE_METHODS
        needs_key = write and settings.api_key_hash is not None
        if settings.require_read_key and scope["path"] not in OPEN_PATHS:
            needs_key = True
        if not needs_key:
            return None
        key = presented_key(scope)
        if key is None:
            what = "the API key" if write else "a key (a read key or the API key)"
            return error_response(
                401, "missing_api_key", f"this endpoint needs {what}: {_KEY_HINT}"
            )
        role = key_role(settings, key)
        if role is None:
            return error_response(403, "invalid_api_key", "the API key is not valid")
        if write and role == "read" and settings.api_key_hash is not None:
            return error_response(403, "read_only_key", "a read key can not write; use the API key")
        return None

    def declared_size_refusal(self, scope: Scope) -> Response | None:
        for name, value in scope.get("headers", []):
            if (
                name == b"content-length"
                and value.isdigit()
                and int(value) > self.settings.max_body_bytes
            ):
                return self.too_large()
        return None

    async def read_body(self, scope: Scope, receive: Receive) -> tuple[bytes, Response | None]:
        """The whole body (at most max_body_bytes), or the reason it is refused."""
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return b"", None  # the client went away; the route will see it too
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.settings.max_body_bytes:
                return b"", self.too_large()
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if _is_json(scope):
            try:
                check_json_depth(body, self.settings.max_json_depth)
            except JsonTooDeep as error:
                return body, error_response(
                    422,
                    "json_too_deep",
                    f"the body nests arrays and objects deeper than {error.limit} levels",
                    {"max_depth": error.limit},
                )
        return body, None

    def too_large(self) -> Response:
        limit = self.settings.max_body_bytes
        response = error_response(
            413,
            "payload_too_large",
            f"the request body is over the {limit}-byte limit",
            {"limit_bytes": limit},
        )
        # The rest of the body is never read: the connection can't carry another request.
        response.headers["connection"] = "close"
        return response


def _is_json(scope: Scope) -> bool:
    """A body the routes parse as JSON: declared so, or with no content type at all."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return b"json" in value.lower()
    return True


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands over the body already read, then listens to the client again."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


class RequestLineLimit:
    """Answer 414 (JSON) when the path and query string are longer than the limit, and 422
    when a query parameter's name or value holds a control character.

    The query is decoded once, as the routes will decode it, and checked; nothing is stripped
    (stripping `%00` from `%%0000` would leave a new `%00`)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self.refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> Response | None:
        query: bytes = scope.get("query_string", b"")
        size = len(scope.get("raw_path") or scope["path"].encode()) + len(query)
        if size > self.max_bytes:
            return error_response(
                414,
                "uri_too_long",
                f"the path and query string are {size} bytes; the limit is "
                f"{self.max_bytes}. Send fewer or shorter parameters.",
            )
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            found = _CONTROL.search(name) or _CONTROL.search(value)
            if found:
                shown = name.encode("unicode_escape").decode("ascii")
                return error_response(
                    422,
                    "invalid_parameter",
                    f"{shown}: control character U+{ord(found.group()):04X} is not allowed "
                    "in a parameter",
                    {"parameter": name},
                )
        return None


# JSON responses never need to load anything; the docs pages load their own assets only.
_API_POLICY = "default-src 'none'; frame-ancestors 'none'"
_DOCS_POLICY = (
    "default-src 'none'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# C0 controls but tab, newline and carriage return (plain whitespace to every engine), DEL, C1.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# What every answer carries, the uvicorn protocol's own 400 included (app/http_protocol.py).
SECURITY_HEADERS = [*_COMMON_HEADERS, (b"content-security-policy", _API_POLICY.encode())]


def docs_policy(html: bytes) -> str:
    """A Content-Security-Policy allowing exactly the page's own inline scripts (by hash)."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]
    return _DOCS_POLICY.format(scripts=" ".join(hashes))


class SecurityHeaders:
    """nosniff, no framing, no referrer, and a Content-Security-Policy on every response.

    HTML pages (the docs) are buffered to allow exactly their own inline scripts by hash.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message = {}
        body = b""

        async def send_with_headers(message: Message) -> None:
            nonlocal start, body
            if message["type"] == "http.response.start":
                if not _is_html(message):
                    await send(_with_policy(message, _API_POLICY))
                    return
                start = message
                return
            if message["type"] == "http.response.body" and start:
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    await send(_with_policy(start, docs_policy(body)))
                    await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_html(start: Message) -> bool:
    return any(
        name == b"content-type" and value.startswith(b"text/html")
        for name, value in start.get("headers", [])
    )


def _with_policy(start: Message, policy: str) -> Message:
    headers = [*start.get("headers", []), *_COMMON_HEADERS]
    return {**start, "headers": [*headers, (b"content-security-policy", policy.encode())]}


def install_security(app: FastAPI, settings: Settings) -> None:
    """From the inside out: keys and body limits, CORS when origins are configured (so even a
    401 carries its headers), the request-line checks, then security headers (outermost, so
    every refusal above carries them too)."""
    app.add_middleware(AccessGuard, settings=settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-Api-Key", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(RequestLineLimit, max_bytes=settings.max_url_length)
    app.add_middleware(SecurityHeaders)
