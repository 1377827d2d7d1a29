"""Arabic-script letters folded in the full-text index (app/search/letters.py).

The stored text stays as written; only what is indexed changes. SQLite: the FTS5 triggers
index folded title and body, and the index is refilled. PostgreSQL: the generated tsvector
is recomputed with the letters folded.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence
from functools import partial

from alembic import op

from app.search.letters import sqlite_fold
from app.search.postgres_vector import generated_column, words_0012

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def _sqlite_triggers(fold: bool) -> list[str]:
    def value(column: str) -> str:
        return sqlite_fold(column) if fold else column

    new = f"new.id, {value('new.title')}, {value('new.body')}"
    old = f"'delete', old.id, {value('old.title')}, {value('old.body')}"
    return [
        "DROP TRIGGER IF EXISTS article_fts_insert",
        "DROP TRIGGER IF EXISTS article_fts_delete",
        "DROP TRIGGER IF EXISTS article_fts_update",
        f"""
        CREATE TRIGGER article_fts_insert AFTER INSERT ON article BEGIN
            INSERT INTO article_fts(rowid, title, body) VALUES ({new});
        END
        """,
        f"""
        CREATE TRIGGER article_fts_delete AFTER DELETE ON article BEGIN
            INSERT INTO article_fts(article_fts, rowid, title, body) VALUES ({old});
        END
        """,
        f"""
        CREATE TRIGGER article_fts_update AFTER UPDATE OF title, body ON article BEGIN
            INSERT INTO article_fts(article_fts, rowid, title, body) VALUES ({old});
            INSERT INTO article_fts(rowid, title, body) VALUES ({new});
        END
        """,
        # Index every row again as the triggers now do.
        "INSERT INTO article_fts(article_fts) VALUES ('delete-all')",
        "INSERT INTO article_fts(rowid, title, body) "
        f"SELECT id, {value('title')}, {value('body')} FROM article",
    ]


def _postgres_vector(fold: bool) -> list[str]:
    return generated_column(partial(words_0012, fold=fold))


def _run(statements: list[str]) -> None:
    # Straight to the driver: text() would take the ':punct:' in a regex for a bind parameter.
    for statement in statements:
        op.get_bind().exec_driver_sql(statement)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _run(_sqlite_triggers(fold=True) if sqlite else _postgres_vector(fold=True))


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _run(_sqlite_triggers(fold=False) if sqlite else _postgres_vector(fold=False))
