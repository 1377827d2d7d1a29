"""Opaque keyset cursors: where the previous page ended, for which query, as of which snapshot."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any


class InvalidCursor(ValueError):
    """The cursor is malformed, or belongs to another query."""


@dataclass(frozen=True)
class Cursor:
    """`key` is the last row's sort key; `snapshot` the newest article id of the first page.

    Ids only grow, so filtering on id <= snapshot keeps later pages of a walk from
    picking up articles ingested after it began.
    """

    key: list[Any]
    snapshot: int
    query_hash: str


def query_fingerprint(params: dict[str, Any]) -> str:
    """A short hash of the parameters a cursor is only valid for."""
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def encode_cursor(cursor: Cursor) -> str:
    payload = json.dumps([cursor.key, cursor.snapshot, cursor.query_hash], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(token: str, expected_hash: str) -> Cursor:
    """Parse a cursor from a previous page; InvalidCursor when it is not one of ours."""
    try:
        padded = token + "=" * (-len(token) % 4)
        key, snapshot, query_hash = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error) as error:
        raise InvalidCursor("cursor is not valid: pass next_cursor from a previous page") from error
    if not isinstance(key, list) or not isinstance(snapshot, int) or query_hash != expected_hash:
        raise InvalidCursor(
            "cursor belongs to a different query: keep the other parameters unchanged "
            "while paging, or start again without cursor"
        )
    return Cursor(key=key, snapshot=snapshot, query_hash=query_hash)
