"""Relief funds: each fund's year (a CHECK keeps what the district approved within the budget: a fund is never
overspent), supporting documents, applications (a client id files one) and the reviews of each level (one per
application, round and level: a unique key).

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-26 07:17:29.721126
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('relief_funds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('fund', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('budget_fen', sa.BigInteger(), nullable=False),
    sa.Column('committed_fen', sa.BigInteger(), nullable=False),
    sa.Column('opened_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('opened_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.CheckConstraint('committed_fen >= 0 AND committed_fen <= budget_fen', name=op.f('ck_relief_funds_never_overspent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relief_funds')),
    sa.UniqueConstraint('year', 'fund', name=op.f('uq_relief_funds_year_fund'))
    )
    op.create_table('relief_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('fund', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('applicant_name', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('applicant_phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('household_size', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('filed_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('filed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('filed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', foundation.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint("state IN ('community', 'street', 'district', 'approved', 'refused', 'returned')", name=op.f('ck_relief_applications_state_known')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_relief_applications_amount_positive')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_relief_applications_community_id_communities')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_relief_applications_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relief_applications')),
    sa.UniqueConstraint('client_id', name=op.f('uq_relief_applications_client_id'))
    )
    with op.batch_alter_table('relief_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_relief_applications_community_id'), ['community_id'], unique=False)
        batch_op.create_index('ix_relief_applications_state_due', ['state', 'due_on'], unique=False)
        batch_op.create_index('ix_relief_applications_street_state', ['street_id', 'state'], unique=False)

    op.create_table('relief_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', foundation.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['relief_applications.id'], name=op.f('fk_relief_documents_application_id_relief_applications')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_relief_documents_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relief_documents'))
    )
    with op.batch_alter_table('relief_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_relief_documents_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_relief_documents_community_id'), ['community_id'], unique=False)

    op.create_table('relief_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('verdict', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('reviewed_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('reviewed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('reviewed_by_user_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("verdict IN ('approve', 'return', 'refuse')", name=op.f('ck_relief_reviews_verdict_known')),
    sa.ForeignKeyConstraint(['application_id'], ['relief_applications.id'], name=op.f('fk_relief_reviews_application_id_relief_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relief_reviews')),
    sa.UniqueConstraint('application_id', 'round', 'level', name=op.f('uq_relief_reviews_application_id_round_level'))
    )
    with op.batch_alter_table('relief_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_relief_reviews_application_id'), ['application_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('relief_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_relief_reviews_application_id'))

    op.drop_table('relief_reviews')
    with op.batch_alter_table('relief_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_relief_documents_community_id'))
        batch_op.drop_index(batch_op.f('ix_relief_documents_application_id'))

    op.drop_table('relief_documents')
    with op.batch_alter_table('relief_applications', schema=None) as batch_op:
        batch_op.drop_index('ix_relief_applications_street_state')
        batch_op.drop_index('ix_relief_applications_state_due')
        batch_op.drop_index(batch_op.f('ix_relief_applications_community_id'))

    op.drop_table('relief_applications')
    op.drop_table('relief_funds')
