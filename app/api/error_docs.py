"""The OpenAPI document states the errors and the page sizes the API really answers with.

FastAPI documents a 422 `HTTPValidationError` on every route with parameters, but the error
handlers answer with `ErrorResponse`; and every route can answer 414 (request line too long)
and 503 (query time limit, database unavailable). Page sizes come from this server's
settings, which the route declarations can't know. This rewrites the generated document once.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.api.deps import PAGE_SIZE_DESCRIPTION
from app.config import Settings
from app.schemas import ErrorResponse

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
COMMON_ERRORS = {
    "414": "The path and query string are longer than the server accepts.",
    "422": "A parameter or the request body has the wrong form or is out of range, or the "
    "query string names a parameter the endpoint doesn't have (code `unknown_parameter`, "
    "with the closest known name).",
    "503": "The query took longer than the time limit, or the database is unavailable.",
}
# NewsAPI-compatible routes answer every error in NewsAPI's own shape (never 422).
OWN_ERROR_SHAPE_TAGS = frozenset({"newsapi"})


def document_errors(app: FastAPI, settings: Settings) -> None:
    """Make app.openapi() document ErrorResponse for 414, 422 and 503 on every operation,
    and the page sizes of `settings`."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_page_sizes(with_error_responses(generate()), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def with_error_responses(schema: dict[str, Any]) -> dict[str, Any]:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "ErrorResponse",
        ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}"),
    )
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            if OWN_ERROR_SHAPE_TAGS & set(operation.get("tags", [])):
                responses.pop("422", None)
                continue
            for status, description in COMMON_ERRORS.items():
                if status == "422" or status not in responses:
                    responses[status] = {
                        "description": description,
                        "content": {"application/json": {"schema": ERROR_REF}},
                    }
    if "HTTPValidationError" not in str(schema.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return schema


def with_page_sizes(schema: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Every `limit` declared by the page-size dependency: this server's default and maximum."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("description") != PAGE_SIZE_DESCRIPTION:
                    continue
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": settings.max_page_size,
                    "default": settings.default_page_size,
                    "title": "Limit",
                }
    return schema
