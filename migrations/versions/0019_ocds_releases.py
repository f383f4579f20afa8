"""Open Contracting releases as published (community/ocds): the JSON bytes served and their SHA-256, one row per
release. Append-only (triggers refuse UPDATE and DELETE): a published release never changes.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26 04:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from foundation.append_only import drop_append_only, make_append_only
from foundation.db import UTCDateTime


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

APPEND_ONLY = ("ocds_releases",)


def upgrade() -> None:
    op.create_table('ocds_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ocid', sa.String(length=120), nullable=False),
    sa.Column('release_id', sa.String(length=160), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=30), nullable=False),
    sa.Column('stage_status', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('release_date', UTCDateTime(), nullable=False),
    sa.Column('published_at', UTCDateTime(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ocds_releases')),
    sa.UniqueConstraint('release_id', name='uq_ocds_releases_release_id')
    )
    op.create_index(op.f('ix_ocds_releases_ocid'), 'ocds_releases', ['ocid'], unique=False)
    op.create_index(op.f('ix_ocds_releases_call_id'), 'ocds_releases', ['call_id'], unique=False)
    op.create_index(op.f('ix_ocds_releases_published_at'), 'ocds_releases', ['published_at'], unique=False)
    op.create_index('ix_ocds_releases_ocid_sequence', 'ocds_releases', ['ocid', 'sequence'], unique=True)
    make_append_only(op, APPEND_ONLY)


def downgrade() -> None:
    drop_append_only(op, APPEND_ONLY)
    op.drop_index('ix_ocds_releases_ocid_sequence', table_name='ocds_releases')
    op.drop_index(op.f('ix_ocds_releases_published_at'), table_name='ocds_releases')
    op.drop_index(op.f('ix_ocds_releases_call_id'), table_name='ocds_releases')
    op.drop_index(op.f('ix_ocds_releases_ocid'), table_name='ocds_releases')
    op.drop_table('ocds_releases')
