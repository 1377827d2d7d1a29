"""PostgreSQL: a write that logs search changes also wakes the API nodes listening for them.

Each node polls the change log (0013) every NEWSDESK_SEARCH_INDEX_POLL_MS; a node whose
connection reads the primary also LISTENs on the channel `newsdesk_search_change`
(app/search/tantivy/listen.py) and catches up as soon as a write commits.

The notification is sent by statement-level triggers on the tables whose rows feed the log,
not per logged row: a statement storing a thousand articles notifies once. PostgreSQL
delivers a transaction's notifications at its commit (never for one rolled back) and folds
identical ones into one, so each writing transaction wakes each node once, with an empty
payload: the node reads what changed from the log, as when it polls. A statement that
changed no searchable row may wake the nodes for nothing; that costs them one count.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "newsdesk_search_change"
FUNCTION = "newsdesk_notify_search_change"
# The tables and events of 0013's row triggers, one statement trigger each.
TRIGGERS = {
    "search_change_notify_article": ("INSERT OR UPDATE OR DELETE", "article"),
    "search_change_notify_link": ("INSERT OR UPDATE OR DELETE", "article_entity"),
    "search_change_notify_tag": ("INSERT OR UPDATE OR DELETE", "article_tag"),
    "search_change_notify_entity": ("UPDATE", "entity"),
    "search_change_notify_source": ("UPDATE", "source"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $body$ "
        f"BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $body$"
    )
    for trigger, (events, table) in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {trigger} AFTER {events} ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for trigger, (_events, table) in TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
