"""Elderly home care: elders (the ID number sealed, with its digest and last four characters), enrolments, providers'
contracts per street, monthly vouchers (one per elder and month, a unique code) and visits (a client id each).
Visits and contracts are append-only (triggers refuse UPDATE and DELETE).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-26 03:52:27.266548
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db
from foundation.append_only import drop_append_only, make_append_only

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

APPEND_ONLY = ("care_visits", "care_contracts")


def upgrade() -> None:
    op.create_table('care_contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('signed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('signed_at', foundation.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_care_contracts_ends_after_start')),
    sa.ForeignKeyConstraint(['provider_id'], ['organisations.id'], name=op.f('fk_care_contracts_provider_id_organisations')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_care_contracts_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_contracts')),
    sa.UniqueConstraint('number', name=op.f('uq_care_contracts_number'))
    )
    with op.batch_alter_table('care_contracts', schema=None) as batch_op:
        batch_op.create_index('ix_care_contracts_street_provider', ['street_id', 'provider_id'], unique=False)

    op.create_table('care_elders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('id_number_sealed', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('id_number_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('id_number_tail', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('created_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.CheckConstraint("sex IN ('F', 'M')", name=op.f('ck_care_elders_sex_known')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_care_elders_community_id_communities')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_care_elders_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_elders')),
    sa.UniqueConstraint('id_number_digest', name=op.f('uq_care_elders_id_number_digest'))
    )
    with op.batch_alter_table('care_elders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_elders_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_elders_street_id'), ['street_id'], unique=False)

    op.create_table('care_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('stop_reason', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('consent_by', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('consent_on', sa.Date(), nullable=False),
    sa.Column('enrolled_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('enrolled_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('stopped_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('stopped_at', foundation.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint('ends_on IS NULL OR ends_on >= starts_on', name=op.f('ck_care_enrolments_ends_after_start')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_care_enrolments_community_id_communities')),
    sa.ForeignKeyConstraint(['elder_id'], ['care_elders.id'], name=op.f('fk_care_enrolments_elder_id_care_elders')),
    sa.ForeignKeyConstraint(['provider_id'], ['organisations.id'], name=op.f('fk_care_enrolments_provider_id_organisations')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_care_enrolments_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_enrolments'))
    )
    with op.batch_alter_table('care_enrolments', schema=None) as batch_op:
        batch_op.create_index('ix_care_enrolments_community_ends', ['community_id', 'ends_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_enrolments_elder_id'), ['elder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_enrolments_provider_id'), ['provider_id'], unique=False)

    op.create_table('care_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('visit_date', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('confirmed_by', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('photo_ids', sa.JSON(), nullable=False),
    sa.Column('filed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('filed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('filed_at', foundation.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('minutes > 0', name=op.f('ck_care_visits_minutes_positive')),
    sa.ForeignKeyConstraint(['elder_id'], ['care_elders.id'], name=op.f('fk_care_visits_elder_id_care_elders')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['care_enrolments.id'], name=op.f('fk_care_visits_enrolment_id_care_enrolments')),
    sa.ForeignKeyConstraint(['filed_by_user_id'], ['users.id'], name=op.f('fk_care_visits_filed_by_user_id_users')),
    sa.ForeignKeyConstraint(['provider_id'], ['organisations.id'], name=op.f('fk_care_visits_provider_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_visits')),
    sa.UniqueConstraint('client_id', name=op.f('uq_care_visits_client_id'))
    )
    with op.batch_alter_table('care_visits', schema=None) as batch_op:
        batch_op.create_index('ix_care_visits_elder_month', ['elder_id', 'month'], unique=False)
        batch_op.create_index('ix_care_visits_provider_month', ['provider_id', 'month'], unique=False)

    op.create_table('care_vouchers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('issued_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('redeemed_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('redeemed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('redeemed_visits', sa.Integer(), nullable=True),
    sa.Column('redeemed_minutes', sa.Integer(), nullable=True),
    sa.CheckConstraint('(redeemed_at IS NULL) = (redeemed_by IS NULL)', name=op.f('ck_care_vouchers_redeemed_by_someone')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_care_vouchers_community_id_communities')),
    sa.ForeignKeyConstraint(['elder_id'], ['care_elders.id'], name=op.f('fk_care_vouchers_elder_id_care_elders')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['care_enrolments.id'], name=op.f('fk_care_vouchers_enrolment_id_care_enrolments')),
    sa.ForeignKeyConstraint(['provider_id'], ['organisations.id'], name=op.f('fk_care_vouchers_provider_id_organisations')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_care_vouchers_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_vouchers')),
    sa.UniqueConstraint('code', name=op.f('uq_care_vouchers_code')),
    sa.UniqueConstraint('elder_id', 'month', name=op.f('uq_care_vouchers_elder_id_month'))
    )
    with op.batch_alter_table('care_vouchers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_vouchers_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index('ix_care_vouchers_month_community', ['month', 'community_id'], unique=False)
        batch_op.create_index('ix_care_vouchers_month_provider', ['month', 'provider_id'], unique=False)
    make_append_only(op, APPEND_ONLY)


def downgrade() -> None:
    drop_append_only(op, APPEND_ONLY)
    with op.batch_alter_table('care_vouchers', schema=None) as batch_op:
        batch_op.drop_index('ix_care_vouchers_month_provider')
        batch_op.drop_index('ix_care_vouchers_month_community')
        batch_op.drop_index(batch_op.f('ix_care_vouchers_enrolment_id'))

    op.drop_table('care_vouchers')
    with op.batch_alter_table('care_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_care_visits_provider_month')
        batch_op.drop_index('ix_care_visits_elder_month')

    op.drop_table('care_visits')
    with op.batch_alter_table('care_enrolments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_enrolments_provider_id'))
        batch_op.drop_index(batch_op.f('ix_care_enrolments_elder_id'))
        batch_op.drop_index('ix_care_enrolments_community_ends')

    op.drop_table('care_enrolments')
    with op.batch_alter_table('care_elders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_elders_street_id'))
        batch_op.drop_index(batch_op.f('ix_care_elders_community_id'))

    op.drop_table('care_elders')
    with op.batch_alter_table('care_contracts', schema=None) as batch_op:
        batch_op.drop_index('ix_care_contracts_street_provider')

    op.drop_table('care_contracts')
