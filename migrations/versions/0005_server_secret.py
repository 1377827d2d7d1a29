"""Server secrets: random keys shared by every server on the database (the cursor key first).

Pagination cursors are signed with the `cursor` key, so a client can only hand back a cursor
a server wrote; keeping the key in the database lets every API node check every other's.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "server_secret",
        sa.Column("name", sa.String(length=50), primary_key=True),
        sa.Column("value", sa.String(length=200), nullable=False),
    )
    op.bulk_insert(table, [{"name": "cursor", "value": secrets.token_hex(32)}])


def downgrade() -> None:
    op.drop_table("server_secret")
