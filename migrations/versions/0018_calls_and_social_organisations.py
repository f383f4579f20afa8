"""Social organisations' particulars (standing 登记/备案, legal representative, address, streets served, staff) and
the calls for community services: lots, criteria, invitations, bids and their documents, the panel, conflict
declarations, scores, awards, objections, contracts and their tranches.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 03:52:48.864336
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organisation_streets',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_organisation_streets_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_organisation_streets_street_id_streets')),
    sa.PrimaryKeyConstraint('organisation_id', 'street_id', name=op.f('pk_organisation_streets'))
    )
    with op.batch_alter_table('organisation_streets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_streets_street_id'), ['street_id'], unique=False)

    op.create_table('calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('method_reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=True),
    sa.Column('budget_fen', sa.BigInteger(), nullable=False),
    sa.Column('opened_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('bid_deadline', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('repeated_from_call_id', sa.Integer(), nullable=True),
    sa.Column('draw_seed', sa.Integer(), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', foundation.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('bid_deadline > opened_at', name=op.f('ck_calls_deadline_after_opening')),
    sa.CheckConstraint('budget_fen > 0', name=op.f('ck_calls_budget_positive')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_calls_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['repeated_from_call_id'], ['calls.id'], name=op.f('fk_calls_repeated_from_call_id_calls')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_calls_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('number', name=op.f('uq_calls_number')),
    sa.UniqueConstraint('repeated_from_call_id', name=op.f('uq_calls_repeated_from_call_id'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calls_street_id'), ['street_id'], unique=False)

    op.create_table('organisation_staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('position', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_organisation_staff_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_organisation_staff_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_staff')),
    sa.UniqueConstraint('organisation_id', 'name', name='uq_organisation_staff_organisation_id_name')
    )
    with op.batch_alter_table('organisation_staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_staff_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisation_staff_user_id'), ['user_id'], unique=False)

    op.create_table('bids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('lot_number', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('plan', sa.Text(), nullable=False),
    sa.Column('team', sa.Text(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('live_key', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('replaces_bid_id', sa.Integer(), nullable=True),
    sa.Column('invalid_reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('submitted_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('submitted_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('withdrawn_at', foundation.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_bids_amount_positive')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_bids_call_id_calls')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_bids_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['replaces_bid_id'], ['bids.id'], name=op.f('fk_bids_replaces_bid_id_bids')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bids')),
    sa.UniqueConstraint('client_id', name=op.f('uq_bids_client_id')),
    sa.UniqueConstraint('live_key', name=op.f('uq_bids_live_key'))
    )
    with op.batch_alter_table('bids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bids_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bids_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('call_criteria',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.CheckConstraint('weight > 0 AND weight <= 100', name=op.f('ck_call_criteria_weight_in_range')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_criteria_call_id_calls')),
    sa.PrimaryKeyConstraint('call_id', 'number', name=op.f('pk_call_criteria'))
    )
    op.create_table('call_invitations',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_invitations_call_id_calls')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_call_invitations_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('call_id', 'organisation_id', name=op.f('pk_call_invitations'))
    )
    with op.batch_alter_table('call_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_invitations_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('call_lots',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('budget_fen', sa.Integer(), nullable=False),
    sa.CheckConstraint('budget_fen > 0', name=op.f('ck_call_lots_lot_budget_positive')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_lots_call_id_calls')),
    sa.PrimaryKeyConstraint('call_id', 'number', name=op.f('pk_call_lots'))
    )
    op.create_table('conflict_declarations',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_conflict_declarations_call_id_calls')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_conflict_declarations_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_conflict_declarations_user_id_users')),
    sa.PrimaryKeyConstraint('call_id', 'user_id', 'organisation_id', name=op.f('pk_conflict_declarations'))
    )
    op.create_table('panel_members',
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('outside', sa.Boolean(), nullable=False),
    sa.Column('declared_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('signed_at', foundation.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_panel_members_call_id_calls')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_panel_members_user_id_users')),
    sa.PrimaryKeyConstraint('call_id', 'user_id', name=op.f('pk_panel_members'))
    )
    with op.batch_alter_table('panel_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_panel_members_user_id'), ['user_id'], unique=False)

    op.create_table('awards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('lot_number', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('score', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('live_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('published_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('publicity_ends_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('objection_deadline', sa.Date(), nullable=False),
    sa.Column('stood_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('cancelled_at', foundation.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], name=op.f('fk_awards_bid_id_bids')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_awards_call_id_calls')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_awards_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_awards')),
    sa.UniqueConstraint('bid_id', name=op.f('uq_awards_bid_id')),
    sa.UniqueConstraint('live_key', name=op.f('uq_awards_live_key'))
    )
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_awards_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_awards_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('bid_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], name=op.f('fk_bid_documents_bid_id_bids')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bid_documents'))
    )
    with op.batch_alter_table('bid_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bid_documents_bid_id'), ['bid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bid_documents_sha256'), ['sha256'], unique=False)

    op.create_table('bid_scores',
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('criterion_number', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('scored_at', foundation.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('points >= 0 AND points <= 100', name=op.f('ck_bid_scores_points_in_range')),
    sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], name=op.f('fk_bid_scores_bid_id_bids')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_bid_scores_call_id_calls')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_bid_scores_user_id_users')),
    sa.PrimaryKeyConstraint('bid_id', 'user_id', 'criterion_number', name=op.f('pk_bid_scores'))
    )
    with op.batch_alter_table('bid_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bid_scores_call_id'), ['call_id'], unique=False)

    op.create_table('award_objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('objected_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('answer_due_on', sa.Date(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('upheld', sa.Boolean(), nullable=True),
    sa.Column('answered_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('answered_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_award_objections_award_id_awards')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_award_objections_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_objections')),
    sa.UniqueConstraint('award_id', 'organisation_id', name='uq_award_objections_award_id_organisation_id')
    )
    with op.batch_alter_table('award_objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_objections_award_id'), ['award_id'], unique=False)

    op.create_table('call_contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('award_id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('signed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_call_contracts_ends_after_start')),
    sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_call_contracts_award_id_awards')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_contracts_call_id_calls')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_call_contracts_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_contracts')),
    sa.UniqueConstraint('award_id', name=op.f('uq_call_contracts_award_id')),
    sa.UniqueConstraint('number', name=op.f('uq_call_contracts_number'))
    )
    with op.batch_alter_table('call_contracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_contracts_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_contracts_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('contract_tranches',
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('share', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('condition', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('payable_on', sa.Date(), nullable=True),
    sa.CheckConstraint('amount_fen >= 0', name=op.f('ck_contract_tranches_tranche_not_negative')),
    sa.ForeignKeyConstraint(['contract_id'], ['call_contracts.id'], name=op.f('fk_contract_tranches_contract_id_call_contracts')),
    sa.PrimaryKeyConstraint('contract_id', 'number', name=op.f('pk_contract_tranches'))
    )
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('standing', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('legal_representative', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default=''))



def downgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('address')
        batch_op.drop_column('legal_representative')
        batch_op.drop_column('standing')

    op.drop_table('contract_tranches')
    with op.batch_alter_table('call_contracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_contracts_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_call_contracts_call_id'))

    op.drop_table('call_contracts')
    with op.batch_alter_table('award_objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_objections_award_id'))

    op.drop_table('award_objections')
    with op.batch_alter_table('bid_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bid_scores_call_id'))

    op.drop_table('bid_scores')
    with op.batch_alter_table('bid_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bid_documents_sha256'))
        batch_op.drop_index(batch_op.f('ix_bid_documents_bid_id'))

    op.drop_table('bid_documents')
    with op.batch_alter_table('awards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_awards_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_awards_call_id'))

    op.drop_table('awards')
    with op.batch_alter_table('panel_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_panel_members_user_id'))

    op.drop_table('panel_members')
    op.drop_table('conflict_declarations')
    op.drop_table('call_lots')
    with op.batch_alter_table('call_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_invitations_organisation_id'))

    op.drop_table('call_invitations')
    op.drop_table('call_criteria')
    with op.batch_alter_table('bids', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bids_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_bids_call_id'))

    op.drop_table('bids')
    with op.batch_alter_table('organisation_staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_staff_user_id'))
        batch_op.drop_index(batch_op.f('ix_organisation_staff_organisation_id'))

    op.drop_table('organisation_staff')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_street_id'))

    op.drop_table('calls')
    with op.batch_alter_table('organisation_streets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_streets_street_id'))

    op.drop_table('organisation_streets')
