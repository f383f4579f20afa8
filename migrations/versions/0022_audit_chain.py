"""The audit log becomes a hash chain: a seal per entry (its number in the chain and the SHA-256 linking it to the
seal before) and the chain's head (one row, locked by sealing writers), and each day's anchor (the head at the day's end, printed in
that day's signed statement). Seals and anchors are append-only like the log. The
entries a database already holds are sealed here, in id order, so the chain covers the whole log from the start.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-26 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db
from foundation.append_only import drop_append_only, make_append_only
from foundation.audit import GENESIS, seal_entries

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    op.create_table('audit_seals',
    sa.Column('entry_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('prev_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_audit_seals')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_seals_seq'))
    )
    op.create_table('audit_anchors',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('anchored_at', foundation.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_audit_anchors'))
    )
    make_append_only(op, ["audit_seals", "audit_anchors"])
    op.execute(sa.text("INSERT INTO audit_chain_head (id, seq, sha256) VALUES (1, 0, :genesis)").bindparams(genesis=GENESIS))
    seal_entries(op.get_bind(), None)


def downgrade() -> None:
    drop_append_only(op, ["audit_seals", "audit_anchors"])
    op.drop_table('audit_anchors')
    op.drop_table('audit_seals')
    op.drop_table('audit_chain_head')
