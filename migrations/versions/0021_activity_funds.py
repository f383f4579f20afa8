"""Activity funds: a fund per holder and year (a CHECK keeps held + lapsed within the allocation: the balance never
goes below zero), receipts, and claims (an invoice number is claimed once, ever: a unique key; a client id files a
claim once).

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-26 04:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activity_funds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('allocated_fen', sa.Integer(), nullable=False),
    sa.Column('held_fen', sa.Integer(), nullable=False),
    sa.Column('lapsed_fen', sa.Integer(), nullable=False),
    sa.Column('opened_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('opened_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('lapsed_at', foundation.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint('held_fen >= 0 AND lapsed_fen >= 0 AND held_fen + lapsed_fen <= allocated_fen', name=op.f('ck_activity_funds_never_below_zero')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_funds')),
    sa.UniqueConstraint('year', 'holder', name=op.f('uq_activity_funds_year_holder'))
    )
    with op.batch_alter_table('activity_funds', schema=None) as batch_op:
        batch_op.create_index('ix_activity_funds_street_year', ['street_id', 'year'], unique=False)

    op.create_table('activity_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', foundation.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_receipts'))
    )
    with op.batch_alter_table('activity_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_receipts_holder'), ['holder'], unique=False)

    op.create_table('activity_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('fund_id', sa.Integer(), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('spent_on', sa.Date(), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('invoice_number', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('claimed_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('claimed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('decided_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('refusal_reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_activity_claims_amount_positive')),
    sa.CheckConstraint("state IN ('pending', 'approved', 'refused')", name=op.f('ck_activity_claims_state_known')),
    sa.ForeignKeyConstraint(['fund_id'], ['activity_funds.id'], name=op.f('fk_activity_claims_fund_id_activity_funds')),
    sa.ForeignKeyConstraint(['receipt_id'], ['activity_receipts.id'], name=op.f('fk_activity_claims_receipt_id_activity_receipts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_claims')),
    sa.UniqueConstraint('client_id', name=op.f('uq_activity_claims_client_id')),
    sa.UniqueConstraint('invoice_number', name=op.f('uq_activity_claims_invoice_number')),
    sa.UniqueConstraint('receipt_id', name=op.f('uq_activity_claims_receipt_id'))
    )
    with op.batch_alter_table('activity_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_claims_fund_id'), ['fund_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_claims_street_id'), ['street_id'], unique=False)
        batch_op.create_index('ix_activity_claims_state_due', ['state', 'due_on'], unique=False)


def downgrade() -> None:
    op.drop_table('activity_claims')
    op.drop_table('activity_receipts')
    op.drop_table('activity_funds')
