"""How each form of an entity was found: per article link (model, gazetteer, alias file,
curation), and for curated aliases whether the alias file or a person's curation set them.

Links stored before this revision have no record (an empty object); curated aliases show as
set by curation until the next ingest re-applies the alias file.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE, as in 0011: a batch copy would drop the tables' triggers.
    op.add_column(
        "article_entity",
        sa.Column("found_by", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )
    op.add_column("entity_alias", sa.Column("curated_by", sa.String(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column("entity_alias", "curated_by")
    op.drop_column("article_entity", "found_by")
