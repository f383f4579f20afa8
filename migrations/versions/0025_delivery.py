"""Delivery of community-service projects: projects with their indicators, delegations to committees (one live
delegation per project and community: a unique key emptied once declined or returned), the social workers'
assignments (one current lead per delegation: a unique key), residents served with consent, activities (a client id
stores one) and their named participants; and the social worker's specialism on the user record.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-26 07:15:46.920298
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('delivery_projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=True),
    sa.Column('street_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('target_group', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', foundation.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_delivery_projects_project_ends_after_start')),
    sa.ForeignKeyConstraint(['contract_id'], ['call_contracts.id'], name=op.f('fk_delivery_projects_contract_id_call_contracts')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_delivery_projects_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_delivery_projects_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_delivery_projects_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_projects')),
    sa.UniqueConstraint('contract_id', name=op.f('uq_delivery_projects_contract_id'))
    )
    with op.batch_alter_table('delivery_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_projects_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_projects_street_id'), ['street_id'], unique=False)

    op.create_table('delivery_beneficiaries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('consent_by', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('consent_on', sa.Date(), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', foundation.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_delivery_beneficiaries_community_id_communities')),
    sa.ForeignKeyConstraint(['project_id'], ['delivery_projects.id'], name=op.f('fk_delivery_beneficiaries_project_id_delivery_projects')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_delivery_beneficiaries_recorded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_beneficiaries'))
    )
    with op.batch_alter_table('delivery_beneficiaries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_beneficiaries_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_beneficiaries_project_id'), ['project_id'], unique=False)

    op.create_table('delivery_delegations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('live_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('delegated_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('delegated_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('answered_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('answered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decline_reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('returned_at', foundation.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_user_id'], ['users.id'], name=op.f('fk_delivery_delegations_answered_by_user_id_users')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_delivery_delegations_community_id_communities')),
    sa.ForeignKeyConstraint(['project_id'], ['delivery_projects.id'], name=op.f('fk_delivery_delegations_project_id_delivery_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_delegations')),
    sa.UniqueConstraint('live_key', name=op.f('uq_delivery_delegations_live_key'))
    )
    with op.batch_alter_table('delivery_delegations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_delegations_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_delegations_project_id'), ['project_id'], unique=False)

    op.create_table('delivery_indicators',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('measure', sa.String(length=20), nullable=False),
    sa.Column('target', sa.Integer(), nullable=False),
    sa.CheckConstraint('target > 0', name=op.f('ck_delivery_indicators_indicator_target_positive')),
    sa.ForeignKeyConstraint(['project_id'], ['delivery_projects.id'], name=op.f('fk_delivery_indicators_project_id_delivery_projects')),
    sa.PrimaryKeyConstraint('project_id', 'number', name=op.f('pk_delivery_indicators'))
    )
    op.create_table('delivery_activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('delegation_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('indicator_number', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('head_count', sa.Integer(), nullable=True),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('logged_by_user_id', sa.Integer(), nullable=True),
    sa.Column('logged_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('logged_at', foundation.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('participants > 0', name=op.f('ck_delivery_activities_activity_has_participants')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_delivery_activities_community_id_communities')),
    sa.ForeignKeyConstraint(['delegation_id'], ['delivery_delegations.id'], name=op.f('fk_delivery_activities_delegation_id_delivery_delegations')),
    sa.ForeignKeyConstraint(['logged_by_user_id'], ['users.id'], name=op.f('fk_delivery_activities_logged_by_user_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['delivery_projects.id'], name=op.f('fk_delivery_activities_project_id_delivery_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_activities')),
    sa.UniqueConstraint('client_id', name=op.f('uq_delivery_activities_client_id'))
    )
    with op.batch_alter_table('delivery_activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_activities_delegation_id'), ['delegation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_activities_project_id'), ['project_id'], unique=False)

    op.create_table('delivery_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delegation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lead', sa.Boolean(), nullable=False),
    sa.Column('live_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('lead_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('assigned_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('assigned_by_user_id', sa.Integer(), nullable=True),
    sa.Column('ended_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('end_reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.ForeignKeyConstraint(['assigned_by_user_id'], ['users.id'], name=op.f('fk_delivery_assignments_assigned_by_user_id_users')),
    sa.ForeignKeyConstraint(['delegation_id'], ['delivery_delegations.id'], name=op.f('fk_delivery_assignments_delegation_id_delivery_delegations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_delivery_assignments_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_assignments')),
    sa.UniqueConstraint('lead_key', name=op.f('uq_delivery_assignments_lead_key')),
    sa.UniqueConstraint('live_key', name=op.f('uq_delivery_assignments_live_key'))
    )
    with op.batch_alter_table('delivery_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_assignments_delegation_id'), ['delegation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_assignments_user_id'), ['user_id'], unique=False)

    op.create_table('delivery_activity_participants',
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['delivery_activities.id'], name=op.f('fk_delivery_activity_participants_activity_id_delivery_activities')),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['delivery_beneficiaries.id'], name=op.f('fk_delivery_activity_participants_beneficiary_id_delivery_beneficiaries')),
    sa.PrimaryKeyConstraint('activity_id', 'beneficiary_id', name=op.f('pk_delivery_activity_participants'))
    )
    with op.batch_alter_table('delivery_activity_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_activity_participants_beneficiary_id'), ['beneficiary_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('specialism', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('specialism')

    with op.batch_alter_table('delivery_activity_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_activity_participants_beneficiary_id'))

    op.drop_table('delivery_activity_participants')
    with op.batch_alter_table('delivery_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_assignments_user_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_assignments_delegation_id'))

    op.drop_table('delivery_assignments')
    with op.batch_alter_table('delivery_activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_activities_project_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_activities_delegation_id'))

    op.drop_table('delivery_activities')
    op.drop_table('delivery_indicators')
    with op.batch_alter_table('delivery_delegations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_delegations_project_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_delegations_community_id'))

    op.drop_table('delivery_delegations')
    with op.batch_alter_table('delivery_beneficiaries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_beneficiaries_project_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_beneficiaries_community_id'))

    op.drop_table('delivery_beneficiaries')
    with op.batch_alter_table('delivery_projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_projects_street_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_projects_organisation_id'))

    op.drop_table('delivery_projects')
