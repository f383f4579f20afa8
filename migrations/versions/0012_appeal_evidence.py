"""Appeal evidence: the photos a company attaches to its appeal, shown to the street that answers it. Append-only
(triggers refuse UPDATE and DELETE), like the veto's evidence.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from foundation.append_only import drop_append_only, make_append_only


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

APPEND_ONLY = ("appeal_evidence",)


def upgrade() -> None:
    op.create_table('appeal_evidence',
    sa.Column('appeal_id', sa.Integer(), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_appeal_evidence_appeal_id_appeals')),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_appeal_evidence_attachment_id_attachments')),
    sa.PrimaryKeyConstraint('appeal_id', 'attachment_id', name=op.f('pk_appeal_evidence'))
    )
    make_append_only(op, APPEND_ONLY)


def downgrade() -> None:
    drop_append_only(op, APPEND_ONLY)
    op.drop_table('appeal_evidence')
