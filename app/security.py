"""Who may write, how long a request line may be, and the headers every response carries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import SettingsDep
from app.api.errors import ApiError, error_response
from app.config import Settings

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <API key>`")
_api_key_header = APIKeyHeader(
    name="X-Api-Key", auto_error=False, description="The API key in an X-Api-Key header."
)


def key_digest(key: str) -> str:
    """The SHA-256 (hex) that settings store instead of the key."""
    return hashlib.sha256(key.encode()).hexdigest()


def require_api_key(
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key_header)],
) -> None:
    """Let the request through only with the configured API key (401 without, 403 wrong)."""
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


class RequestLineLimit:
    """Answer 414 (JSON) when the path and query string are longer than the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = len(scope.get("raw_path") or scope["path"].encode()) + len(
                scope.get("query_string", b"")
            )
            if size > self.max_bytes:
                response = error_response(
                    414,
                    "uri_too_long",
                    f"the path and query string are {size} bytes; the limit is "
                    f"{self.max_bytes}. Send fewer or shorter parameters.",
                )
                await response(scope, receive, send)
                return
            # A NUL character means nothing in a parameter, and PostgreSQL can't compare
            # text holding one: drop it, the same on every database.
            query = scope.get("query_string", b"")
            if b"%00" in query.upper():
                cleaned = query.replace(b"%00", b"")
                scope = {**scope, "query_string": cleaned}
        await self.app(scope, receive, send)


# JSON responses never need to load anything; the docs pages load their own assets only.
_API_POLICY = "default-src 'none'; frame-ancestors 'none'"
_DOCS_POLICY = (
    "default-src 'none'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


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
    """CORS when origins are configured, the request-line limit, then security headers
    (outermost, so the limit's 414 carries them too)."""
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
