"""A saved search's `query`: the /articles parameters under their own names, checked as
/articles checks them (the same function parses both), so a bad q answers 400 when the
search is saved rather than at its first match.
"""

from __future__ import annotations

import inspect
import typing
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from sqlmodel import Session

from app.api.errors import ApiError
from app.api.filters import FilterParameters, article_filter, resolve_filter
from app.config import Settings
from app.search.filter import ArticleFilter
from app.search.lookup import NotFound
from app.search.query import QuerySyntaxError

# article_filter's own arguments that are not parameters of the request.
_NOT_PARAMETERS = frozenset({"session", "settings"})


@cache
def query_model() -> type[BaseModel]:
    """A model of article_filter's parameters (names, types, limits, aliases such as `from`),
    read off its signature so a parameter added to /articles is accepted here too."""
    hints = typing.get_type_hints(article_filter, include_extras=True)
    fields: dict[str, Any] = {
        name: (hints[name], parameter.default)
        for name, parameter in inspect.signature(article_filter).parameters.items()
        if name not in _NOT_PARAMETERS
    }
    config = ConfigDict(extra="forbid", validate_by_name=False, validate_by_alias=True)
    model: type[BaseModel] = create_model("SavedQuery", __config__=config, **fields)
    return model


def _repeatable(model: type[BaseModel]) -> set[str]:
    return {
        info.alias or name
        for name, info in model.model_fields.items()
        if "list[" in str(info.annotation)
    }


def check_query(query: dict[str, Any]) -> dict[str, Any]:
    """The query as stored (its parameters under their /articles names, defaults left out);
    ApiError 422 naming a parameter that is unknown or of the wrong form."""
    model = query_model()
    repeatable = _repeatable(model)
    # A repeatable parameter given once may be a bare value, as in a query string.
    given = {k: [v] if k in repeatable and not isinstance(v, list) else v for k, v in query.items()}
    try:
        parsed = model.model_validate(given)
    except ValidationError as error:
        detail = "; ".join(
            f"query.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise ApiError(422, "invalid_parameter", detail) from None
    stored: dict[str, Any] = parsed.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return stored


def query_filter(session: Session, settings: Settings, query: dict[str, Any]) -> ArticleFilter:
    """The filter a stored query means now (names of sources and entities resolved again):
    QuerySyntaxError for a bad q, NotFound for an unknown name, ApiError otherwise."""
    model = query_model()
    parsed = model.model_validate(query)
    return resolve_filter(session, settings, FilterParameters(**dict(parsed)))


def saved_filter(
    session: Session, settings: Settings, query: dict[str, Any]
) -> ArticleFilter | None:
    """query_filter, or None when the stored query no longer resolves (a source or entity it
    names is gone, or a limit it met was lowered since)."""
    try:
        return query_filter(session, settings, query)
    except (QuerySyntaxError, NotFound, ApiError, ValidationError):
        return None
