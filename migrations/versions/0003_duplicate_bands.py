"""Near-duplicate detection: MinHash LSH band keys per article; an FTS5 vocabulary on SQLite.

`article_band` holds one row per (band key, article): two articles sharing a key are
candidates for a near-duplicate check, found through the primary key without a scan.
On SQLite, `article_fts_vocab` (an fts5vocab view over the full-text index, no storage)
gives each term's document frequency for the similar-articles ranking.

Existing articles get their band keys and fingerprint the next time they are ingested
(an unchanged article without a fingerprint is fingerprinted on re-ingest).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "article_band",
        sa.Column("band_key", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("article_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("band_key", "article_id"),
    )
    op.create_index("ix_article_band_article", "article_band", ["article_id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE article_fts_vocab USING fts5vocab(article_fts, row)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS article_fts_vocab")
    op.drop_index("ix_article_band_article", table_name="article_band")
    op.drop_table("article_band")
