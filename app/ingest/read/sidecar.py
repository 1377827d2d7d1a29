"""Sidecar files: `<stem>.json` beside an article, holding metadata that wins over extraction.

Format (every field optional):
    {"url": "https://...", "publisher": "Asia Times", "published": "2024-04-18",
     "title": "...", "author": "...", "language": "en", "tags": ["politics"]}
Other fields are kept in the draft's `extra`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.ingest.document import SIDECAR, ArticleDraft
from app.ingest.extract.metafields import (
    MetadataError,
    json_type_name,
    optional_date,
    optional_language,
    optional_string,
    optional_string_list,
)
from app.limits_json import too_deep

# Article kinds that can have a sidecar: a JSON article carries its own metadata.
SIDECAR_OWNER_SUFFIXES = frozenset({".txt", ".html", ".htm"})
_STRING_FIELDS = ("url", "publisher", "title", "author")
_KNOWN_FIELDS = frozenset({*_STRING_FIELDS, "published", "language", "tags"})


class SidecarError(ValueError):
    """A sidecar that cannot be trusted (bad JSON or a wrong field); the article is not loaded."""


@dataclass
class Sidecar:
    """The checked contents of one sidecar: draft field -> value, plus tags and unknown fields."""

    values: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def sidecar_path(article: Path) -> Path | None:
    """The sidecar beside an article file, if the article kind has one and it exists."""
    if article.suffix.lower() not in SIDECAR_OWNER_SUFFIXES:
        return None
    candidate = article.with_suffix(".json")
    return candidate if candidate.is_file() else None


def load_sidecar(path: Path, max_depth: int = 32) -> Sidecar:
    """Read and check a sidecar; raise SidecarError naming the file and the faulty field."""
    try:
        obj = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SidecarError(f"sidecar {path.name} is not readable JSON: {exc}") from exc
    if (why := too_deep(obj, max_depth)) is not None:
        raise SidecarError(f"sidecar {path.name}: {why}")
    if not isinstance(obj, dict):
        raise SidecarError(f"sidecar {path.name} must be a JSON object, not {json_type_name(obj)}")
    try:
        return _checked_sidecar(obj)
    except MetadataError as exc:
        raise SidecarError(f"sidecar {path.name}: {exc}") from exc


def _checked_sidecar(obj: dict[str, Any]) -> Sidecar:
    """Check each known field's type and form (raises MetadataError)."""
    values: dict[str, Any] = {name: optional_string(obj, name) for name in _STRING_FIELDS}
    values["published_at"] = optional_date(obj, "published")
    values["language"] = optional_language(obj, "language")
    return Sidecar(
        values={name: value for name, value in values.items() if value is not None},
        tags=optional_string_list(obj, "tags"),
        extra={key: value for key, value in obj.items() if key not in _KNOWN_FIELDS},
    )


def apply_sidecar(draft: ArticleDraft, sidecar: Sidecar) -> None:
    """Overwrite the draft's fields with the sidecar's, marking them as from the sidecar."""
    for name, value in sidecar.values.items():
        setattr(draft, name, value)
        draft.provenance[name] = SIDECAR
    draft.tags = add_tags(draft.tags, sidecar.tags)
    draft.extra.update(sidecar.extra)


def add_tags(tags: list[str], new: list[str]) -> list[str]:
    """Tags with the new ones appended, each once, in order."""
    return list(dict.fromkeys([*tags, *new]))
