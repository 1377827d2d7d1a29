"""Collection sources: the feeds, sitemaps and pages `newsdesk collect` watches, and the item
URLs it has handled (never fetched twice).

A collection source belongs to a Source (the outlet), so collected and ingested articles of
one outlet are one source.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "collection_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("discovered_from", sa.String(length=2000), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("last_fetch_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("next_fetch_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("retired_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("added_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["source.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url"),
    )
    op.create_index(
        "ix_collection_source_source_id", "collection_source", ["source_id"], unique=False
    )
    op.create_index(
        "ix_collection_source_next_fetch_at", "collection_source", ["next_fetch_at"], unique=False
    )
    op.create_table(
        "collected_url",
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("collection_source_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_source_id"], ["collection_source.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("url"),
    )
    op.create_index(
        "ix_collected_url_source_seen",
        "collected_url",
        ["collection_source_id", "seen_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_collected_url_source_seen", table_name="collected_url")
    op.drop_table("collected_url")
    op.drop_index("ix_collection_source_next_fetch_at", table_name="collection_source")
    op.drop_index("ix_collection_source_source_id", table_name="collection_source")
    op.drop_table("collection_source")
