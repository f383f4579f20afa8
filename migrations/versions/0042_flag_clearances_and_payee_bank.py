"""Evidence-integrity flags re-evaluated when their inputs change: a flag no longer true is cleared (when and why) in
the append-only record_flag_clearances, never deleted. Property companies get the payee's bank name and account that
payment notices and the batch's spreadsheet show.

Revision ID: 0042
Revises: 0041
Create Date: 2026-11-26 14:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db
from foundation.append_only import drop_append_only, make_append_only

revision = '0042'
down_revision = '0041'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('record_flag_clearances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flag_id', sa.Integer(), nullable=False),
    sa.Column('cause', sa.String(length=30), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('cleared_at', foundation.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['flag_id'], ['record_flags.id'], name=op.f('fk_record_flag_clearances_flag_id_record_flags')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_flag_clearances')),
    sa.UniqueConstraint('flag_id', name=op.f('uq_record_flag_clearances_flag_id'))
    )
    make_append_only(op, ["record_flag_clearances"])
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('bank_account', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('companies', schema=None) as batch_op:
        batch_op.drop_column('bank_account')
        batch_op.drop_column('bank_name')
    drop_append_only(op, ["record_flag_clearances"])
    op.drop_table('record_flag_clearances')
