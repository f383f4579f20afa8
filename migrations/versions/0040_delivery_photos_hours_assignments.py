"""Issue 16, part 2: photos of project activities; volunteer hours credited by a project activity (its id, one entry
per activity and volunteer); the evaluation firm assigned to each contract.

Revision ID: 0040
Revises: 0039
Create Date: 2026-11-26 14:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import foundation.db

revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('delivery_activity_photos',
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['delivery_activities.id'], name=op.f('fk_delivery_activity_photos_activity_id_delivery_activities')),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_delivery_activity_photos_attachment_id_attachments')),
    sa.PrimaryKeyConstraint('activity_id', 'attachment_id', name=op.f('pk_delivery_activity_photos'))
    )
    with op.batch_alter_table('delivery_activity_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_activity_photos_attachment_id'), ['attachment_id'], unique=False)

    op.create_table('evaluation_assignments',
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by_user_id', sa.Integer(), nullable=True),
    sa.Column('assigned_by', sa.String(length=200), nullable=False),
    sa.Column('assigned_at', foundation.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assigned_by_user_id'], ['users.id'], name=op.f('fk_evaluation_assignments_assigned_by_user_id_users')),
    sa.ForeignKeyConstraint(['contract_id'], ['call_contracts.id'], name=op.f('fk_evaluation_assignments_contract_id_call_contracts')),
    sa.ForeignKeyConstraint(['firm_id'], ['organisations.id'], name=op.f('fk_evaluation_assignments_firm_id_organisations')),
    sa.PrimaryKeyConstraint('contract_id', name=op.f('pk_evaluation_assignments'))
    )
    with op.batch_alter_table('evaluation_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_assignments_firm_id'), ['firm_id'], unique=False)

    with op.batch_alter_table('volunteer_hours', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activity_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_volunteer_hours_activity_id_volunteer_id'), ['activity_id', 'volunteer_id'])


def downgrade() -> None:
    with op.batch_alter_table('volunteer_hours', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_volunteer_hours_activity_id_volunteer_id'), type_='unique')
        batch_op.drop_column('activity_id')

    with op.batch_alter_table('evaluation_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_assignments_firm_id'))
    op.drop_table('evaluation_assignments')

    with op.batch_alter_table('delivery_activity_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_activity_photos_attachment_id'))
    op.drop_table('delivery_activity_photos')
