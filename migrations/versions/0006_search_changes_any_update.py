"""Change triggers fire on any update of a searched row, not on a list of its columns.

Migration 0004 logged an article's update only when one of seven named columns changed, so
a filter on another column (`author`) needed a migration rebuilding the trigger. Now any
update of an article, its tags, its entities or its source logs the article: a new filter
needs no migration. An update that changes nothing the index holds costs one change row,
applied again without effect (the sync replaces the article's document).

SQLite only, as 0004: the tantivy index is the embedded setup's engine; PostgreSQL keeps no
change log (its search reads the tables), so there the upgrade and downgrade do nothing.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 0004's triggers that named columns, and what this migration puts in their place.
OLD_TRIGGERS = {
    "search_change_article_update": (
        "CREATE TRIGGER search_change_article_update AFTER UPDATE OF "
        "title, body, source_id, url, published_at, language, duplicate_of ON article BEGIN "
        "INSERT INTO search_change(article_id) VALUES (new.id); END"
    ),
    "search_change_entity_type": (
        "CREATE TRIGGER search_change_entity_type AFTER UPDATE OF type ON entity BEGIN "
        "INSERT INTO search_change(article_id) "
        "SELECT article_id FROM article_entity WHERE entity_id = new.id; END"
    ),
    "search_change_source_domain": (
        "CREATE TRIGGER search_change_source_domain AFTER UPDATE OF domain ON source BEGIN "
        "INSERT INTO search_change(article_id) "
        "SELECT id FROM article WHERE source_id = new.id; END"
    ),
}
NEW_TRIGGERS = {
    "search_change_article_update": (
        "CREATE TRIGGER search_change_article_update AFTER UPDATE ON article BEGIN "
        "INSERT INTO search_change(article_id) VALUES (new.id); END"
    ),
    "search_change_tag_update": (
        "CREATE TRIGGER search_change_tag_update AFTER UPDATE ON article_tag BEGIN "
        "INSERT INTO search_change(article_id) VALUES (old.article_id); "
        "INSERT INTO search_change(article_id) VALUES (new.article_id); END"
    ),
    "search_change_entity_update": (
        "CREATE TRIGGER search_change_entity_update AFTER UPDATE ON entity BEGIN "
        "INSERT INTO search_change(article_id) "
        "SELECT article_id FROM article_entity WHERE entity_id = new.id; END"
    ),
    "search_change_source_update": (
        "CREATE TRIGGER search_change_source_update AFTER UPDATE ON source BEGIN "
        "INSERT INTO search_change(article_id) "
        "SELECT id FROM article WHERE source_id = new.id; END"
    ),
}


def _replace(drop: dict[str, str], create: dict[str, str]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in drop:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for statement in create.values():
        op.execute(statement)


def upgrade() -> None:
    _replace(OLD_TRIGGERS, NEW_TRIGGERS)


def downgrade() -> None:
    _replace(NEW_TRIGGERS, OLD_TRIGGERS)
