"""One error shape for every failure: {detail, code, extra}; never a stack trace or SQL."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.search.cursor import InvalidCursor
from app.search.lookup import NotFound
from app.search.query import QuerySyntaxError

logger = logging.getLogger("newsdesk.errors")


class ApiError(Exception):
    """An error with an HTTP status, a machine-readable code and a message for people."""

    def __init__(
        self, status: int, code: str, detail: str, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra


def error_response(
    status: int, code: str, detail: str, extra: dict[str, Any] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail, "code": code}
    if extra:
        body["extra"] = extra
    return JSONResponse(status_code=status, content=body)


def describe_validation_error(error: dict[str, Any]) -> str:
    # The first part says where the parameter was (query, path, body): a parameter may be
    # named "query" itself (/timeline/compare), so only that first part is dropped.
    parts = list(error.get("loc", ()))
    if parts and parts[0] in ("query", "path", "body"):
        parts = parts[1:]
    location = [str(part) for part in parts]
    return f"{'.'.join(location) or 'request'}: {error.get('msg', 'invalid value')}"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.code, error.detail, error.extra)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in error.errors()
        ]
        detail = "; ".join(describe_validation_error(e) for e in error.errors())
        return error_response(422, "invalid_parameter", detail, {"errors": errors})

    @app.exception_handler(QuerySyntaxError)
    async def bad_query(_request: Request, error: QuerySyntaxError) -> JSONResponse:
        extra = {"position": error.position, "hint": error.hint}
        return error_response(400, "invalid_query", f"q: {error}", extra)

    @app.exception_handler(InvalidCursor)
    async def bad_cursor(_request: Request, error: InvalidCursor) -> JSONResponse:
        return error_response(400, "invalid_cursor", str(error))

    @app.exception_handler(NotFound)
    async def not_found(_request: Request, error: NotFound) -> JSONResponse:
        extra = {"suggestions": error.suggestions}
        return error_response(404, f"unknown_{error.kind}", str(error), extra)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return error_response(error.status_code, code, str(error.detail))

    app.add_middleware(UnexpectedErrors)


class UnexpectedErrors:
    """Answer an unhandled exception with the JSON 500, inside the other middleware.

    Starlette's own last-resort handler runs outside every middleware: its 500 would carry
    no request id nor security headers, and its log line no request id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"][:300])
            if started:
                raise  # too late for another answer: the server closes the connection
            response = error_response(
                500, "internal_error", "internal error; the server log has details"
            )
            await response(scope, receive, send)
