"""Evidence integrity: each spot-checked estate-month reconciled with the month's patrols (its figures, the social
workers whose patrols it compared, the mismatches), all append-only; and records returned to their filer for
correction, closed by the correction (an amendment).

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-26 07:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db
from foundation.append_only import drop_append_only, make_append_only

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

APPEND_ONLY = ("reconciliations", "reconciliation_filers", "mismatches")


def upgrade() -> None:
    op.create_table('reconciliations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('spot_check_record_id', sa.Integer(), nullable=False),
    sa.Column('patrol_record_ids', sa.JSON(), nullable=False),
    sa.Column('patrol_days', sa.Integer(), nullable=False),
    sa.Column('comparisons', sa.JSON(), nullable=False),
    sa.Column('threshold_centi', sa.Integer(), nullable=False),
    sa.Column('mismatches', sa.Integer(), nullable=False),
    sa.Column('reconciled_at', foundation.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_reconciliations_community_id_communities')),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_reconciliations_estate_id_estates')),
    sa.ForeignKeyConstraint(['spot_check_record_id'], ['inspection_records.id'], name=op.f('fk_reconciliations_spot_check_record_id_inspection_records')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_reconciliations_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliations')),
    sa.UniqueConstraint('estate_id', 'month', name=op.f('uq_reconciliations_estate_id_month'))
    )
    with op.batch_alter_table('reconciliations', schema=None) as batch_op:
        batch_op.create_index('ix_reconciliations_street_month', ['street_id', 'month'], unique=False)

    op.create_table('reconciliation_filers',
    sa.Column('reconciliation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('filed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('patrols', sa.Integer(), nullable=False),
    sa.Column('mismatched', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['reconciliation_id'], ['reconciliations.id'], name=op.f('fk_reconciliation_filers_reconciliation_id_reconciliations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reconciliation_filers_user_id_users')),
    sa.PrimaryKeyConstraint('reconciliation_id', 'user_id', name=op.f('pk_reconciliation_filers'))
    )
    with op.batch_alter_table('reconciliation_filers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliation_filers_user_id'), ['user_id'], unique=False)

    op.create_table('mismatches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reconciliation_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('category_points', sa.Integer(), nullable=False),
    sa.Column('spot_check_record_id', sa.Integer(), nullable=False),
    sa.Column('spot_check_deduction_centi', sa.Integer(), nullable=False),
    sa.Column('threshold_centi', sa.Integer(), nullable=False),
    sa.Column('patrols', sa.Integer(), nullable=False),
    sa.Column('patrol_days', sa.Integer(), nullable=False),
    sa.Column('recorded_at', foundation.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_mismatches_community_id_communities')),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_mismatches_estate_id_estates')),
    sa.ForeignKeyConstraint(['reconciliation_id'], ['reconciliations.id'], name=op.f('fk_mismatches_reconciliation_id_reconciliations')),
    sa.ForeignKeyConstraint(['spot_check_record_id'], ['inspection_records.id'], name=op.f('fk_mismatches_spot_check_record_id_inspection_records')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_mismatches_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mismatches')),
    sa.UniqueConstraint('reconciliation_id', 'category', name=op.f('uq_mismatches_reconciliation_id_category'))
    )
    with op.batch_alter_table('mismatches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mismatches_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index('ix_mismatches_street_month', ['street_id', 'month'], unique=False)

    op.create_table('record_returns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('waiting_record_id', sa.Integer(), nullable=True),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('filer_user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('returned_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('returned_by_user_id', sa.Integer(), nullable=True),
    sa.Column('returned_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('corrected_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('amendment_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['amendment_id'], ['amendments.id'], name=op.f('fk_record_returns_amendment_id_amendments')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_record_returns_community_id_communities')),
    sa.ForeignKeyConstraint(['filer_user_id'], ['users.id'], name=op.f('fk_record_returns_filer_user_id_users')),
    sa.ForeignKeyConstraint(['record_id'], ['inspection_records.id'], name=op.f('fk_record_returns_record_id_inspection_records')),
    sa.ForeignKeyConstraint(['returned_by_user_id'], ['users.id'], name=op.f('fk_record_returns_returned_by_user_id_users')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_record_returns_street_id_streets')),
    sa.ForeignKeyConstraint(['waiting_record_id'], ['inspection_records.id'], name=op.f('fk_record_returns_waiting_record_id_inspection_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_returns')),
    sa.UniqueConstraint('waiting_record_id', name=op.f('uq_record_returns_waiting_record_id'))
    )
    with op.batch_alter_table('record_returns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_returns_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_returns_filer_user_id'), ['filer_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_returns_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_returns_street_id'), ['street_id'], unique=False)

    make_append_only(op, APPEND_ONLY)


def downgrade() -> None:
    drop_append_only(op, APPEND_ONLY)
    with op.batch_alter_table('record_returns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_returns_street_id'))
        batch_op.drop_index(batch_op.f('ix_record_returns_record_id'))
        batch_op.drop_index(batch_op.f('ix_record_returns_filer_user_id'))
        batch_op.drop_index(batch_op.f('ix_record_returns_community_id'))
    op.drop_table('record_returns')
    with op.batch_alter_table('mismatches', schema=None) as batch_op:
        batch_op.drop_index('ix_mismatches_street_month')
        batch_op.drop_index(batch_op.f('ix_mismatches_estate_id'))
    op.drop_table('mismatches')
    with op.batch_alter_table('reconciliation_filers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_filers_user_id'))
    op.drop_table('reconciliation_filers')
    with op.batch_alter_table('reconciliations', schema=None) as batch_op:
        batch_op.drop_index('ix_reconciliations_street_month')
    op.drop_table('reconciliations')
