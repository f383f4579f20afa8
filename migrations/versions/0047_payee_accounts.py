"""Payee accounts: the bank and account a programme's payee (provider, social organisation, community, street) is
paid into, printed on the programme's payment notices and in its batch spreadsheet.

Revision ID: 0047
Revises: 0046
Create Date: 2026-11-27 17:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db

revision = '0047'
down_revision = '0046'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payee_accounts',
    sa.Column('party', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('bank_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('bank_account', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('recorded_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_payee_accounts_recorded_by_user_id_users')),
    sa.PrimaryKeyConstraint('party', name=op.f('pk_payee_accounts'))
    )


def downgrade() -> None:
    op.drop_table('payee_accounts')
