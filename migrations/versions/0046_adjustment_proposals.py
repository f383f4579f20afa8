"""Adjustment proposals: the correction of an issued batch is proposed by one finance officer and approved, which
issues its adjustment batch, by another (separation of duties, approve_own_adjustment), for the property subsidy and
every programme of the engine.

Revision ID: 0046
Revises: 0045
Create Date: 2026-11-27 11:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db

revision = '0046'
down_revision = '0045'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('adjustment_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('corrections', sa.Text(), nullable=False),
    sa.Column('delta_fen', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('proposed_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('proposed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('proposed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('issued_batch_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('approved_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.ForeignKeyConstraint(['proposed_by_user_id'], ['users.id'], name=op.f('fk_adjustment_proposals_proposed_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adjustment_proposals')),
    sa.UniqueConstraint('programme', 'client_id', name=op.f('uq_adjustment_proposals_programme_client_id'))
    )
    with op.batch_alter_table('adjustment_proposals', schema=None) as batch_op:
        batch_op.create_index('ix_adjustment_proposals_programme_state', ['programme', 'state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('adjustment_proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_adjustment_proposals_programme_state')
    op.drop_table('adjustment_proposals')
