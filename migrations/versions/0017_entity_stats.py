"""Each entity's article and mention counts, kept in `entity_stats` as links come and go.

`GET /entities` lists entities by how many articles mention them, and until now counted
every link of the archive for each request: at 100,000 articles (2.5 million links) that
took over 5 s on SQLite, the mention sums reading every link row, and the listing answered
503. Triggers on article_entity now keep the counts, so a listing reads one row an entity.

SQLite has one writer at a time: a row trigger adds or takes away each link. PostgreSQL
uses statement triggers with transition tables, one aggregated upsert per statement (a
bulk COPY of 100,000 links touches each entity once), its rows taken in entity order: two
statements counting the same entities lock their rows in the same order. Transactions of
several such statements can still deadlock; PostgreSQL then fails one, and the ingest runs
it again (app.db.run_retrying). A deleted entity loses its row with it (ON DELETE
CASCADE), and its links' deltas are not written back.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ADD_NEW = (
    "INSERT INTO entity_stats (entity_id, articles, mentions) "
    "VALUES (new.entity_id, 1, new.mentions) "
    "ON CONFLICT (entity_id) DO UPDATE SET articles = articles + 1, "
    "mentions = mentions + excluded.mentions;"
)
_TAKE_OLD = (
    "UPDATE entity_stats SET articles = articles - 1, mentions = mentions - old.mentions "
    "WHERE entity_id = old.entity_id;"
)
SQLITE_TRIGGERS = {
    "entity_stats_link_insert": f"AFTER INSERT ON article_entity BEGIN {_ADD_NEW} END",
    "entity_stats_link_delete": f"AFTER DELETE ON article_entity BEGIN {_TAKE_OLD} END",
    "entity_stats_link_update": (
        f"AFTER UPDATE OF entity_id, mentions ON article_entity BEGIN {_TAKE_OLD} {_ADD_NEW} END"
    ),
}

# PostgreSQL: the statement's links as (entity_id, articles, mentions) deltas, per event.
_DELTAS = {
    "INSERT": "SELECT entity_id, 1 AS articles, mentions FROM added",
    "DELETE": "SELECT entity_id, -1 AS articles, -mentions AS mentions FROM removed",
    "UPDATE": (
        "SELECT entity_id, 1 AS articles, mentions FROM added UNION ALL "
        "SELECT entity_id, -1 AS articles, -mentions AS mentions FROM removed"
    ),
}
_TRANSITIONS = {
    "INSERT": "NEW TABLE AS added",
    "DELETE": "OLD TABLE AS removed",
    "UPDATE": "OLD TABLE AS removed NEW TABLE AS added",
}


def _postgres_function(deltas: str) -> str:
    return f"""
        BEGIN
            INSERT INTO entity_stats AS counted (entity_id, articles, mentions)
            SELECT delta.entity_id, sum(delta.articles), sum(delta.mentions)
            FROM ({deltas}) AS delta
            WHERE EXISTS (SELECT 1 FROM entity WHERE entity.id = delta.entity_id)
            GROUP BY delta.entity_id
            ORDER BY delta.entity_id
            ON CONFLICT (entity_id) DO UPDATE
                SET articles = counted.articles + excluded.articles,
                    mentions = counted.mentions + excluded.mentions;
            RETURN NULL;
        END"""


def upgrade() -> None:
    op.create_table(
        "entity_stats",
        sa.Column(
            "entity_id",
            sa.Integer(),
            sa.ForeignKey("entity.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
    )
    op.execute(
        "INSERT INTO entity_stats (entity_id, articles, mentions) "
        "SELECT entity_id, count(*), sum(mentions) FROM article_entity GROUP BY entity_id"
    )
    if op.get_bind().dialect.name == "postgresql":
        for event, deltas in _DELTAS.items():
            name = f"newsdesk_count_links_{event.lower()}"
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
                f"$body${_postgres_function(deltas)}$body$"
            )
            op.execute(
                f"CREATE TRIGGER entity_stats_link_{event.lower()} AFTER {event} "
                f"ON article_entity REFERENCING {_TRANSITIONS[event]} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
        return
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for event in _DELTAS:
            op.execute(
                f"DROP TRIGGER IF EXISTS entity_stats_link_{event.lower()} ON article_entity"
            )
            op.execute(f"DROP FUNCTION IF EXISTS newsdesk_count_links_{event.lower()}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("entity_stats")
