"""Hits counted by the limits on what anyone may do without logging in (foundation/throttle.py).

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-26 10:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import foundation.db

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('throttle_hits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('key_digest', sa.String(length=64), nullable=False),
    sa.Column('at', foundation.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_throttle_hits'))
    )
    with op.batch_alter_table('throttle_hits', schema=None) as batch_op:
        batch_op.create_index('ix_throttle_hits_scope_key_at', ['scope', 'key_digest', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('throttle_hits', schema=None) as batch_op:
        batch_op.drop_index('ix_throttle_hits_scope_key_at')

    op.drop_table('throttle_hits')
