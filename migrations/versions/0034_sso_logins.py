"""Sign-ins begun at the identity provider (single sign-on with OpenID Connect) and not finished yet: the state's
SHA-256, the nonce and the PKCE verifier, used once.

Revision ID: 0034
Revises: 0031
Create Date: 2026-11-26 11:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sso_logins',
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('code_verifier', sa.String(length=128), nullable=False),
    sa.Column('next_path', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_logins')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_sso_logins_state_hash'))
    )
    with op.batch_alter_table('sso_logins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_logins_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sso_logins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_logins_created_at'))

    op.drop_table('sso_logins')
