"""Moving a district in from its spreadsheets: paper votes (纸质表决), a selection vote held and counted on paper,
recorded with its archive number so that a contract signed on paper can be imported resting on it
(registry/voting.py); and the volunteers' real-name check in person (实名核验), which a volunteer imported from a
spreadsheet waits for (community/volunteers). Volunteers registered before were checked when registered.

Revision ID: 0039
Revises: 0038
Create Date: 2026-11-26 14:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import foundation.db

revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Columns and an index only: SQLite adds them in place, without rebuilding tables that other rows refer to.
    with op.batch_alter_table('selection_votes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=10), server_default='ballots', nullable=False))
        batch_op.add_column(sa.Column('reference', sa.String(length=40), nullable=True))
    op.create_index('uq_selection_votes_reference', 'selection_votes', ['reference'], unique=True)
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_at', foundation.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('checked_by', sa.String(length=200), nullable=True))
    op.execute("UPDATE volunteers SET checked_at = registered_at, checked_by = registered_by")


def downgrade() -> None:
    with op.batch_alter_table('volunteers', schema=None) as batch_op:
        batch_op.drop_column('checked_by')
        batch_op.drop_column('checked_at')
    op.drop_index('uq_selection_votes_reference', table_name='selection_votes')
    with op.batch_alter_table('selection_votes', schema=None) as batch_op:
        batch_op.drop_column('reference')
        batch_op.drop_column('source')
