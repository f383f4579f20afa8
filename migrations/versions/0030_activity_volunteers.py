"""Volunteers who helped at a project activity, and for how long (members of a volunteer team of the community that
carries the project out).

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-26 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('delivery_activity_volunteers',
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.CheckConstraint('minutes > 0 AND minutes <= 720', name=op.f('ck_delivery_activity_volunteers_activity_volunteer_minutes')),
    sa.ForeignKeyConstraint(['activity_id'], ['delivery_activities.id'], name=op.f('fk_delivery_activity_volunteers_activity_id_delivery_activities')),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteers.id'], name=op.f('fk_delivery_activity_volunteers_volunteer_id_volunteers')),
    sa.PrimaryKeyConstraint('activity_id', 'volunteer_id', name=op.f('pk_delivery_activity_volunteers'))
    )
    with op.batch_alter_table('delivery_activity_volunteers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_activity_volunteers_volunteer_id'), ['volunteer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('delivery_activity_volunteers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_activity_volunteers_volunteer_id'))

    op.drop_table('delivery_activity_volunteers')
