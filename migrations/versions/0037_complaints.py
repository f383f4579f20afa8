"""Residents' complaints (complaints/tables.py): complaints with their photos and events, mediation meetings.

Revision ID: 0037
Revises: 0036
Create Date: 2026-11-26 10:48:19.427099
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import foundation.db


revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('complaints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_digest', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=True),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('latitude_micro', sa.Integer(), nullable=True),
    sa.Column('longitude_micro', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('reported_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('first_response_due_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('resolution_due_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('first_response_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('resolved_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('defect_id', sa.Integer(), nullable=True),
    sa.Column('upheld', sa.Boolean(), nullable=False),
    sa.Column('answer', sa.String(length=2000), nullable=False),
    sa.Column('closure_reason', sa.String(length=60), nullable=False),
    sa.Column('referred_to', sa.String(length=60), nullable=False),
    sa.Column('duplicate_of', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_complaints_community_id_communities')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_complaints_company_id_companies')),
    sa.ForeignKeyConstraint(['defect_id'], ['defects.id'], name=op.f('fk_complaints_defect_id_defects')),
    sa.ForeignKeyConstraint(['duplicate_of'], ['complaints.id'], name=op.f('fk_complaints_duplicate_of_complaints')),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_complaints_estate_id_estates')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_complaints_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
    sa.UniqueConstraint('code_digest', name=op.f('uq_complaints_code_digest')),
    sa.UniqueConstraint('defect_id', name=op.f('uq_complaints_defect_id'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index('ix_complaints_community_state', ['community_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index('ix_complaints_street_month', ['street_id', 'month'], unique=False)

    op.create_table('complaint_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('note', sa.String(length=2000), nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_complaint_events_actor_user_id_users')),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_complaint_events_complaint_id_complaints')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_events'))
    )
    with op.batch_alter_table('complaint_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_events_complaint_id'), ['complaint_id'], unique=False)

    op.create_table('complaint_photos',
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_complaint_photos_attachment_id_attachments')),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_complaint_photos_complaint_id_complaints')),
    sa.PrimaryKeyConstraint('complaint_id', 'attachment_id', name=op.f('pk_complaint_photos'))
    )
    with op.batch_alter_table('complaint_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_photos_attachment_id'), ['attachment_id'], unique=False)

    op.create_table('mediation_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('held_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('attendees', sa.String(length=600), nullable=False),
    sa.Column('summary', sa.String(length=2000), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('follow_up', sa.String(length=1000), nullable=False),
    sa.Column('recorded_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_mediation_meetings_complaint_id_complaints')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_mediation_meetings_recorded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation_meetings'))
    )
    with op.batch_alter_table('mediation_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mediation_meetings_complaint_id'), ['complaint_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mediation_meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mediation_meetings_complaint_id'))

    op.drop_table('mediation_meetings')
    with op.batch_alter_table('complaint_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_photos_attachment_id'))

    op.drop_table('complaint_photos')
    with op.batch_alter_table('complaint_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_events_complaint_id'))

    op.drop_table('complaint_events')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_complaints_street_month')
        batch_op.drop_index(batch_op.f('ix_complaints_estate_id'))
        batch_op.drop_index(batch_op.f('ix_complaints_company_id'))
        batch_op.drop_index('ix_complaints_community_state')

    op.drop_table('complaints')
