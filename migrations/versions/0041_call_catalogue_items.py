"""A call names the item of the year's catalogue of bought services (政府购买服务项目目录) it buys from: the
catalogue item's budget bounds what is called against it. Calls opened before carry no item.

Revision ID: 0041
Revises: 0040
Create Date: 2026-11-26 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('catalogue_item_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_calls_catalogue_item_id'), ['catalogue_item_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_calls_catalogue_item_id_service_catalogue_items'), 'service_catalogue_items', ['catalogue_item_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_calls_catalogue_item_id_service_catalogue_items'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_calls_catalogue_item_id'))
        batch_op.drop_column('catalogue_item_id')
