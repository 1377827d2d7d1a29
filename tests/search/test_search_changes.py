"""The change log logs any update of a searched row (migration 0006), so a filter on a new
column (author) needs no trigger migration; downgraded to 0005 it logs only 0004's columns.

SQLite only: PostgreSQL keeps no change log (test_postgres.py runs 0006 both ways there).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from app.db import downgrade_database, upgrade_database
from tests.backends import sqlite_url

UPDATES = [
    "UPDATE article SET author = 'Jane Doe'",
    "UPDATE article_tag SET tag = 'sport'",
    "UPDATE entity SET name = 'Vladimir V. Putin'",
    "UPDATE source SET name = 'The Wire'",
]


def changes_after(url: str, statement: str) -> int:
    """How many changes `statement` logs on the one article of the database."""
    engine = create_engine(url)
    with engine.begin() as connection:
        before = connection.execute(text("SELECT count(*) FROM search_change")).scalar_one()
        connection.execute(text(statement))
        after = connection.execute(text("SELECT count(*) FROM search_change")).scalar_one()
    engine.dispose()
    return int(after - before)


def one_article(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        for statement in (
            "INSERT INTO source (id, name, domain) VALUES (1, 'Wire', 'wire.example')",
            "INSERT INTO entity (id, name, type) VALUES (1, 'Putin', 'person')",
            "INSERT INTO article (id, source_id, body, word_count, content_hash, origin, "
            "origins, cites, extra, provenance, ingested_at, updated_at) VALUES (1, 1, 'text', "
            "1, 'h', 'o', '[]', '[]', '{}', '{}', '2024-01-01', '2024-01-01')",
            "INSERT INTO article_tag (article_id, tag) VALUES (1, 'politics')",
            "INSERT INTO article_entity (article_id, entity_id, mentions, forms) "
            "VALUES (1, 1, 1, '[]')",
        ):
            connection.execute(text(statement))
    engine.dispose()


def test_any_update_of_a_searched_row_logs_its_article(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "changes.db")
    upgrade_database(url)
    one_article(url)
    for statement in UPDATES:
        assert changes_after(url, statement) >= 1, statement


def test_downgraded_the_column_lists_are_back_and_upgraded_again_they_are_gone(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path / "changes.db")
    upgrade_database(url)
    one_article(url)
    downgrade_database(url, "0005")
    for statement in UPDATES:  # none of these columns is in 0004's lists
        assert changes_after(url, statement) == 0, statement
    assert changes_after(url, "UPDATE article SET language = 'fr'") == 1
    upgrade_database(url)
    assert changes_after(url, "UPDATE article SET author = 'John Doe'") == 1
