"""Volunteers: the registry (one account each), teams and members, needs whose sign-up count a CHECK keeps within
the number wanted, sign-ups (once per volunteer and need), self-logged hours (a CHECK refuses a decision by the
volunteer's own account) and one-to-one pairings (partial unique indexes: one active pairing per volunteer and per
household).

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-26 07:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('volunteers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('real_name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('skills', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('registered_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('registered_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_volunteers_community_id_communities')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_volunteers_street_id_streets')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_volunteers_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteers')),
    sa.UniqueConstraint('user_id', name=op.f('uq_volunteers_user_id'))
    )
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.create_index('ix_volunteers_community_id', ['community_id'], unique=False)

    op.create_table('volunteer_teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('leader_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_volunteer_teams_community_id_communities')),
    sa.ForeignKeyConstraint(['leader_user_id'], ['users.id'], name=op.f('fk_volunteer_teams_leader_user_id_users')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_volunteer_teams_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_teams')),
    sa.UniqueConstraint('community_id', 'name', name=op.f('uq_volunteer_teams_community_id_name'))
    )
    with op.batch_alter_table('volunteer_teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_teams_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_teams_leader_user_id'), ['leader_user_id'], unique=False)

    op.create_table('volunteer_team_members',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('joined_at', foundation.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['volunteer_teams.id'], name=op.f('fk_volunteer_team_members_team_id_volunteer_teams')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_volunteer_team_members_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('team_id', 'volunteer_id', name=op.f('pk_volunteer_team_members'))
    )
    with op.batch_alter_table('volunteer_team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_team_members_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('volunteer_needs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('starts_at', sa.Time(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('wanted', sa.Integer(), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.Column('pairing', sa.Boolean(), nullable=False),
    sa.Column('created_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.CheckConstraint('minutes >= 1', name=op.f('ck_volunteer_needs_minutes_positive')),
    sa.CheckConstraint('wanted >= 1 AND taken >= 0 AND taken <= wanted', name=op.f('ck_volunteer_needs_taken_within_wanted')),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_volunteer_needs_call_id_calls')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_volunteer_needs_community_id_communities')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_volunteer_needs_street_id_streets')),
    sa.ForeignKeyConstraint(['team_id'], ['volunteer_teams.id'], name=op.f('fk_volunteer_needs_team_id_volunteer_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_needs'))
    )
    with op.batch_alter_table('volunteer_needs', schema=None) as batch_op:
        batch_op.create_index('ix_volunteer_needs_community_held_on', ['community_id', 'held_on'], unique=False)

    op.create_table('volunteer_signups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('signed_up_at', foundation.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['need_id'], ['volunteer_needs.id'], name=op.f('fk_volunteer_signups_need_id_volunteer_needs')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_volunteer_signups_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_signups')),
    sa.UniqueConstraint('need_id', 'volunteer_id', name=op.f('uq_volunteer_signups_need_id_volunteer_id'))
    )
    with op.batch_alter_table('volunteer_signups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_signups_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volunteer_signups_volunteer_id'), ['volunteer_id'], unique=False)

    op.create_table('volunteer_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_user_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=True),
    sa.Column('served_on', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('activity', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('logged_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('decided_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.CheckConstraint("decided_by_user_id IS NULL OR decided_by_user_id <> volunteer_user_id", name=op.f('ck_volunteer_hours_not_decided_by_volunteer')),
    sa.CheckConstraint("minutes >= 1", name=op.f('ck_volunteer_hours_minutes_positive')),
    sa.CheckConstraint("state <> 'rejected' OR reason IS NOT NULL", name=op.f('ck_volunteer_hours_rejection_has_reason')),
    sa.CheckConstraint("state IN ('waiting', 'approved', 'rejected')", name=op.f('ck_volunteer_hours_state_known')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_volunteer_hours_community_id_communities')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], name=op.f('fk_volunteer_hours_decided_by_user_id_users')),
    sa.ForeignKeyConstraint(['need_id'], ['volunteer_needs.id'], name=op.f('fk_volunteer_hours_need_id_volunteer_needs')),
    sa.ForeignKeyConstraint(['team_id'], ['volunteer_teams.id'], name=op.f('fk_volunteer_hours_team_id_volunteer_teams')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_volunteer_hours_volunteer_id_volunteers')),
    sa.ForeignKeyConstraint(['volunteer_user_id'], ['users.id'], name=op.f('fk_volunteer_hours_volunteer_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_hours')),
    sa.UniqueConstraint('client_id', name=op.f('uq_volunteer_hours_client_id'))
    )
    with op.batch_alter_table('volunteer_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volunteer_hours_volunteer_id'), ['volunteer_id'], unique=False)
        batch_op.create_index('ix_volunteer_hours_team_state', ['team_id', 'state'], unique=False)

    op.create_table('volunteer_pairings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=True),
    sa.Column('household', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('paired_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_volunteer_pairings_community_id_communities')),
    sa.ForeignKeyConstraint(['need_id'], ['volunteer_needs.id'], name=op.f('fk_volunteer_pairings_need_id_volunteer_needs')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_volunteer_pairings_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_pairings'))
    )
    with op.batch_alter_table('volunteer_pairings', schema=None) as batch_op:
        batch_op.create_index('uq_volunteer_pairings_volunteer_active', ['volunteer_id'], unique=True, sqlite_where=sa.text('ended_on IS NULL'), postgresql_where=sa.text('ended_on IS NULL'))
        batch_op.create_index('uq_volunteer_pairings_household_active', ['community_id', 'household'], unique=True, sqlite_where=sa.text('ended_on IS NULL'), postgresql_where=sa.text('ended_on IS NULL'))


def downgrade() -> None:
    op.drop_table('volunteer_pairings')
    op.drop_table('volunteer_hours')
    op.drop_table('volunteer_signups')
    op.drop_table('volunteer_needs')
    op.drop_table('volunteer_team_members')
    op.drop_table('volunteer_teams')
    op.drop_table('volunteers')
