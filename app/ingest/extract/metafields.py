"""Checked reads of metadata fields from JSON objects (sidecars and JSON article exports)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from app.ingest.extract.dates import parse_iso_date

_LANGUAGE_TAG = re.compile(r"^(?P<code>[A-Za-z]{2})(?:[-_][A-Za-z0-9]+)*$")


class MetadataError(ValueError):
    """A metadata field holds a value of the wrong type or form; the message names the field."""


def json_type_name(value: Any) -> str:
    """How JSON would call this value's type, for messages ("a number", "a list")."""
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    names |= {list: "a list", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def optional_string(obj: dict[str, Any], key: str) -> str | None:
    """The field as a stripped string, None when absent, null or blank."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MetadataError(f'field "{key}" must be a string, not {json_type_name(value)}')
    return value.strip() or None


def optional_date(obj: dict[str, Any], key: str) -> datetime | None:
    """The field as an aware UTC datetime; a string that is not a date is an error."""
    text = optional_string(obj, key)
    if text is None:
        return None
    parsed = parse_iso_date(text)
    if parsed is None:
        raise MetadataError(f'field "{key}" must be a date such as "2024-05-29", not {text!r}')
    return parsed


def optional_language(obj: dict[str, Any], key: str) -> str | None:
    """The field as a lower-case ISO 639-1 code ("en-GB" gives "en")."""
    text = optional_string(obj, key)
    if text is None:
        return None
    match = _LANGUAGE_TAG.match(text)
    if match is None:
        raise MetadataError(
            f'field "{key}" must be a two-letter language code like "en", not {text!r}'
        )
    return match["code"].lower()


def optional_string_list(obj: dict[str, Any], key: str) -> list[str]:
    """The field as a list of non-blank strings; anything else is an error."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MetadataError(f'field "{key}" must be a list of strings, not {json_type_name(value)}')
    return [item.strip() for item in value if item.strip()]
