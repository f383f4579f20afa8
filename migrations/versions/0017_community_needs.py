"""Residents' needs, consultation meetings and their votes, proposals to the street, and the yearly catalogue of
bought services. Meetings, their votes, catalogue items and their proposals are append-only (triggers refuse UPDATE
and DELETE); a published catalogue version refuses every change, and a new item in it.

Revision ID: 0017
Revises: 0015
Create Date: 2026-11-26 03:51:33.303486
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db
from foundation.append_only import drop_append_only, make_append_only

revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None

APPEND_ONLY = ("community_meetings", "community_meeting_votes", "service_catalogue_items", "service_catalogue_item_proposals")


def upgrade() -> None:
    op.create_table('service_catalogues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('created_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('published_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('published_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_catalogues')),
    sa.UniqueConstraint('year', 'version', name=op.f('uq_service_catalogues_year_version'))
    )
    op.create_table('service_catalogue_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('catalogue_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('budget_fen', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=True),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.CheckConstraint('budget_fen >= 1', name=op.f('ck_service_catalogue_items_budget_positive')),
    sa.ForeignKeyConstraint(['catalogue_id'], ['service_catalogues.id'], name=op.f('fk_service_catalogue_items_catalogue_id_service_catalogues')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_service_catalogue_items_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_catalogue_items'))
    )
    with op.batch_alter_table('service_catalogue_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_catalogue_items_catalogue_id'), ['catalogue_id'], unique=False)

    op.create_table('community_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.String(length=12), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('present', sa.Integer(), nullable=False),
    sa.Column('minutes', sqlmodel.sql.sqltypes.AutoString(length=8000), nullable=False),
    sa.Column('recorded_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.CheckConstraint('members >= 1 AND present >= 0 AND present <= members', name=op.f('ck_community_meetings_attendance_consistent')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_meetings_community_id_communities')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_community_meetings_recorded_by_user_id_users')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_community_meetings_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_meetings')),
    sa.UniqueConstraint('client_id', name=op.f('uq_community_meetings_client_id'))
    )
    with op.batch_alter_table('community_meetings', schema=None) as batch_op:
        batch_op.create_index('ix_community_meetings_community_held_on', ['community_id', 'held_on'], unique=False)

    op.create_table('community_needs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('recorded_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.CheckConstraint('households >= 1', name=op.f('ck_community_needs_households_positive')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_needs_community_id_communities')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_community_needs_recorded_by_user_id_users')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_community_needs_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_needs')),
    sa.UniqueConstraint('client_id', name=op.f('uq_community_needs_client_id'))
    )
    with op.batch_alter_table('community_needs', schema=None) as batch_op:
        batch_op.create_index('ix_community_needs_community_state', ['community_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_needs_street_id'), ['street_id'], unique=False)

    op.create_table('community_meeting_votes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('in_favour', sa.Integer(), nullable=False),
    sa.Column('against', sa.Integer(), nullable=False),
    sa.Column('abstained', sa.Integer(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.CheckConstraint('in_favour >= 0 AND against >= 0 AND abstained >= 0', name=op.f('ck_community_meeting_votes_counts_positive')),
    sa.ForeignKeyConstraint(['meeting_id'], ['community_meetings.id'], name=op.f('fk_community_meeting_votes_meeting_id_community_meetings')),
    sa.ForeignKeyConstraint(['need_id'], ['community_needs.id'], name=op.f('fk_community_meeting_votes_need_id_community_needs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_meeting_votes')),
    sa.UniqueConstraint('meeting_id', 'need_id', name=op.f('uq_community_meeting_votes_meeting_id_need_id'))
    )
    with op.batch_alter_table('community_meeting_votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_meeting_votes_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_meeting_votes_need_id'), ['need_id'], unique=False)

    op.create_table('community_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('need_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('budget_fen', sa.Integer(), nullable=True),
    sa.Column('deliberation_meeting_id', sa.Integer(), nullable=False),
    sa.Column('approval_meeting_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('sent_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('sent_by_user_id', sa.Integer(), nullable=True),
    sa.Column('sent_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('due_provisional', sa.Boolean(), nullable=False),
    sa.Column('answered_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('answered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('answered_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('answer_reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_user_id'], ['users.id'], name=op.f('fk_community_proposals_answered_by_user_id_users')),
    sa.ForeignKeyConstraint(['approval_meeting_id'], ['community_meetings.id'], name=op.f('fk_community_proposals_approval_meeting_id_community_meetings')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_community_proposals_community_id_communities')),
    sa.ForeignKeyConstraint(['deliberation_meeting_id'], ['community_meetings.id'], name=op.f('fk_community_proposals_deliberation_meeting_id_community_meetings')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['community_proposals.id'], name=op.f('fk_community_proposals_merged_into_id_community_proposals')),
    sa.ForeignKeyConstraint(['need_id'], ['community_needs.id'], name=op.f('fk_community_proposals_need_id_community_needs')),
    sa.ForeignKeyConstraint(['sent_by_user_id'], ['users.id'], name=op.f('fk_community_proposals_sent_by_user_id_users')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_community_proposals_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_proposals')),
    sa.UniqueConstraint('client_id', name=op.f('uq_community_proposals_client_id'))
    )
    with op.batch_alter_table('community_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_proposals_need_id'), ['need_id'], unique=False)
        batch_op.create_index('ix_community_proposals_street_state', ['street_id', 'state'], unique=False)

    op.create_table('service_catalogue_item_proposals',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['service_catalogue_items.id'], name=op.f('fk_service_catalogue_item_proposals_item_id_service_catalogue_items')),
    sa.ForeignKeyConstraint(['proposal_id'], ['community_proposals.id'], name=op.f('fk_service_catalogue_item_proposals_proposal_id_community_proposals')),
    sa.PrimaryKeyConstraint('item_id', 'proposal_id', name=op.f('pk_service_catalogue_item_proposals'))
    )
    with op.batch_alter_table('service_catalogue_item_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_catalogue_item_proposals_proposal_id'), ['proposal_id'], unique=False)

    make_append_only(op, APPEND_ONLY)
    _published_catalogues_fixed()


def _published_catalogues_fixed() -> None:
    """A published catalogue version is not updated or deleted, and gets no new item (a correction is a new version)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER service_catalogues_published_no_update BEFORE UPDATE ON service_catalogues WHEN OLD.state = 'published' "
            "BEGIN SELECT RAISE(ABORT, 'a published catalogue does not change'); END"
        )
        op.execute(
            "CREATE TRIGGER service_catalogues_published_no_delete BEFORE DELETE ON service_catalogues WHEN OLD.state = 'published' "
            "BEGIN SELECT RAISE(ABORT, 'a published catalogue does not change'); END"
        )
        op.execute(
            "CREATE TRIGGER service_catalogue_items_published_no_insert BEFORE INSERT ON service_catalogue_items "
            "WHEN (SELECT state FROM service_catalogues WHERE id = NEW.catalogue_id) = 'published' "
            "BEGIN SELECT RAISE(ABORT, 'a published catalogue does not change'); END"
        )
        return
    op.execute(
        "CREATE TRIGGER service_catalogues_published_fixed BEFORE UPDATE OR DELETE ON service_catalogues FOR EACH ROW "
        "WHEN (OLD.state = 'published') EXECUTE FUNCTION evidence_refuse_change()"
    )
    op.execute(
        """CREATE FUNCTION service_catalogue_refuse_item() RETURNS trigger AS $$
        BEGIN
            IF (SELECT state FROM service_catalogues WHERE id = NEW.catalogue_id) = 'published' THEN
                RAISE EXCEPTION 'catalogue % is published and does not change', NEW.catalogue_id;
            END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql"""
    )
    op.execute(
        "CREATE TRIGGER service_catalogue_items_published_no_insert BEFORE INSERT ON service_catalogue_items FOR EACH ROW "
        "EXECUTE FUNCTION service_catalogue_refuse_item()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("service_catalogues_published_no_update", "service_catalogues_published_no_delete", "service_catalogue_items_published_no_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    else:
        op.execute("DROP TRIGGER IF EXISTS service_catalogues_published_fixed ON service_catalogues")
        op.execute("DROP TRIGGER IF EXISTS service_catalogue_items_published_no_insert ON service_catalogue_items")
        op.execute("DROP FUNCTION IF EXISTS service_catalogue_refuse_item()")
    drop_append_only(op, APPEND_ONLY)
    with op.batch_alter_table('service_catalogue_item_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_catalogue_item_proposals_proposal_id'))

    op.drop_table('service_catalogue_item_proposals')
    with op.batch_alter_table('community_proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_community_proposals_street_state')
        batch_op.drop_index(batch_op.f('ix_community_proposals_need_id'))

    op.drop_table('community_proposals')
    with op.batch_alter_table('community_meeting_votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_meeting_votes_need_id'))
        batch_op.drop_index(batch_op.f('ix_community_meeting_votes_meeting_id'))

    op.drop_table('community_meeting_votes')
    with op.batch_alter_table('community_needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_needs_street_id'))
        batch_op.drop_index('ix_community_needs_community_state')

    op.drop_table('community_needs')
    with op.batch_alter_table('community_meetings', schema=None) as batch_op:
        batch_op.drop_index('ix_community_meetings_community_held_on')

    op.drop_table('community_meetings')
    with op.batch_alter_table('service_catalogue_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_catalogue_items_catalogue_id'))

    op.drop_table('service_catalogue_items')
    op.drop_table('service_catalogues')
