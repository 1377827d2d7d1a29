"""Turning what users type (names, aliases, ids) into source and entity ids, or close matches."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process
from sqlalchemy import bindparam, func, select
from sqlmodel import Session, col

from app.keys import name_key
from app.models import Entity, EntityAlias, Source


@dataclass
class NotFound(Exception):
    """A name that matches nothing; `suggestions` are the closest known names."""

    kind: str
    value: str
    suggestions: list[str]

    def __str__(self) -> str:
        message = f"unknown {self.kind} {self.value!r}"
        if self.suggestions:
            message += "; did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        return message


def _suggest(value: str, choices: list[str], limit: int = 5) -> list[str]:
    matches = process.extract(value, choices, scorer=fuzz.WRatio, limit=limit, score_cutoff=60)
    return [match[0] for match in matches]


# Ids are 32-bit on PostgreSQL; a larger number can be no id (and would be a database error).
MAX_ID = 2**31 - 1


def is_id(value: str) -> bool:
    """True when value can be a row id: ASCII digits within the id range."""
    stripped = value.strip()
    return stripped.isascii() and stripped.isdigit() and int(stripped) <= MAX_ID


# A request's names are looked up with these, built once and run on the session's
# connection: built and run through the ORM per request, a lookup cost some 20 times its SQL.
_SOURCE_BY_NAME = select(col(Source.id)).where(func.lower(col(Source.name)) == bindparam("name"))
_ENTITIES_BY_ALIAS = select(col(EntityAlias.entity_id)).where(
    col(EntityAlias.key) == bindparam("key")
)


def resolve_source(session: Session, value: str) -> int:
    """A source by id or by name (case-insensitive)."""
    if is_id(value):
        found = session.get(Source, int(value))
        if found is not None and found.id is not None:
            return found.id
    source_id = (
        session.connection()
        .execute(_SOURCE_BY_NAME, {"name": value.strip().lower()})
        .scalar_one_or_none()
    )
    if source_id is None:
        names = list(session.execute(select(col(Source.name))).scalars())
        raise NotFound("source", value, _suggest(value, names))
    return int(source_id)


def resolve_entity(session: Session, value: str) -> list[int]:
    """Entities named by an id, a canonical name or any alias, however cased or accented.

    Every stored entity has its canonical name among its aliases. One name can name
    entities of different types (Georgia the place and the person), so a list comes
    back; a filter on it matches any of them.
    """
    if is_id(value):
        entity = session.get(Entity, int(value))
        if entity is not None and entity.id is not None:
            return [entity.id]
    key = name_key(value)
    ids = set(session.connection().execute(_ENTITIES_BY_ALIAS, {"key": key}).scalars())
    if not ids:
        names = list(session.execute(select(col(Entity.name))).scalars())
        raise NotFound("entity", value, _suggest(value, names))
    return sorted(ids)
