"""Change log for the search index: the id of every article whose searchable data changed.

SQLite only (the tantivy index is the embedded setup's engine; PostgreSQL searches its own
tsvector column). Triggers append a row to `search_change` whenever an article, its tags or
entity links, its entities' types or its source's domain change; the index holds the
sequence number of the last change it applied (its watermark), so it knows what it lacks.
AUTOINCREMENT keeps sequence numbers growing after the applied rows are pruned.

The bulk loader, which writes articles with their links and tags in one transaction, sets
the link and tag triggers aside inside that transaction: the articles' own rows suffice.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _log(trigger: str, event: str, table: str, article_id: str) -> str:
    return (
        f"CREATE TRIGGER {trigger} AFTER {event} ON {table} BEGIN "
        f"INSERT INTO search_change(article_id) VALUES ({article_id}); END"
    )


SEARCHED_COLUMNS = "title, body, source_id, url, published_at, language, duplicate_of"

SQLITE_UPGRADE = [
    "CREATE TABLE search_change ("
    "seq INTEGER PRIMARY KEY AUTOINCREMENT, article_id INTEGER NOT NULL)",
    _log("search_change_article_insert", "INSERT", "article", "new.id"),
    _log("search_change_article_update", f"UPDATE OF {SEARCHED_COLUMNS}", "article", "new.id"),
    _log("search_change_article_delete", "DELETE", "article", "old.id"),
    _log("search_change_link_insert", "INSERT", "article_entity", "new.article_id"),
    _log("search_change_link_update", "UPDATE", "article_entity", "new.article_id"),
    _log("search_change_link_delete", "DELETE", "article_entity", "old.article_id"),
    _log("search_change_tag_insert", "INSERT", "article_tag", "new.article_id"),
    _log("search_change_tag_delete", "DELETE", "article_tag", "old.article_id"),
    "CREATE TRIGGER search_change_entity_type AFTER UPDATE OF type ON entity BEGIN "
    "INSERT INTO search_change(article_id) "
    "SELECT article_id FROM article_entity WHERE entity_id = new.id; END",
    "CREATE TRIGGER search_change_source_domain AFTER UPDATE OF domain ON source BEGIN "
    "INSERT INTO search_change(article_id) SELECT id FROM article WHERE source_id = new.id; END",
]

TRIGGERS = [
    "search_change_article_insert",
    "search_change_article_update",
    "search_change_article_delete",
    "search_change_link_insert",
    "search_change_link_update",
    "search_change_link_delete",
    "search_change_tag_insert",
    "search_change_tag_delete",
    "search_change_entity_type",
    "search_change_source_domain",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS search_change")
