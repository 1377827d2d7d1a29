"""How deeply JSON nests: checked on the raw text before parsing, and on parsed values.

Deep nesting costs nothing to send and a lot to handle: Python's json module recurses (a
RecursionError past ~1,000 levels), and pydantic refuses to serialize values deeper than its
own limit, so an article stored with a deep `extra` could never be shown again. The API and
ingest refuse documents nested deeper than settings.max_json_depth; values already stored are
cut at that depth when shown (`truncate_depth`).
"""

from __future__ import annotations

import re
from typing import Any

# A JSON string (escapes included); unrolled so a long string is one quick match.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
TRUNCATED = "…"  # what stands for a value cut by truncate_depth


class JsonTooDeep(ValueError):
    """The document nests arrays and objects deeper than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels")
        self.limit = limit


def check_json_depth(document: str | bytes, limit: int) -> None:
    """Raise JsonTooDeep when the raw JSON text nests arrays/objects deeper than `limit`.

    Runs before parsing, in C-speed passes: strings are dropped, then every character but
    brackets, then each pass removes the innermost `[]` and `{}` pairs (one level). At most
    `limit` passes, whatever the size; what can't be paired (malformed text) is measured by
    its run of opening brackets, as a recursive parser would meet them.
    """
    data = document.encode() if isinstance(document, str) else document
    brackets = _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    for removed in range(limit + 1):
        if not brackets:
            return
        shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if len(shorter) == len(brackets):
            # Malformed: what a recursive parser could meet is at most every opening left.
            if removed + brackets.count(b"[") + brackets.count(b"{") > limit:
                raise JsonTooDeep(limit)
            return  # malformed but shallow: the parser will say what is wrong
        brackets = shorter
    raise JsonTooDeep(limit)


def json_depth(value: Any, limit: int | None = None) -> int:
    """How deeply a parsed value nests lists and dicts (a scalar is 0, `[]` or `{}` is 1).

    With a `limit`, counting stops just past it, so a pathological value costs no more than
    it must. Iterative: deep input cannot overflow the stack.
    """
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            deepest = max(deepest, depth)
            if limit is not None and deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def too_deep(value: Any, limit: int) -> str | None:
    """Why a parsed `value` may not be stored (nested deeper than `limit`), or None."""
    if json_depth(value, limit) > limit:
        return f"JSON nested more than {limit} levels deep"
    return None


def truncate_depth(value: Any, limit: int) -> Any:
    """A copy of `value` with every list or dict deeper than `limit` replaced by TRUNCATED."""
    if not isinstance(value, dict | list | tuple) or json_depth(value) <= limit:
        return value
    return _cut(value, limit)


def _cut(value: Any, levels_left: int) -> Any:
    if not isinstance(value, dict | list | tuple):
        return value
    if levels_left <= 0:
        return TRUNCATED
    if isinstance(value, dict):
        return {key: _cut(child, levels_left - 1) for key, child in value.items()}
    return [_cut(child, levels_left - 1) for child in value]
