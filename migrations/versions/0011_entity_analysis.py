"""Which model recognised an article's entities, so an article no model read (a language with
none installed) is told apart from one in which the model found nothing.

Articles already linked to entities were read by the English model, the only one until now.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE: a batch copy of `article` would break the search-change triggers.
    op.add_column("article", sa.Column("entity_model", sa.String(length=40), nullable=True))
    op.execute(
        "UPDATE article SET entity_model = 'en_core_web_sm' "
        "WHERE id IN (SELECT article_id FROM article_entity)"
    )


def downgrade() -> None:
    op.drop_column("article", "entity_model")
