"""Initial schema: sources, articles, tags, entities, aliases and article-entity links.

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 01:12:14.481904
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('entity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'type', name='uq_entity_name_type')
    )
    with op.batch_alter_table('entity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entity_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_entity_type'), ['type'], unique=False)

    op.create_table('source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('domain', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('article',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('subtitle', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('author', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('dateline', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('lede', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('word_count', sa.Integer(), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('origins', sa.JSON(), nullable=False),
    sa.Column('cites', sa.JSON(), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('provenance', sa.JSON(), nullable=False),
    sa.Column('duplicate_of', sa.Integer(), nullable=True),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('ingested_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['duplicate_of'], ['article.id'], ),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('content_hash'),
    sa.UniqueConstraint('url'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('article', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_article_duplicate_of'), ['duplicate_of'], unique=False)
        batch_op.create_index(batch_op.f('ix_article_language'), ['language'], unique=False)
        batch_op.create_index(batch_op.f('ix_article_origin'), ['origin'], unique=False)
        batch_op.create_index('ix_article_published_id', ['published_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_article_source_id'), ['source_id'], unique=False)
        batch_op.create_index('ix_article_source_published', ['source_id', 'published_at', 'id'], unique=False)

    op.create_table('entity_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('entity_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('curated', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['entity_id'], ['entity.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', 'entity_type', name='uq_alias_key_type')
    )
    with op.batch_alter_table('entity_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entity_alias_entity_id'), ['entity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entity_alias_key'), ['key'], unique=False)

    op.create_table('article_entity',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('mentions', sa.Integer(), nullable=False),
    sa.Column('forms', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['article.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entity_id'], ['entity.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'entity_id')
    )
    with op.batch_alter_table('article_entity', schema=None) as batch_op:
        batch_op.create_index('ix_article_entity_entity', ['entity_id', 'article_id'], unique=False)

    op.create_table('article_tag',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('tag', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['article.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'tag')
    )
    with op.batch_alter_table('article_tag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_article_tag_tag'), ['tag'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('article_tag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_article_tag_tag'))

    op.drop_table('article_tag')
    with op.batch_alter_table('article_entity', schema=None) as batch_op:
        batch_op.drop_index('ix_article_entity_entity')

    op.drop_table('article_entity')
    with op.batch_alter_table('entity_alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entity_alias_key'))
        batch_op.drop_index(batch_op.f('ix_entity_alias_entity_id'))

    op.drop_table('entity_alias')
    with op.batch_alter_table('article', schema=None) as batch_op:
        batch_op.drop_index('ix_article_source_published')
        batch_op.drop_index(batch_op.f('ix_article_source_id'))
        batch_op.drop_index('ix_article_published_id')
        batch_op.drop_index(batch_op.f('ix_article_origin'))
        batch_op.drop_index(batch_op.f('ix_article_language'))
        batch_op.drop_index(batch_op.f('ix_article_duplicate_of'))

    op.drop_table('article')
    op.drop_table('source')
    with op.batch_alter_table('entity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entity_type'))
        batch_op.drop_index(batch_op.f('ix_entity_name'))

    op.drop_table('entity')
