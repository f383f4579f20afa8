"""Failed logins kept for the throttle's window; committee opinions carry a client id (a resend files nothing new).

Revision ID: 0014
Revises: 0012
Create Date: 2026-11-25 22:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db
from foundation.append_only import make_append_only


revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', foundation.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_username_at', ['username', 'at'], unique=False)
        batch_op.create_index('ix_login_attempts_address_at', ['address', 'at'], unique=False)

    with op.batch_alter_table('committee_opinions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_committee_opinions_client_id'), ['client_id'])
    # SQLite rebuilt the altered table without its append-only triggers: make them again.
    if op.get_bind().dialect.name == "sqlite":
        make_append_only(op, ["committee_opinions"], if_not_exists=True)


def downgrade() -> None:
    with op.batch_alter_table('committee_opinions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_committee_opinions_client_id'), type_='unique')
        batch_op.drop_column('fingerprint')
        batch_op.drop_column('client_id')
    if op.get_bind().dialect.name == "sqlite":
        make_append_only(op, ["committee_opinions"], if_not_exists=True)

    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_address_at')
        batch_op.drop_index('ix_login_attempts_username_at')

    op.drop_table('login_attempts')
