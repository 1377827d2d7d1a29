"""PostgreSQL gets the search change log too, so API nodes can search a tantivy index of their own.

As on SQLite (0004, 0006), triggers append the id of every article whose searchable data
changes (the article, its tags or entity links, its entities, its source) to `search_change`.
Several nodes read the log, each keeping its position (its watermark) in its own index
folder, so a node reading a hot-standby replica never writes to the database.

A bigserial id orders rows by insertion, not by commit: two transactions can commit in the
other order, and a reader that moved its watermark past a number an unfinished transaction
holds would never see that row. So each row also records its transaction (`xid`), and a
reader takes every row of the transactions older than the oldest one still running
(pg_snapshot_xmin): those are all finished, and every later row belongs to a later or
still-running transaction. The watermark is that transaction boundary.

The log is pruned by age (NEWSDESK_SEARCH_CHANGE_RETENTION_HOURS), never by what one node
applied; `search_change_horizon` records the boundary below which rows may be gone, so a
node whose watermark is below it knows it missed changes and rebuilds.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The transaction number as a plain bigint (xid8 has no btree operators before 15's casts).
CURRENT_XID = "(pg_current_xact_id()::text::bigint)"

FUNCTIONS = {
    # article: the row itself.
    "newsdesk_change_article": """
        BEGIN
            IF TG_OP = 'DELETE' THEN
                INSERT INTO search_change(article_id) VALUES (OLD.id);
            ELSE
                INSERT INTO search_change(article_id) VALUES (NEW.id);
            END IF;
            RETURN NULL;
        END""",
    # article_tag, article_entity: the article(s) the link belongs to, before and after.
    "newsdesk_change_link": """
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                INSERT INTO search_change(article_id) VALUES (OLD.article_id);
            END IF;
            IF TG_OP = 'INSERT'
               OR (TG_OP = 'UPDATE' AND NEW.article_id IS DISTINCT FROM OLD.article_id) THEN
                INSERT INTO search_change(article_id) VALUES (NEW.article_id);
            END IF;
            RETURN NULL;
        END""",
    # entity: every article linked to it (its type is a filter).
    "newsdesk_change_entity": """
        BEGIN
            INSERT INTO search_change(article_id)
            SELECT article_id FROM article_entity WHERE entity_id = NEW.id;
            RETURN NULL;
        END""",
    # source: every article from it (its domain is a filter).
    "newsdesk_change_source": """
        BEGIN
            INSERT INTO search_change(article_id) SELECT id FROM article WHERE source_id = NEW.id;
            RETURN NULL;
        END""",
}

TRIGGERS = {
    "search_change_article": ("INSERT OR UPDATE OR DELETE", "article", "newsdesk_change_article"),
    "search_change_link": ("INSERT OR UPDATE OR DELETE", "article_entity", "newsdesk_change_link"),
    "search_change_tag": ("INSERT OR UPDATE OR DELETE", "article_tag", "newsdesk_change_link"),
    "search_change_entity": ("UPDATE", "entity", "newsdesk_change_entity"),
    "search_change_source": ("UPDATE", "source", "newsdesk_change_source"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE search_change ("
        "seq bigserial PRIMARY KEY, "
        "article_id bigint NOT NULL, "
        f"xid bigint NOT NULL DEFAULT {CURRENT_XID}, "
        "changed_at timestamptz NOT NULL DEFAULT clock_timestamp())"
    )
    op.execute("CREATE INDEX search_change_xid ON search_change (xid)")
    op.execute("CREATE INDEX search_change_changed_at ON search_change (changed_at)")
    op.execute(
        "CREATE TABLE search_change_horizon ("
        "id smallint PRIMARY KEY CHECK (id = 1), pruned_below bigint NOT NULL)"
    )
    op.execute("INSERT INTO search_change_horizon (id, pruned_below) VALUES (1, 0)")
    for name, body in FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body${body}$body$"
        )
    for trigger, (events, table, function) in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER {events} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for trigger, (_events, table, _function) in TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.execute("DROP TABLE IF EXISTS search_change_horizon")
    op.execute("DROP TABLE IF EXISTS search_change")
