"""The seed gold (tests/data/expected.json): what a careful reader finds in each seed's text,
and from it which seeds name each entity, the truth entity filters are checked against."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.config import PROJECT_ROOT

GOLD: dict[str, Any] = json.loads(
    (PROJECT_ROOT / "tests" / "data" / "expected.json").read_text(encoding="utf-8")
)


@dataclass
class GoldEntity:
    """One canonical entity of the gold: the seeds (numbers, '000' ... '004') that name it and
    every form they use."""

    name: str
    type: str
    seeds: set[str] = field(default_factory=set)
    forms: set[str] = field(default_factory=set)


def gold_entities() -> dict[str, GoldEntity]:
    """Every gold entity by canonical name."""
    entities: dict[str, GoldEntity] = {}
    for file_name, article in GOLD["articles"].items():
        for listed in article["entities"]:
            entity = entities.setdefault(listed["name"], GoldEntity(listed["name"], listed["type"]))
            entity.seeds.add(file_name[:3])
            entity.forms.update(listed["forms"])
    return entities


def seeds_naming(name: str) -> set[str]:
    """The seeds whose gold lists the entity `name` (canonical)."""
    return gold_entities()[name].seeds
