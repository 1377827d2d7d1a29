"""Articles exported as JSON objects (one per .json file or .jsonl line), NewsAPI-style too."""

from __future__ import annotations

import re
from typing import Any

from app.ingest.document import ArticleDraft, from_text
from app.ingest.extract.findings import RANK_METADATA, Findings
from app.ingest.extract.metafields import (
    MetadataError,
    json_type_name,
    optional_date,
    optional_language,
    optional_string,
)
from app.ingest.extract.plaintext import extract_from_lines
from app.ingest.extract.textclean import text_lines

# Draft field -> the keys exports use for it, first present wins.
_TEXT_KEYS = ("body", "content", "text")
_STRING_KEYS = {
    "title": ("title",),
    "subtitle": ("description",),
    "url": ("url",),
    "author": ("author",),
    "publisher": ("publisher", "source"),
}
_DATE_KEYS = ("published", "publishedAt", "date")
_LANGUAGE_KEYS = ("language",)
_KNOWN_KEYS = frozenset(
    {
        *_TEXT_KEYS,
        *_DATE_KEYS,
        *_LANGUAGE_KEYS,
        *(key for keys in _STRING_KEYS.values() for key in keys),
    }
)
# NewsAPI cuts "content" short and says so: "... [+2345 chars]".
_TRUNCATION_MARK = re.compile(r"\s*\[\+\d+ chars\]\s*$")


class InvalidArticleJson(ValueError):
    """A JSON value that is not a usable article; the message says what is wrong."""


def extract_json_article(obj: Any, origin: str) -> ArticleDraft:
    """Turn one exported article object into a draft; its fields win over the text rules."""
    if not isinstance(obj, dict):
        raise InvalidArticleJson(f"expected a JSON object, not {json_type_name(obj)}")
    try:
        findings = _fields_from_object(obj)
        text = _article_text(obj)
    except MetadataError as exc:
        raise InvalidArticleJson(str(exc)) from exc
    draft = extract_from_lines(text_lines(text), origin, findings)
    draft.extra.update({key: value for key, value in obj.items() if key not in _KNOWN_KEYS})
    return draft


def _fields_from_object(obj: dict[str, Any]) -> Findings:
    """Offer each metadata field the object holds, labelled with the key it came from."""
    findings = Findings()
    for name, keys in _STRING_KEYS.items():
        for key in keys:
            value = _source_name(obj) if key == "source" else optional_string(obj, key)
            findings.offer(name, value, from_text(f"json-{key}"), RANK_METADATA)
    for key in _DATE_KEYS:
        findings.offer(
            "published_at", optional_date(obj, key), from_text(f"json-{key}"), RANK_METADATA
        )
    for key in _LANGUAGE_KEYS:
        findings.offer(
            "language", optional_language(obj, key), from_text(f"json-{key}"), RANK_METADATA
        )
    return findings


def _source_name(obj: dict[str, Any]) -> str | None:
    """The publisher in "source": a plain string or NewsAPI's {"id": ..., "name": ...}."""
    source = obj.get("source")
    if isinstance(source, dict):
        return optional_string(source, "name")
    return optional_string(obj, "source")


def _article_text(obj: dict[str, Any]) -> str:
    """The article's text from the first of body, content, text that holds any."""
    for key in _TEXT_KEYS:
        text = optional_string(obj, key)
        if text:
            return _TRUNCATION_MARK.sub("", text)
    raise MetadataError("no article text: none of the fields body, content, text holds a string")
