"""Lookup keys shared by ingest and the API: the same name, however it is cased or accented."""

from __future__ import annotations

import re
import unicodedata

_DROPPED = re.compile(r"[.'’`]")
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_/]+")


def name_key(name: str) -> str:
    """Case-, accent- and punctuation-folded form of a name: 'Médvedev', 'MEDVEDEV' and
    'U.S.'/'US' agree."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SEPARATORS.sub(" ", _DROPPED.sub("", stripped.casefold())).strip()
