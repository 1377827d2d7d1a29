"""A page's top entities on PostgreSQL: each link's entity is looked up by its key, whatever
the planner believes about how many links an article has."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.search.articles import _TOP_ENTITIES
from tests.backends import BACKENDS


def scans_under_a_hash(plan: dict[str, Any], hashed: bool = False) -> list[str]:
    """The relations the plan reads beneath a Hash node (built once, then probed)."""
    hashed = hashed or plan["Node Type"] == "Hash"
    found = [plan["Relation Name"]] if hashed and "Relation Name" in plan else []
    for child in plan.get("Plans", []):
        found += scans_under_a_hash(child, hashed)
    return found


# Only on PostgreSQL (the case is not generated without it, rather than skipped on SQLite).
@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_a_page_looks_its_entities_up_by_key_when_the_statistics_overcount_links(
    seeded_db: str,
) -> None:
    """At a million articles ANALYZE's sample put some 174 links on an article for the true
    25, and PostgreSQL hash-joined each article's links with the whole entity table, read
    again for every article of the page (37 ms for a page of 20). Here the statistics are
    made to claim that every link is of one article: no hash join is planned still."""
    engine = create_engine(seeded_db, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "ALTER TABLE article_entity ALTER COLUMN article_id SET (n_distinct = 1)"
            )
            connection.exec_driver_sql("ANALYZE article_entity, entity")
            ids = list(connection.execute(text("SELECT id FROM article")).scalars())
            statement = _TOP_ENTITIES["postgresql"].compile(dialect=connection.dialect)
            parameters = {**statement.params, "ids": ids, "per_article": 5}
            (plan,) = connection.exec_driver_sql(
                f"EXPLAIN (FORMAT JSON) {statement.string}", parameters
            ).scalar_one()
    finally:
        engine.dispose()
    assert len(ids) == 5
    assert scans_under_a_hash(plan["Plan"]) == []
