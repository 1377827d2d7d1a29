"""JSONL records for the bulk path, checked and turned into table values.

Each line is one object: `title`, `body` (required), `url`, `source`, `author`,
`published` (ISO 8601), `language`, `tags` (list) and `entities`, a list of
`{"name", "type", "mentions", "forms"}` with type person, organization, location or other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from app.ingest.document import ReadFailure
from app.ingest.extract.metafields import (
    MetadataError,
    json_type_name,
    optional_date,
    optional_language,
    optional_string,
    optional_string_list,
)
from app.ingest.read.files import ArticleFileError, bounded_lines, open_regular, origin_of
from app.ingest.store.articles import content_hash_of_words
from app.parallel import ordered_map
from app.untrusted import url_scheme, web_url

ENTITY_TYPES = frozenset({"person", "organization", "location", "other"})
BULK = "bulk"  # provenance of every field a bulk record gives
CHUNK_LINES = 500  # lines a parsing process takes at a time
_PROVENANCE_FIELDS = ("title", "author", "publisher", "published_at", "language", "url")


# One entity of a record: name, type, mentions, forms. A plain tuple, not a named one: a
# load sends millions of them from its parsing processes, and a named tuple takes four
# times as long to unpickle (its class's constructor runs for each).
BulkEntity = tuple[str, str, int, tuple[str, ...]]


@dataclass
class BulkArticle:
    """One parsed JSONL record: the article's columns, its source, tags and entities."""

    origin: str
    values: dict[str, Any]
    source: str | None
    tags: list[str]
    entities: list[BulkEntity]


def parse_entities(value: Any) -> list[BulkEntity]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MetadataError(f'field "entities" must be a list, not {json_type_name(value)}')
    return [_entity(item) for item in value]


def _entity(item: Any) -> BulkEntity:
    """One entity object; checked by hand, not field by field (millions of them in a load)."""
    if not isinstance(item, dict):
        raise MetadataError("each entity must be an object with name and type")
    name, kind = item.get("name"), item.get("type")
    if not isinstance(name, str) or not name.strip() or kind not in ENTITY_TYPES:
        raise MetadataError(f"entity needs a name and a type in {sorted(ENTITY_TYPES)}")
    mentions = item.get("mentions", 1)
    if not isinstance(mentions, int) or mentions < 1:
        raise MetadataError(f'entity "{name}": mentions must be a positive integer')
    forms = item.get("forms") or [name]
    if not isinstance(forms, list) or not _all_strings(forms):
        raise MetadataError(f'entity "{name}": forms must be a list of strings')
    return (name.strip(), kind, mentions, tuple(forms))


def _all_strings(values: list[Any]) -> bool:
    """Whether every value is a string. A loop, not all() over a generator, which was a
    third of the entity check's time (it runs for every entity of a bulk load)."""
    for value in values:  # noqa: SIM110 - see the docstring
        if not isinstance(value, str):
            return False
    return True


def parse_record(obj: Any, origin: str) -> BulkArticle:
    """Check one JSONL object and turn it into table values; MetadataError says what is wrong."""
    if not isinstance(obj, dict):
        raise MetadataError(f"expected a JSON object, not {json_type_name(obj)}")
    body = optional_string(obj, "body")
    if not body:
        raise MetadataError('field "body" must hold the article text')
    title = optional_string(obj, "title")
    url = web_url(raw_url := optional_string(obj, "url"))
    source = optional_string(obj, "source")
    words = body.split()
    values: dict[str, Any] = {
        "title": title,
        "url": url,
        "author": optional_string(obj, "author"),
        "published_at": optional_date(obj, "published"),
        "language": optional_language(obj, "language"),
        "body": body,
        "lede": body.split("\n\n", 1)[0].strip(),
        "word_count": len(words),
        "content_hash": content_hash_of_words((title or "").split(), words),
    }
    given = {**values, "publisher": source}
    values["provenance"] = {f: BULK if given[f] else "none" for f in _PROVENANCE_FIELDS}
    if raw_url and url is None:  # not http(s): dropped, the article kept (as ingest does)
        values["provenance"]["url"] = f"dropped:{url_scheme(raw_url) or 'not-a-url'}"
    return BulkArticle(
        origin=origin,
        values=values,
        source=source,
        tags=optional_string_list(obj, "tags"),
        entities=parse_entities(obj.get("entities")),
    )


def read_records(
    paths: Iterable[Path],
    max_line_bytes: int = 5_000_000,
    max_file_bytes: int = 2_000_000_000,
    pool: Executor | None = None,
) -> Iterator[BulkArticle | ReadFailure]:
    """Every record of every JSONL file, or a failure naming its file and line, in file order.

    Read line by line: a line over `max_line_bytes` fails unread, a file over
    `max_file_bytes` fails whole. Origins are the path as given and the line (`dumps/a.jsonl:7`).
    With a worker `pool`, lines are parsed in its processes, chunk by chunk, and come back
    in the order read: the same stream as without.
    """
    lines = _numbered_lines(paths, max_line_bytes, max_file_bytes)
    for parsed in ordered_map(parse_chunk, _chunks(lines), pool):
        yield from parsed


_Line = tuple[str, bytes] | ReadFailure


def _numbered_lines(
    paths: Iterable[Path], max_line_bytes: int, max_file_bytes: int
) -> Iterator[_Line]:
    """Each non-blank line with its origin, or the failure of a file or an overlong line."""
    for path in paths:
        name = origin_of(path)
        try:
            stream = open_regular(path, max_file_bytes)
        except ArticleFileError as error:
            yield ReadFailure(name, str(error))
            continue
        with stream:
            for number, line in enumerate(bounded_lines(stream, max_line_bytes), start=1):
                origin = f"{name}:{number}"
                if isinstance(line, int):
                    too_long = f"{line:,} bytes, over the {max_line_bytes:,}-byte limit"
                    yield ReadFailure(origin, f"line {number} is {too_long}")
                elif line.strip():
                    yield origin, line


def _chunks(lines: Iterator[_Line]) -> Iterator[list[_Line]]:
    while chunk := list(islice(lines, CHUNK_LINES)):
        yield chunk


def parse_chunk(chunk: list[_Line]) -> list[BulkArticle | ReadFailure]:
    """The records of a chunk of lines (failures passed through, bad lines turned into one)."""
    parsed: list[BulkArticle | ReadFailure] = []
    for item in chunk:
        if isinstance(item, ReadFailure):
            parsed.append(item)
            continue
        origin, line = item
        try:
            parsed.append(parse_record(orjson.loads(line), origin))
        except (ValueError, MetadataError) as error:
            parsed.append(ReadFailure(origin, str(error)))
    return parsed
