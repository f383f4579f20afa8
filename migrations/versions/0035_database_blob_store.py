"""The PostgreSQL blob store's tables: blobs under their sha256 and the copies made from them (display copies of
photos). Created on SQLite too, where they stay empty (the setting blob_store = postgresql needs PostgreSQL).

Revision ID: 0035
Revises: 0034
Create Date: 2026-11-26 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import foundation.db

revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('stored_at', foundation.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('length(sha256) = 64', name=op.f('ck_blobs_sha256_length')),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_blobs'))
    )
    op.create_table('blob_copies',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', 'kind', name=op.f('pk_blob_copies'))
    )


def downgrade() -> None:
    op.drop_table('blob_copies')
    op.drop_table('blobs')
