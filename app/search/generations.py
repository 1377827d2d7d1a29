"""Answers kept until the archive changes: a share's denominator (every article per period
under the where/when filters, app/search/coverage.py) is the same for every request until an
article is added, changed or deleted, and counting it grows with the archive while the
numerators' cost does not.

An entry's key holds the database, the engine that answered and that engine's generation:
the database's position in the search change log (archive_generation: on PostgreSQL the
number of changes the snapshot sees, which no other database's transactions move), or the
watermark of the index its searcher reads. Every ingest, delete, edit or curation logs a change (the
triggers of migrations 0004, 0006 and 0013), so it moves the generation and no request
reaches the older entries again; they leave as the least recently used, the entries'
periods held to settings.kept_timeline_periods in all.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from threading import Lock

from app.search.timeline import TimelineCounts

Generation = tuple[Hashable, ...]


class KeptTimelines:
    """Timelines by key, least recently used first out; shared by a process's requests
    (they must not change what they are given)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[Hashable, TimelineCounts] = OrderedDict()
        self._periods = 0
        self._lock = Lock()

    def get(self, key: Hashable) -> TimelineCounts | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Hashable, timeline: TimelineCounts, max_periods: int) -> None:
        """Keep `timeline`, dropping the least recently used while more than `max_periods`
        periods are held (one larger than that alone is not kept)."""
        size = len(timeline.periods) + 1
        if size > max_periods:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._periods -= len(old.periods) + 1
            self._entries[key] = timeline
            self._periods += size
            while self._periods > max_periods:
                _, dropped = self._entries.popitem(last=False)
                self._periods -= len(dropped.periods) + 1

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._periods = 0


KEPT_TIMELINES = KeptTimelines()
