"""Metadata values found for one article, each with where it came from and its trust rank."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Lower wins. A page's own metadata beats a rule reading the text; among text rules an
# explicit "Published" line beats a date inside an id, which beats a bare date line.
RANK_METADATA = 0
RANK_TEXT = 1
RANK_TEXT_WEAK = 2
RANK_TEXT_WEAKEST = 3


@dataclass
class Findings:
    """The best value offered so far for each metadata field, with its provenance label."""

    values: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)
    ranks: dict[str, int] = field(default_factory=dict)

    def offer(self, name: str, value: Any, label: str, rank: int = RANK_TEXT) -> None:
        """Keep `value` for `name` unless it is empty or a better-ranked value is already kept."""
        if value is None or value == "" or value == []:
            return
        if name in self.ranks and self.ranks[name] <= rank:
            return
        self.values[name] = value
        self.provenance[name] = label
        self.ranks[name] = rank

    def get(self, name: str) -> Any:
        """The value kept for `name`, or None."""
        return self.values.get(name)
