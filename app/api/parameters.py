"""Unknown query parameters answer 422 instead of being ignored.

A misspelt parameter (`exclude_duplicates=true` for `duplicates=exclude`) would otherwise
return an unfiltered answer that looks right. Each route's known parameters are read off
the route itself, so a new parameter needs no list kept here. The NewsAPI-compatible routes
don't use this: NewsAPI clients send parameters we don't implement.
"""

from __future__ import annotations

import difflib

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.api.errors import ApiError


def query_parameter_names(dependant: Dependant) -> set[str]:
    """The query parameters of a dependant and of every dependency below it."""
    names: set[str] = set()
    for field in dependant.query_params:
        model = field.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):  # Annotated[Model, Query()]
            names.update(info.alias or name for name, info in model.model_fields.items())
        else:
            names.add(field.alias)
    for dependency in dependant.dependencies:
        names |= query_parameter_names(dependency)
    return names


_KNOWN = "_newsdesk_known_parameters"  # where a route keeps them (APIRoute is unhashable)


def known_parameters(route: APIRoute) -> frozenset[str]:
    """The query parameter names a route declares, through any of its dependencies (walked
    once per route: a route's dependencies don't change once the app is built)."""
    known: frozenset[str] | None = getattr(route, _KNOWN, None)
    if known is None:
        known = frozenset(query_parameter_names(route.dependant))
        setattr(route, _KNOWN, known)
    return known


def closest_parameter(name: str, known: frozenset[str]) -> str | None:
    """The known parameter a user most likely meant by `name`, if one is close enough."""
    lowered = name.lower()
    if lowered in known:
        return lowered
    matches = difflib.get_close_matches(lowered, sorted(known), n=1, cutoff=0.6)
    if matches:
        return matches[0]
    # `exclude_duplicates` for `duplicates`, `source_name` for `source`: the meant word inside.
    inside = sorted((k for k in known if len(k) > 2 and k in lowered), key=len, reverse=True)
    return inside[0] if inside else None


async def reject_unknown_parameters(request: Request) -> None:
    """Answer 422 `unknown_parameter` naming every query parameter the route doesn't know
    (async: no I/O, so no trip through the thread pool)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = known_parameters(route)
    unknown = sorted({name for name in request.query_params if name not in known})
    if not unknown:
        return
    suggestions = {name: closest_parameter(name, known) for name in unknown}
    parts = []
    for name, suggestion in suggestions.items():
        hint = f"; did you mean {suggestion}?" if suggestion else ""
        parts.append(f"unknown parameter {name}{hint}")
    raise ApiError(
        422,
        "unknown_parameter",
        "; ".join(parts),
        {"unknown": unknown, "suggestions": suggestions, "known": sorted(known)},
    )
